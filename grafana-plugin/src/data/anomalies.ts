// Anomaly periods: where a service's anomaly score stays above the threshold.
import type { LabelledSeries } from './frames';
import type { AnomalySpan, FeatureScore, Series } from './model';

/** Typical distance between samples (the query step); gaps much larger than it end a period. */
export function typicalStep(times: number[]): number {
  if (times.length < 2) {
    return 0;
  }
  const gaps: number[] = [];
  for (let i = 1; i < times.length && gaps.length < 64; i++) {
    gaps.push(times[i]! - times[i - 1]!);
  }
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/**
 * Periods with score > threshold. A period ends at the first sample back at or below the threshold, or at
 * its last sample when the data stops for more than three steps (a scrape gap is not a recovery, but nor
 * is it known to be anomalous).
 */
export function findAnomalySpans(series: Series, threshold: number): AnomalySpan[] {
  const { times, values } = series;
  const step = typicalStep(times);
  const maxGap = step > 0 ? step * 3 : Infinity;
  const spans: AnomalySpan[] = [];
  let current: AnomalySpan | undefined;
  let lastTime = -Infinity;
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    const v = values[i]!;
    if (current && t - lastTime > maxGap) {
      current.end = lastTime;
      spans.push(current);
      current = undefined;
    }
    if (v > threshold) {
      if (!current) {
        current = { start: t, end: t, open: false, peakScore: v, peakTime: t, attribution: [] };
      } else if (v > current.peakScore) {
        current.peakScore = v;
        current.peakTime = t;
      }
      current.end = t;
    } else if (current) {
      current.end = t;
      spans.push(current);
      current = undefined;
    }
    lastTime = t;
  }
  if (current) {
    current.open = true;
    spans.push(current);
  }
  return spans;
}

/** The feature whose top-feature series (value 1) covers the most samples of the span. */
export function topFeatureFor(span: AnomalySpan, topFeature: LabelledSeries[], featureLabel: string, step: number): string | undefined {
  let best: string | undefined;
  let bestCount = 0;
  const from = span.start - step;
  const to = span.end + step;
  const counts = new Map<string, number>();
  for (const s of topFeature) {
    const feature = s.labels[featureLabel];
    if (feature === undefined) {
      continue;
    }
    let n = counts.get(feature) ?? 0;
    for (let i = 0; i < s.times.length; i++) {
      const t = s.times[i]!;
      if (t >= from && t <= to && s.values[i] !== null && s.values[i] !== 0) {
        n++;
      }
    }
    counts.set(feature, n);
    if (n > bestCount) {
      best = feature;
      bestCount = n;
    }
  }
  return best;
}

/** Each feature's attribution at (or the sample nearest before) `time`, highest first. */
export function attributionAt(time: number, featureScores: LabelledSeries[], featureLabel: string, step: number): FeatureScore[] {
  const byFeature = new Map<string, number>();
  for (const s of featureScores) {
    const feature = s.labels[featureLabel];
    if (feature === undefined) {
      continue;
    }
    const i = lastIndexAtOrBefore(s.times, time + step / 2);
    const v = i >= 0 && time - s.times[i]! <= step * 3 ? s.values[i] : null;
    if (v !== null && v !== undefined && !Number.isNaN(v)) {
      byFeature.set(feature, Math.max(v, byFeature.get(feature) ?? -Infinity));
    }
  }
  return [...byFeature.entries()].map(([feature, score]) => ({ feature, score })).sort((a, b) => b.score - a.score);
}

/** Binary search: index of the last time <= t, or -1. */
export function lastIndexAtOrBefore(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
