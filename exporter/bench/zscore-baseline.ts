// A rolling z-score baseline for the quality benches (NAB's "Windowed Gaussian" idea, per feature, multivariate by
// the max). The rule, fixed before looking at any label:
//
//   per feature j at row t: z_j = |x_j(t) - mean_j| / max(sd_j, minSd), mean and sd over the `window` rows before t
//   (causal: row t itself is not in its window); missing values (NaN) are skipped in the window and give z_j = 0;
//   z = max_j z_j, top feature = argmax_j z_j (1-based in the score file); a = z / zAlarm;
//   score = a / (1 + a) = z / (z + zAlarm), in [0, 1), so score > 0.5 <=> z > zAlarm: the same label-free rule
//   (a > 1) as Selfheal's. Rows with fewer than `minHistory` values in the window score 0, no top feature.
//
// Defaults: window 2000 rows (Selfheal's trainWindow and the naive attribution rule of sklearn_baseline.py),
// zAlarm 5 (a "5-sigma" rule), minSd 1e-3 (SMD's values are min-max scaled to [0, 1]: without a floor a metric that
// was constant for 2000 rows turns any change into an infinite z), minHistory 100.
export interface ZScoreOptions {
  window: number;
  zAlarm: number;
  minSd: number;
  minHistory: number;
}

export const DEFAULT_ZSCORE_OPTIONS: Readonly<ZScoreOptions> = Object.freeze({ window: 2000, zAlarm: 5, minSd: 1e-3, minHistory: 100 });

export interface ZScoreResult {
  /** Per row, z / (z + zAlarm). */
  readonly scores: Float64Array;
  /** Per row, the 0-based index of the feature with the largest z, or -1 (no history yet). */
  readonly top: Int32Array;
}

/**
 * `values` is row-major, `d` features per row. Running sums over the trailing window, recomputed exactly (and
 * re-centred on the window's mean) every `window` rows so the rounding error of adding and removing values cannot
 * build up and the variance does not cancel catastrophically when a metric's level is far from 0.
 */
export function rollingZScores(values: Float64Array, d: number, options: Partial<ZScoreOptions> = {}): ZScoreResult {
  const o = { ...DEFAULT_ZSCORE_OPTIONS, ...options };
  if (!(Number.isInteger(o.window) && o.window >= 2)) throw new Error(`z-score baseline: window must be an integer >= 2, got ${o.window}`);
  if (!(o.zAlarm > 0) || !(o.minSd > 0)) throw new Error('z-score baseline: zAlarm and minSd must be > 0');
  if (!(d >= 1) || values.length % d !== 0) throw new Error(`z-score baseline: ${values.length} values do not form rows of ${d}`);
  const n = values.length / d;
  const scores = new Float64Array(n);
  const top = new Int32Array(n).fill(-1);
  const centre = new Float64Array(d);
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  const cnt = new Float64Array(d);
  const rebuild = (t: number): void => {
    // window = rows [max(0, t - window), t)
    const lo = Math.max(0, t - o.window);
    for (let j = 0; j < d; j++) {
      let sum = 0;
      let k = 0;
      for (let r = lo; r < t; r++) {
        const v = values[r * d + j] as number;
        if (!Number.isNaN(v)) {
          sum += v;
          k++;
        }
      }
      centre[j] = k > 0 ? sum / k : 0;
      s1[j] = 0;
      s2[j] = 0;
      cnt[j] = 0;
      for (let r = lo; r < t; r++) {
        const v = values[r * d + j] as number;
        if (Number.isNaN(v)) continue;
        const c = v - (centre[j] as number);
        s1[j] = (s1[j] as number) + c;
        s2[j] = (s2[j] as number) + c * c;
        cnt[j] = (cnt[j] as number) + 1;
      }
    }
  };
  for (let t = 0; t < n; t++) {
    if (t % o.window === 0) rebuild(t);
    let best = 0;
    let bestJ = -1;
    for (let j = 0; j < d; j++) {
      const k = cnt[j] as number;
      const v = values[t * d + j] as number;
      if (k < o.minHistory || Number.isNaN(v)) continue;
      const m = (s1[j] as number) / k;
      const sd = Math.sqrt(Math.max(0, (s2[j] as number) / k - m * m));
      const z = Math.abs(v - (centre[j] as number) - m) / Math.max(sd, o.minSd);
      if (bestJ < 0 || z > best) {
        best = z;
        bestJ = j;
      }
    }
    scores[t] = best / (best + o.zAlarm);
    top[t] = bestJ;
    // slide: row t enters, row t - window leaves (the next row's window is [t + 1 - window, t + 1))
    const out = t - o.window;
    for (let j = 0; j < d; j++) {
      const v = values[t * d + j] as number;
      if (!Number.isNaN(v)) {
        if (cnt[j] === 0) {
          // an empty window: centre on its first value (exact, the sums are 0), e.g. at the start of the data
          centre[j] = v;
          s1[j] = 0;
          s2[j] = 0;
        }
        const c = v - (centre[j] as number);
        s1[j] = (s1[j] as number) + c;
        s2[j] = (s2[j] as number) + c * c;
        cnt[j] = (cnt[j] as number) + 1;
      }
      if (out >= 0) {
        const w = values[out * d + j] as number;
        if (!Number.isNaN(w)) {
          const c = w - (centre[j] as number);
          s1[j] = (s1[j] as number) - c;
          s2[j] = (s2[j] as number) - c * c;
          cnt[j] = (cnt[j] as number) - 1;
        }
      }
    }
  }
  return { scores, top };
}
