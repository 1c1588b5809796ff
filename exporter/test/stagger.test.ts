// The per-entity stagger of new detectors' history (runner/stagger.ts, staggerRows): spread over [0, retrainEvery), but
// never so large that an entity with enough history for its warm-up is left warming.
import { describe, expect, it } from 'vitest';
import { staggerOffset } from '../src/runner/stagger.js';

const keys = Array.from({ length: 2000 }, (_, i) => JSON.stringify([`svc-${String(i).padStart(5, '0')}`]));

describe('history stagger of new detectors', () => {
  it('spreads entities over [0, retrainEvery) when the history is long enough', () => {
    const offsets = keys.map((key) => staggerOffset(key, 200, 10_000));
    expect(Math.min(...offsets)).toBe(0);
    expect(Math.max(...offsets)).toBe(199);
    // Roughly uniform: every quarter of the range holds about a quarter of the entities.
    for (let q = 0; q < 4; q++) {
      const inQuarter = offsets.filter((o) => o >= q * 50 && o < (q + 1) * 50).length;
      expect(inQuarter).toBeGreaterThan(400);
      expect(inQuarter).toBeLessThan(600);
    }
    // Stable per entity.
    expect(keys.map((key) => staggerOffset(key, 200, 10_000))).toEqual(offsets);
  });

  it('never skips more rows than the history has beyond the warm-up (355 rows, warm-up 200: at most 155)', () => {
    const offsets = keys.map((key) => staggerOffset(key, 200, 355 - 200));
    expect(Math.max(...offsets)).toBe(155);
    expect(offsets.every((o) => 355 - o >= 200)).toBe(true);
    // Offsets that fit are kept as they are.
    expect(offsets.filter((o, i) => o === staggerOffset(keys[i] ?? '', 200, 10_000)).length).toBeGreaterThan(1500);
  });

  it('skips nothing when the history is not longer than the warm-up, or without periodic retraining', () => {
    expect(keys.every((key) => staggerOffset(key, 200, 0) === 0 && staggerOffset(key, 200, -50) === 0)).toBe(true);
    expect(keys.every((key) => staggerOffset(key, 1, 10_000) === 0)).toBe(true);
  });
});
