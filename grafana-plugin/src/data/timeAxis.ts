// Time-axis ticks at round intervals, about one per `minSpacingPx` pixels.
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const INTERVALS = [
  10 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY,
];

export interface Ticks {
  interval: number;
  ticks: number[];
  /** A moment.js format fitting the interval and the range. */
  format: string;
}

export function timeTicks(from: number, to: number, widthPx: number, minSpacingPx = 90, utcOffsetMs = 0): Ticks {
  const span = Math.max(1, to - from);
  const wanted = Math.max(1, Math.floor(widthPx / minSpacingPx));
  const interval = INTERVALS.find((i) => span / i <= wanted) ?? INTERVALS[INTERVALS.length - 1]!;
  const ticks: number[] = [];
  // Align to the interval in the display time zone (offset from UTC), so hours fall on the hour locally.
  let t = Math.ceil((from + utcOffsetMs) / interval) * interval - utcOffsetMs;
  for (let i = 0; t <= to && i < 1000; i++, t += interval) {
    ticks.push(t);
  }
  const format = interval >= DAY ? 'MM/DD' : span > DAY ? 'MM/DD HH:mm' : interval < MINUTE ? 'HH:mm:ss' : 'HH:mm';
  return { interval, ticks, format };
}
