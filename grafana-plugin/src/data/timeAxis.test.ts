import { describe, expect, it } from 'vitest';

import { downsampleMin } from './downsample';
import { timeTicks } from './timeAxis';

describe('timeTicks', () => {
  it('picks a round interval that fits the width', () => {
    const from = Date.UTC(2026, 0, 1, 10, 7);
    const { interval, ticks, format } = timeTicks(from, from + 6 * 3600_000, 900);
    expect(interval).toBe(3600_000);
    expect(ticks[0]).toBe(Date.UTC(2026, 0, 1, 11, 0));
    expect(ticks).toHaveLength(6);
    expect(format).toBe('HH:mm');
  });

  it('aligns to the display time zone and shows dates past a day', () => {
    const from = Date.UTC(2026, 0, 1, 0, 0);
    const { ticks, format } = timeTicks(from, from + 7 * 86400_000, 700, 90, 3600_000);
    expect(format).toBe('MM/DD');
    expect((ticks[0]! + 3600_000) % 86400_000).toBe(0);
  });
});

describe('downsampleMin', () => {
  it('keeps the minimum of each bucket so dips stay visible', () => {
    const times = Array.from({ length: 1000 }, (_, i) => i);
    const values = times.map((i) => (i === 503 ? 10 : 95));
    const d = downsampleMin({ times, values }, 0, 1000, 50);
    expect(d.times.length).toBeLessThanOrEqual(50);
    expect(Math.min(...d.values)).toBe(10);
  });
});
