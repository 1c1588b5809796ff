// Per-feature controls (direction, minDeviation), weekly seasonality and the expected band, on the real detector.
import { describe, expect, it } from 'vitest';
import { createDetector, restoreDetector, DetectorStateError, type Verdict } from '../src/detector/index.js';
import { derivedColumnNames } from '../src/detector/features.js';
import { Random } from '../src/detector/forest/random.js';
import { gaussian } from './helpers.js';

const FEATURES = ['cpu', 'latency'];
const STEP = 15;

/** Two quiet features; from `at` on, cpu moves by `cpuShift` (latency stays). */
function series(rows: number, seed: number, at: number, cpuShift: number): { ts: Float64Array; values: Float64Array } {
  const rng = new Random(seed);
  const ts = new Float64Array(rows);
  const values = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    ts[i] = 1_700_000_000 + i * STEP;
    values[i * 2] = 0.5 + 0.02 * gaussian(rng) + (i >= at ? cpuShift : 0);
    values[i * 2 + 1] = 0.1 + 0.005 * gaussian(rng);
  }
  return { ts, values };
}

function run(settings: Parameters<typeof createDetector>[1], data: { ts: Float64Array; values: Float64Array }): Verdict[] {
  const det = createDetector(FEATURES, settings);
  const out: Verdict[] = [];
  for (let i = 0; i < data.ts.length; i++) out.push(det.update(data.ts[i] as number, data.values.subarray(i * 2, i * 2 + 2)));
  return out;
}

const peak = (v: Verdict[], from: number, to: number): number => Math.max(...v.slice(from, to).map((x) => x.anomalyScore));

describe('feature controls', () => {
  const AT = 1500;

  it('direction: up ignores a CPU drop that alarms without it, and still alarms on a rise', () => {
    const drop = series(1560, 1, AT, -0.3);
    expect(peak(run({}, drop), AT, AT + 30)).toBeGreaterThan(1);
    const up = run({ controls: { cpu: { direction: 'up' } } }, drop);
    expect(peak(up, AT, AT + 30)).toBeLessThan(1);
    const rise = series(1560, 1, AT, 0.3);
    const v = run({ controls: { cpu: { direction: 'up' } } }, rise);
    expect(peak(v, AT, AT + 30)).toBeGreaterThan(1);
    expect(FEATURES[v[AT + 5]?.topFeature ?? -1]).toBe('cpu');
    // direction: down is the mirror image.
    expect(peak(run({ controls: { cpu: { direction: 'down' } } }, rise), AT, AT + 30)).toBeLessThan(1);
  });

  it('minDeviation: a move smaller than the bound does not alarm, a larger one does (absolute and relative)', () => {
    const small = series(1560, 2, AT, 0.15); // 7.5 spreads: alarms without a minimum
    expect(peak(run({}, small), AT, AT + 30)).toBeGreaterThan(1);
    expect(peak(run({ controls: { cpu: { minDeviation: { absolute: 0.25 } } } }, small), AT, AT + 30)).toBeLessThan(1);
    expect(peak(run({ controls: { cpu: { minDeviation: { relative: 0.5 } } } }, small), AT, AT + 30)).toBeLessThan(1);
    const large = series(1560, 2, AT, 0.4);
    expect(peak(run({ controls: { cpu: { minDeviation: { absolute: 0.25, relative: 0.5 } } } }, large), AT, AT + 30)).toBeGreaterThan(1);
  });

  it('controls that change nothing leave every verdict as it was', () => {
    const data = series(1700, 3, AT, 0.3);
    const plain = run({}, data).map((v) => v.anomalyScore);
    const both = run({ controls: { cpu: { direction: 'both' } } }, data).map((v) => v.anomalyScore);
    expect(both).toEqual(plain);
  });

  it('a control naming a feature the detector does not have is an error naming it', () => {
    expect(() => createDetector(FEATURES, { controls: { memory: { direction: 'up' } } })).toThrow(DetectorStateError);
    expect(() => createDetector(FEATURES, { controls: { memory: { direction: 'up' } } })).toThrow(/"memory" is not a feature .*cpu, latency/);
    expect(() => createDetector(FEATURES, { controls: { cpu: { direction: 'sideways' as 'up' } } })).toThrow(/controls\.cpu\.direction/);
    expect(() => createDetector(FEATURES, { controls: { cpu: { minDeviation: {} } } })).toThrow(/absolute and\/or relative/);
  });

  it('the controls are saved with the state and keep acting after a restore', () => {
    const drop = series(1560, 1, AT, -0.3);
    const det = createDetector(FEATURES, { controls: { cpu: { direction: 'up' } } });
    for (let i = 0; i < AT - 10; i++) det.update(drop.ts[i] as number, drop.values.subarray(i * 2, i * 2 + 2));
    const restored = restoreDetector(det.serialize());
    let max = 0;
    for (let i = AT - 10; i < 1560; i++) max = Math.max(max, restored.update(drop.ts[i] as number, drop.values.subarray(i * 2, i * 2 + 2)).anomalyScore);
    expect(max).toBeLessThan(1);
  });
});

describe('expected band', () => {
  it('is the range of values the model trained on, per feature; a value outside it is where the score rises', () => {
    const data = series(1560, 4, 1500, 0.3);
    const v = run({}, data);
    expect(v[100]?.expected).toBeUndefined(); // warming up
    const band = v[1499]?.expected;
    expect(band).toBeDefined();
    const cpu = Array.from({ length: 1400 }, (_, i) => data.values[i * 2] as number);
    // Training rows are kept as bfloat16: the band is the training range to within its precision (~0.4 %).
    expect(band?.lower[0]).toBeGreaterThan(Math.min(...cpu) * 0.99);
    expect(band?.lower[0]).toBeLessThan(0.5);
    expect(band?.upper[0]).toBeLessThan(Math.max(...cpu) * 1.01);
    expect(band?.upper[0]).toBeGreaterThan(0.5);
    expect(band?.upper[1]).toBeLessThan(0.13);
    // The incident's values lie above the band.
    expect(data.values[1505 * 2]).toBeGreaterThan(band?.upper[0] ?? Infinity);
  });

  it('survives a restore', () => {
    const data = series(600, 5, 10_000, 0);
    const det = createDetector(FEATURES);
    let last: Verdict | undefined;
    for (let i = 0; i < 600; i++) last = det.update(data.ts[i] as number, data.values.subarray(i * 2, i * 2 + 2));
    const restored = restoreDetector(det.serialize());
    const next = restored.update(data.ts[599]! + STEP, data.values.subarray(0, 2));
    expect(Array.from(next.expected?.lower ?? [])).toEqual(Array.from(last?.expected?.lower ?? [NaN]));
    expect(Array.from(next.expected?.upper ?? [])).toEqual(Array.from(last?.expected?.upper ?? [NaN]));
  });
});

describe('weekly seasonality', () => {
  it('learns a weekday/weekend rhythm: a weekend level on a weekday is unusual only with it', () => {
    // Hourly samples over 5 weeks: busy on weekdays (1.0), quiet at weekends (0.2); then a Monday at the weekend level
    // (no change from Sunday at all: only the time of the week says it is wrong).
    const hour = 3600;
    const rows = 5 * 7 * 24 + 24;
    const rng = new Random(6);
    const ts = new Float64Array(rows);
    const values = new Float64Array(rows * 2);
    const start = 1_699_833_600; // a Monday, 00:00 UTC
    for (let i = 0; i < rows; i++) {
      ts[i] = start + i * hour;
      const day = Math.floor(i / 24) % 7; // 0 = Monday
      const weekend = day >= 5;
      const outage = i >= 5 * 7 * 24; // Monday of week 6: weekday, weekend level
      values[i * 2] = (weekend || outage ? 0.2 : 1.0) + 0.02 * gaussian(rng);
      values[i * 2 + 1] = 0.1 + 0.005 * gaussian(rng);
    }
    const names = derivedColumnNames(FEATURES, [12, 96, 288], 'weekly');
    expect(names).toContain('cpu:z_time_of_week');
    const peakOf = (seasonality: 'none' | 'weekly'): number => {
      const det = createDetector(FEATURES, { seasonality, warmup: 300, trainWindow: 800, retrainEvery: 48 });
      let max = 0;
      for (let i = 0; i < rows; i++) {
        const v = det.update(ts[i] as number, values.subarray(i * 2, i * 2 + 2));
        if (i >= 5 * 7 * 24) max = Math.max(max, v.anomalyScore);
      }
      return max;
    };
    const weekly = peakOf('weekly');
    expect(weekly).toBeGreaterThan(1);
    expect(peakOf('none')).toBeLessThan(weekly / 3);
  });
});
