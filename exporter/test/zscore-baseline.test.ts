import { describe, expect, it } from 'vitest';
import { DEFAULT_ZSCORE_OPTIONS, rollingZScores, type ZScoreOptions } from '../bench/zscore-baseline.js';
import { Random } from '../src/detector/forest/random.js';
import { gaussian } from './helpers.js';

/** The rule written out directly: O(n * window) per feature, two-pass mean and variance. */
function reference(values: Float64Array, d: number, o: ZScoreOptions): { scores: number[]; top: number[] } {
  const n = values.length / d;
  const scores: number[] = [];
  const top: number[] = [];
  for (let t = 0; t < n; t++) {
    let best = 0;
    let bestJ = -1;
    for (let j = 0; j < d; j++) {
      const v = values[t * d + j] as number;
      const w: number[] = [];
      for (let r = Math.max(0, t - o.window); r < t; r++) {
        const x = values[r * d + j] as number;
        if (!Number.isNaN(x)) w.push(x);
      }
      if (w.length < o.minHistory || Number.isNaN(v)) continue;
      const m = w.reduce((a, b) => a + b, 0) / w.length;
      const sd = Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / w.length);
      const z = Math.abs(v - m) / Math.max(sd, o.minSd);
      if (bestJ < 0 || z > best) {
        best = z;
        bestJ = j;
      }
    }
    scores.push(best / (best + o.zAlarm));
    top.push(bestJ);
  }
  return { scores, top };
}

describe('rolling z-score baseline', () => {
  it('equals the rule computed directly, with missing values and a level far from 0', () => {
    const rng = new Random(7);
    const d = 3;
    const n = 700;
    const values = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      values[i * d] = 1e6 + 0.01 * gaussian(rng); // a large level with a small spread: naive running sums cancel
      values[i * d + 1] = i % 37 === 0 ? NaN : gaussian(rng);
      values[i * d + 2] = i < 300 ? 0.5 : 0.5 + 0.1 * gaussian(rng); // constant first: minSd decides
    }
    const o = { ...DEFAULT_ZSCORE_OPTIONS, window: 150, minHistory: 20 };
    const got = rollingZScores(values, d, o);
    // 6 digits: the reference sums 1e6-sized values itself; naive running sums of x and x^2 would be off in the 1st
    const want = reference(values, d, o);
    expect(Array.from(got.top)).toEqual(want.top);
    for (let i = 0; i < n; i++) expect(got.scores[i]).toBeCloseTo(want.scores[i] as number, 6);
  });

  it('alarms (score > 0.5) on a jump in one feature and names it, scores 0 without history, and is causal', () => {
    const rng = new Random(3);
    const d = 2;
    const n = 600;
    const values = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      values[i * d] = 10 + gaussian(rng);
      values[i * d + 1] = 5 + gaussian(rng) + (i === 500 ? 12 : 0);
    }
    const r = rollingZScores(values, d);
    expect(r.scores[0]).toBe(0);
    expect(r.top[0]).toBe(-1);
    expect(r.scores[500]).toBeGreaterThan(0.5);
    expect(r.top[500]).toBe(1);
    for (let i = 0; i < n; i++) {
      expect(r.scores[i]).toBeGreaterThanOrEqual(0);
      expect(r.scores[i]).toBeLessThan(1);
    }
    const changed = values.slice();
    changed[550 * d] = 1e9; // the future must not change the past
    const r2 = rollingZScores(changed, d);
    expect(Array.from(r2.scores.subarray(0, 550))).toEqual(Array.from(r.scores.subarray(0, 550)));
  });

  it('rejects bad options and ragged input', () => {
    expect(() => rollingZScores(new Float64Array(5), 2)).toThrow(/do not form rows of 2/);
    expect(() => rollingZScores(new Float64Array(4), 2, { window: 1 })).toThrow(/window/);
    expect(() => rollingZScores(new Float64Array(4), 2, { zAlarm: 0 })).toThrow(/zAlarm/);
  });
});
