// Per-column statistics of a detector's training rows: location, spread and range, for the attribution of a score
// to features and for the out-of-range check.
export interface ColumnStats {
  mean: Float64Array;
  spread: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** The training's largest deviation from the mean, in spreads (at least 1): what "unusual" means per column. */
  extreme: Float64Array;
}

/** How far `row` lies outside the training range, in training spreads, over its most extreme column (0 inside). */
export function outOfRange(stats: ColumnStats, row: Float64Array): number {
  let worst = 0;
  for (let c = 0; c < row.length; c++) {
    const v = row[c] as number;
    const e = Math.max(v - (stats.max[c] as number), (stats.min[c] as number) - v) / (stats.spread[c] as number);
    if (e > worst) worst = e;
  }
  return worst;
}

export function columnStats(data: Float64Array, C: number, unitless: Uint8Array): ColumnStats {
  const rows = data.length / C;
  const mean = new Float64Array(C);
  const spread = new Float64Array(C);
  const min = new Float64Array(C).fill(Infinity);
  const max = new Float64Array(C).fill(-Infinity);
  for (let k = 0; k < rows; k++) {
    for (let c = 0; c < C; c++) {
      const v = data[k * C + c] as number;
      mean[c] = (mean[c] as number) + v;
      if (v < (min[c] as number)) min[c] = v;
      if (v > (max[c] as number)) max[c] = v;
    }
  }
  for (let c = 0; c < C; c++) mean[c] = (mean[c] as number) / rows;
  for (let k = 0; k < rows; k++) {
    for (let c = 0; c < C; c++) {
      const dv = (data[k * C + c] as number) - (mean[c] as number);
      spread[c] = (spread[c] as number) + dv * dv;
    }
  }
  for (let c = 0; c < C; c++) {
    const sd = Math.sqrt((spread[c] as number) / rows);
    // A feature constant in training still needs a unit: a small fraction of its level, or for z-scores (already
    // in units of spread) one unit, so that a term that just became available is not an outlier by itself.
    spread[c] = Math.max(sd, unitless[c] === 1 ? 1 : 1e-3 * Math.abs(mean[c] as number), 1e-9);
  }
  return { mean, spread, min, max, extreme: extremes(mean, spread, min, max) };
}

export function extremes(mean: Float64Array, spread: Float64Array, min: Float64Array, max: Float64Array): Float64Array {
  const out = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const m = mean[c] as number;
    out[c] = Math.max(1, Math.max((max[c] as number) - m, m - (min[c] as number)) / (spread[c] as number));
  }
  return out;
}
