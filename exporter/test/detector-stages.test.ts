// The detector's stages alone, each with hand-made input (detector.test.ts tests them together): the causal features,
// the training ring, the episode state machine and the feature controls. Seams as streaming-detector.ts uses them.
import { describe, expect, it } from 'vitest';
import { ControlGate } from '../src/detector/controls.js';
import { EpisodeTracker, type EpisodeEffects, type EpisodeOptions } from '../src/detector/episode.js';
import { FeatureExtractor, derivedColumnNames } from '../src/detector/features.js';
import { TrainingRing } from '../src/detector/training-ring.js';
import type { ColumnStats } from '../src/detector/column-stats.js';

describe('features (FeatureExtractor)', () => {
  it('writes value, difference, z-score per window and spread ratio from the past only', () => {
    const fx = new FeatureExtractor(1, [4, 8], 'none');
    expect(fx.columns).toBe(5);
    expect(derivedColumnNames(['cpu'], [4, 8], 'none')).toEqual(['cpu:value', 'cpu:diff', 'cpu:z4', 'cpu:z8', 'cpu:spread_ratio']);
    const row = new Float64Array(5);
    const history = [1, 2, 1, 2, 1, 2, 1, 2];
    history.forEach((x, t) => fx.extract(t, [x], 0, row, 0));
    fx.extract(8, [10], 0, row, 0);
    expect(row[0]).toBe(10);
    expect(row[1]).toBe(8); // 10 - 2
    // The trailing 4 values (1, 2, 1, 2): mean 1.5, spread 0.5; the sample itself is not in its own window.
    expect(row[2]).toBeCloseTo((10 - 1.5) / 0.5, 6);
    expect(row[3]).toBeCloseTo((10 - 1.5) / 0.5, 6);
    expect(row[4]).toBeCloseTo(0, 6); // same spread over 4 and 8
    expect(fx.valueColumns).toEqual(Int32Array.from([0]));
  });

  it('carries a missing value forward and reports it; a feature never seen yields no row', () => {
    const fx = new FeatureExtractor(2, [4], 'none');
    const row = new Float64Array(fx.columns);
    expect(fx.extract(0, [1, NaN], 0, row, 0)).toBe(-1);
    expect(fx.seen).toBe(0);
    expect(fx.extract(1, [1, 5], 0, row, 0)).toBe(0);
    expect(fx.extract(2, [NaN, 6], 0, row, 0)).toBe(1);
    expect(row[0]).toBe(1); // carried forward
    expect(row[1]).toBe(0); // no change
  });

  it('with seasonality, compares with the usual value at this time of day / of the week', () => {
    const day = new FeatureExtractor(1, [4], 'daily');
    const week = new FeatureExtractor(1, [4], 'weekly');
    expect(derivedColumnNames(['x'], [4], 'weekly')).toEqual(['x:value', 'x:diff', 'x:z4', 'x:z_time_of_week']);
    const rowD = new Float64Array(day.columns);
    const rowW = new Float64Array(week.columns);
    // Ten days: 0 at 03:00 on weekdays... a constant 1 at 03:00 every day.
    for (let d = 0; d < 10; d++) {
      day.extract(d * 86400 + 3 * 3600, [1], 0, rowD, 0);
      week.extract(d * 86400 + 3 * 3600, [1], 0, rowW, 0);
    }
    // Day 10 at 03:00 is the usual value for the daily profile; the weekly profile has seen this weekday once.
    day.extract(10 * 86400 + 3 * 3600, [5], 0, rowD, 0);
    week.extract(10 * 86400 + 3 * 3600, [5], 0, rowW, 0);
    expect(Math.abs(rowD[3] as number)).toBeGreaterThan(1);
    expect(Math.abs(rowW[3] as number)).toBeGreaterThan(1);
    // A time of the week never seen: no deviation yet.
    week.extract(10 * 86400 + 15 * 3600, [5], 0, rowW, 0);
    expect(rowW[3]).toBe(0);
  });
});

describe('training data (TrainingRing)', () => {
  it('keeps the latest rows oldest first in bfloat16, and takes back the latest ones', () => {
    const ring = new TrainingRing(3, 2);
    for (let k = 1; k <= 4; k++) ring.push(Float64Array.from([k, -k]));
    expect(Array.from(ring.rows())).toEqual([2, -2, 3, -3, 4, -4]);
    ring.takeBack(2);
    expect(ring.valid).toBe(1);
    expect(Array.from(ring.rows())).toEqual([2, -2]);
    ring.push(Float64Array.from([0.1, 1000.7]));
    const [a, b, c, d] = Array.from(ring.rows());
    expect([a, b]).toEqual([2, -2]);
    expect(c).toBeCloseTo(0.1, 2); // 8 bits of mantissa
    expect(Math.abs((d as number) - 1000.7) / 1000.7).toBeLessThan(0.004);
  });
});

/** An episode tracker over one or two features whose effects are recorded. */
function tracker(options: Partial<EpisodeOptions> = {}, features = 2) {
  const calibrated: number[] = [];
  const untrained: number[] = [];
  const effects: EpisodeEffects = { calibrate: (x) => calibrated.push(x), untrain: (rows) => untrained.push(rows) };
  const o: EpisodeOptions = { refractory: 0, cusumThreshold: 0, cusumAllowance: 0.15, maxEpisode: 50, alarmHold: 1, releaseAfter: 1, ...options };
  const episode = new EpisodeTracker(features, o, effects);
  const ev = (top: number): Float64Array => Float64Array.from({ length: features }, (_, i) => (i === top ? 5 : 0.5));
  /** Judges one sample of calibrated score `a` driven by feature `top`, trained on unless an episode says not. */
  const step = (a: number, top = 0): number => {
    const evidence = ev(top);
    const score = episode.judge(a, 100 + a, evidence, evidence);
    episode.rowDone(!episode.skipTraining, evidence);
    return score;
  };
  return { episode, step, calibrated, untrained };
}

describe('alarm episodes (EpisodeTracker)', () => {
  it('opens above 1, stays above 1 while the scores do, closes on recovery; calibration is frozen meanwhile', () => {
    const { episode, step, calibrated } = tracker();
    expect(step(0.5)).toBe(0.5);
    expect(calibrated).toEqual([100.5]);
    expect(step(3)).toBe(3);
    expect(episode.open).toBe(true);
    expect(step(0.8)).toBe(0.8); // releaseAfter 1: the first sample below 1 ends it
    expect(episode.open).toBe(false);
    expect(calibrated).toEqual([100.5]); // the episode's scores did not enter the calibration
  });

  it('holds an episode just above 1 for alarmHold samples and releases only after releaseAfter samples below 1', () => {
    const { episode, step } = tracker({ alarmHold: 3, releaseAfter: 2 });
    step(2);
    expect(step(0.2)).toBeCloseTo(1.001);
    expect(step(0.2)).toBeCloseTo(1.001);
    expect(episode.open).toBe(true);
    expect(step(0.2)).toBe(0.2);
    expect(episode.open).toBe(false);
  });

  it('an incident (5 samples or more) that recovers gives back its training rows and its onset', () => {
    const { step, untrained } = tracker();
    step(0.3); // an unusual row of feature 0 just before the alarm: the onset
    step(0.4);
    for (let k = 0; k < 6; k++) step(2);
    step(0.1);
    // The episode's 6 rows (trained on as they came, in case it became the new normal) + its 2 onset rows.
    expect(untrained).toEqual([6 + 2]);
  });

  it('a short blip keeps its rows; an episode longer than maxEpisode becomes the new normal and joins the calibration', () => {
    const short = tracker();
    short.step(2);
    short.step(2);
    short.step(0.1);
    expect(short.untrained).toEqual([]);
    const long = tracker({ maxEpisode: 4 });
    for (let k = 0; k < 4; k++) long.step(2);
    expect(long.episode.open).toBe(false);
    expect(long.calibrated).toEqual([102, 102, 102, 102]);
  });

  it('refractory: right after an episode only a new high of the same feature alarms; another feature alarms at once', () => {
    const { step } = tracker({ refractory: 10 });
    step(3, 0);
    step(0.1, 0);
    expect(step(2.5, 0)).toBe(0); // below the last peak (3)
    expect(step(3.5, 0)).toBeCloseTo(0.5); // only the excess over the peak
    const other = tracker({ refractory: 10 });
    other.step(3, 0);
    other.step(0.1, 0);
    expect(other.step(2.5, 1)).toBe(2.5);
  });

  it('persistence: scores that never reach 1 add up (CUSUM) to an alarm, and restart at every episode', () => {
    const { episode, step } = tracker({ cusumThreshold: 2, cusumAllowance: 0.2 });
    const reported: number[] = [];
    for (let k = 0; k < 4; k++) reported.push(step(0.8));
    // S: 0.6, 1.2, 1.8, 2.4 → S / 2 crosses 1 at the fourth sample.
    expect(reported.slice(0, 3).every((x) => x < 1)).toBe(true);
    expect(reported[3]).toBeGreaterThan(1);
    expect(episode.open).toBe(true);
    expect(episode.cusum).toBe(0);
  });
});

describe('feature controls (ControlGate)', () => {
  const stats = (mean: number[]): ColumnStats => ({
    mean: Float64Array.from(mean), spread: new Float64Array(mean.length).fill(1),
    min: new Float64Array(mean.length), max: new Float64Array(mean.length), extreme: new Float64Array(mean.length).fill(1),
  });
  const valueColumns = Int32Array.from([0, 2]);

  it('marks a move in an ignored direction or smaller than the minimum; changes nothing without controls', () => {
    expect(ControlGate.of(undefined, ['cpu', 'errors'], valueColumns)).toBeUndefined();
    expect(ControlGate.of({ cpu: { direction: 'both' } }, ['cpu', 'errors'], valueColumns)).toBeUndefined();
    const gate = ControlGate.of({ cpu: { direction: 'up' }, errors: { minDeviation: { absolute: 0.05, relative: 0.5 } } }, ['cpu', 'errors'], valueColumns);
    const out = new Uint8Array(2);
    const s = stats([0.5, 0, 0.02, 0]);
    expect(gate?.ignored(Float64Array.from([0.3, 0, 0.2, 0]), s, out)).toBe(1);
    expect(Array.from(out)).toEqual([1, 0]); // cpu dropped: ignored; errors +0.18 (> 0.05 and > 50 % of 0.02)
    expect(gate?.ignored(Float64Array.from([0.9, 0, 0.05, 0]), s, out)).toBe(1);
    expect(Array.from(out)).toEqual([0, 1]); // cpu rose; errors +0.03 (< 0.05)
  });

  it('names a control of a feature the detector does not have', () => {
    expect(() => ControlGate.of({ memory: { direction: 'up' } }, ['cpu', 'errors'], valueColumns)).toThrow('controls: "memory" is not a feature of this detector (features: cpu, errors)');
  });
});
