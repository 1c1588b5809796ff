// Sparklines draw at most a few points per pixel: keep each bucket's minimum (the worst health) so a short
// dip stays visible however long the range.
import type { Series } from './model';

export function downsampleMin(series: Series, from: number, to: number, buckets: number): Series {
  const n = Math.max(1, Math.floor(buckets));
  if (series.times.length <= n * 2 || to <= from) {
    return series;
  }
  const width = (to - from) / n;
  const times: number[] = [];
  const values: number[] = [];
  let bucket = -1;
  for (let i = 0; i < series.times.length; i++) {
    const t = series.times[i]!;
    const v = series.values[i]!;
    const b = Math.min(n - 1, Math.max(0, Math.floor((t - from) / width)));
    if (b !== bucket) {
      bucket = b;
      times.push(t);
      values.push(v);
    } else if (v < values[values.length - 1]!) {
      values[values.length - 1] = v;
    }
  }
  return { times, values };
}
