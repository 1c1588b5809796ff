import { describe, expect, it } from 'vitest';

import { attributionAt, findAnomalySpans, lastIndexAtOrBefore, topFeatureFor, typicalStep } from './anomalies';

const S = 15_000;
const series = (values: number[], start = 0) => ({ times: values.map((_, i) => start + i * S), values });

describe('findAnomalySpans', () => {
  it('finds periods above the threshold, ending at the first sample back below it', () => {
    const spans = findAnomalySpans(series([0.2, 1.5, 2.5, 1.2, 0.4, 0.3, 1.1, 0.2]), 1);
    expect(spans).toHaveLength(2);
    expect(spans[0]).toMatchObject({ start: S, end: 4 * S, open: false, peakScore: 2.5, peakTime: 2 * S });
    expect(spans[1]).toMatchObject({ start: 6 * S, end: 7 * S, open: false, peakScore: 1.1 });
  });

  it('keeps a period still anomalous at the last sample open', () => {
    const spans = findAnomalySpans(series([0.1, 0.2, 1.4, 1.8]), 1);
    expect(spans).toEqual([expect.objectContaining({ start: 2 * S, end: 3 * S, open: true, peakScore: 1.8 })]);
  });

  it('treats a score equal to the threshold as normal (the alert is score > 1)', () => {
    expect(findAnomalySpans(series([1, 1, 1]), 1)).toEqual([]);
  });

  it('ends a period at its last sample when the data stops for more than three steps', () => {
    const times = [0, S, 2 * S, 3 * S, 20 * S, 21 * S];
    const spans = findAnomalySpans({ times, values: [0.1, 1.5, 1.6, 1.7, 1.9, 0.2] }, 1);
    expect(spans.map((s) => [s.start, s.end])).toEqual([
      [S, 3 * S],
      [20 * S, 21 * S],
    ]);
  });
});

describe('helpers', () => {
  it('typicalStep is the median gap', () => {
    expect(typicalStep([0, 15, 30, 45, 200])).toBe(15);
    expect(typicalStep([5])).toBe(0);
  });

  it('lastIndexAtOrBefore binary-searches', () => {
    const t = [10, 20, 30];
    expect([5, 10, 25, 30, 99].map((x) => lastIndexAtOrBefore(t, x))).toEqual([-1, 0, 1, 2, 2]);
  });

  it('topFeatureFor picks the feature latched over most of the span', () => {
    const span = { start: 2 * S, end: 5 * S, open: false, peakScore: 2, peakTime: 3 * S, attribution: [] };
    const times = [0, S, 2 * S, 3 * S, 4 * S, 5 * S, 6 * S];
    const top = [
      { labels: { feature: 'cpu_usage' }, times, values: [1, 1, null, null, null, null, 1] },
      { labels: { feature: 'latency_p99' }, times, values: [null, null, 1, 1, 1, 1, null] },
    ];
    expect(topFeatureFor(span, top, 'feature', S)).toBe('latency_p99');
    expect(topFeatureFor(span, [], 'feature', S)).toBeUndefined();
  });

  it('attributionAt orders features by their score at the time', () => {
    const times = [0, S, 2 * S];
    const scores = [
      { labels: { feature: 'a' }, times, values: [0.1, 0.2, 0.3] },
      { labels: { feature: 'b' }, times, values: [0.5, 1.5, 0.1] },
    ];
    expect(attributionAt(S, scores, 'feature', S)).toEqual([
      { feature: 'b', score: 1.5 },
      { feature: 'a', score: 0.2 },
    ]);
  });
});
