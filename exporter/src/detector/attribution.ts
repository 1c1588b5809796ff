// Attribution of a detector's anomaly score to its input features, and the verdicts that carry it.
import type { ColumnStats } from './column-stats.js';
import { healthScore } from './health.js';
import type { ExpectedBand, Verdict } from './types.js';

export function argmax(a: Float64Array): number {
  let top = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[top] as number)) top = i;
  return top;
}

/**
 * Per input feature, into `out`: its most unusual model column, as |deviation from the training mean| relative to
 * the largest deviation that column showed in training. A noisy feature's usual spikes stay near 1 or below; a
 * feature that left its range stands out however noisy the others are. `columnInput` maps a column to its input
 * feature (-1: none).
 */
export function featureEvidence(row: Float64Array, stats: ColumnStats, columnInput: Int32Array, out: Float64Array): void {
  out.fill(0);
  for (let c = 0; c < row.length; c++) {
    const i = columnInput[c] as number;
    if (i < 0) continue;
    const u = Math.abs((row[c] as number) - (stats.mean[c] as number)) / ((stats.spread[c] as number) * (stats.extreme[c] as number));
    if (u > (out[i] as number)) out[i] = u;
  }
}

/** The training range's share that floors a feature's spread in reportedEvidence (see there). */
const RANGE_FLOOR = 0.05;
/** The quantile of a feature's training deviations that says what is usual for it (see usualDeviations). */
const USUAL_QUANTILE = 0.99;

function valueSpread(stats: ColumnStats, c: number): number {
  return Math.max(stats.spread[c] as number, RANGE_FLOOR * ((stats.max[c] as number) - (stats.min[c] as number)));
}

/**
 * Per input feature: its usual large deviation, the 99th percentile of its training values' distance from the mean
 * in (floored) spreads, at least 1. A heavy-tailed metric (an error ratio with occasional bursts) has large usual
 * deviations, so its usual bursts do not take an incident's name; the 99th percentile rather than the largest, so
 * one outlier in the training window does not make a metric unblameable.
 */
export function usualDeviations(data: Float64Array, C: number, stats: ColumnStats, valueColumns: Int32Array): Float64Array {
  const rows = data.length / C;
  const out = new Float64Array(valueColumns.length).fill(1);
  if (rows === 0) return out;
  const dev = new Float64Array(rows);
  const k = Math.min(rows - 1, Math.floor(USUAL_QUANTILE * rows));
  for (let i = 0; i < valueColumns.length; i++) {
    const c = valueColumns[i] as number;
    const mean = stats.mean[c] as number;
    const spread = valueSpread(stats, c);
    for (let r = 0; r < rows; r++) dev[r] = Math.abs((data[r * C + c] as number) - mean) / spread;
    dev.sort();
    out[i] = Math.max(1, dev[k] as number);
  }
  return out;
}

/**
 * Per input feature, into `out`: how far its value lies from its training mean, in training spreads (floored at 5 %
 * of the training range: a metric nearly constant in training is not blamed for a small move), relative to its usual
 * large deviation (`usual`, see usualDeviations). What the verdicts report (the driving feature, the alert's
 * `feature` label); featureEvidence still drives the episode logic, so detection does not depend on it. Measured in
 * README.md (SMD HitRate@1, the demo's captured runs).
 */
export function reportedEvidence(row: Float64Array, stats: ColumnStats, valueColumns: Int32Array, usual: Float64Array, out: Float64Array): void {
  for (let i = 0; i < valueColumns.length; i++) {
    const c = valueColumns[i] as number;
    out[i] = Math.abs((row[c] as number) - (stats.mean[c] as number)) / valueSpread(stats, c) / (usual[i] as number);
  }
}

/**
 * A ready verdict: the anomaly score is shared out by per-feature evidence: the driving feature gets the full
 * score, the others the same fraction their evidence has of the largest.
 */
export function attributedVerdict(anomalyScore: number, rawScore: number, evidence: Float64Array, expected?: ExpectedBand): Verdict {
  const d = evidence.length;
  const featureScores = new Float64Array(d);
  const top = argmax(evidence);
  const max = evidence[top] as number;
  for (let i = 0; i < d; i++) featureScores[i] = max > 0 ? (anomalyScore * (evidence[i] as number)) / max : anomalyScore / d;
  const health = healthScore(anomalyScore);
  return Object.freeze(
    expected === undefined
      ? { anomalyScore, rawScore, healthScore: health, featureScores, topFeature: top, ready: true }
      : { anomalyScore, rawScore, healthScore: health, featureScores, topFeature: top, ready: true, expected },
  );
}

/** The expected band of a model: per input feature, the training range of its value column. */
export function expectedBand(stats: ColumnStats, valueColumns: Int32Array): ExpectedBand {
  const lower = new Float64Array(valueColumns.length);
  const upper = new Float64Array(valueColumns.length);
  for (let i = 0; i < valueColumns.length; i++) {
    lower[i] = stats.min[valueColumns[i] as number] as number;
    upper[i] = stats.max[valueColumns[i] as number] as number;
  }
  return { lower, upper };
}

/** The verdict while warming up (nothing to score yet). */
export function warmingVerdict(features: number): Verdict {
  return Object.freeze({ anomalyScore: 0, rawScore: 0, healthScore: 100, featureScores: new Float64Array(features), topFeature: -1, ready: false });
}
