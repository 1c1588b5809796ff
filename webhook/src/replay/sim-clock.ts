// Simulated time for replays: the engine's clock stands still until the replay moves it, and a wait on it (a
// deferral waiting for its guardrail to lift) ends when the replay moves time past it. So a week of alerts is
// decided in seconds, with the guardrails' windows, cooldowns and deferrals measured on the alerts' own clock.
import type { Clock } from '../util/clock.js';

interface Timer {
  at: number;
  resolve: () => void;
}

export class SimClock implements Clock {
  private t: number;
  private timers: Timer[] = [];

  constructor(start: number) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    if (at <= this.t || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer: Timer = { at, resolve };
      this.timers.push(timer);
      signal.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** The earliest wait's end, if any. */
  get nextAt(): number | undefined {
    let min: number | undefined;
    for (const x of this.timers) if (min === undefined || x.at < min) min = x.at;
    return min;
  }

  /** Moves time to the earliest wait's end if it is at or before `limit`, and ends the waits due then; false: none. */
  fireNext(limit: number): boolean {
    const at = this.nextAt;
    if (at === undefined || at > limit) return false;
    this.t = Math.max(this.t, at);
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
    return true;
  }

  /** Moves time forward (never back: events at one instant keep the clock where it is). */
  set(t: number): void {
    if (t > this.t) this.t = t;
  }
}
