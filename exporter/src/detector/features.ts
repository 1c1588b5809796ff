// Causal feature extraction: turns each input sample into the model's row using only the past.
// Per input feature (multi-scale): the value, its first difference, its deviation from the trailing mean of each
// window in units of that window's trailing spread, and the log ratio of short- to long-window spread (a change
// of volatility); with seasonality 'daily', its deviation from the usual value at this time of day (a 5-minute-bin
// profile learnt as it goes), with 'weekly' at this time of the week (30-minute bins). Missing values are carried
// forward (and reported).
import { BinaryReader, BinaryWriter } from './forest/binary.js';

const Z_LIMIT = 1e4;
/**
 * Seasonal profiles: per period, its bins, each an exponentially weighted mean and variance of the input. Daily: 288
 * bins of 5 minutes; weekly: 336 bins of 30 minutes (finer would cost thousands of entities 2016 bins per input).
 */
const PROFILES = {
  daily: { period: 86400, bins: 288, column: 'z_time_of_day' },
  weekly: { period: 7 * 86400, bins: 336, column: 'z_time_of_week' },
} as const;
const PROFILE_ALPHA = 0.1;
/** Visits counted per bin; beyond 1 / PROFILE_ALPHA the count no longer changes the update. */
const PROFILE_N_MAX = 1000;

export type Seasonality = 'none' | 'daily' | 'weekly';

/** Names of the model's columns, for attribution and debugging. */
export function derivedColumnNames(inputs: readonly string[], windows: readonly number[], seasonality: Seasonality): string[] {
  const names: string[] = [];
  for (const name of inputs) {
    names.push(`${name}:value`, `${name}:diff`);
    for (const w of windows) names.push(`${name}:z${w}`);
    if (windows.length > 1) names.push(`${name}:spread_ratio`);
  }
  if (seasonality !== 'none') for (const name of inputs) names.push(`${name}:${PROFILES[seasonality].column}`);
  return names;
}

export class FeatureExtractor {
  readonly columns: number;
  /** Column -> input feature it derives from. */
  readonly columnInput: Int32Array;
  /** 1 for columns already in units of spread (z-scores, log spread ratio), 0 for value and difference. */
  readonly columnUnitless: Uint8Array;
  /** Input feature -> its value column. */
  readonly valueColumns: Int32Array;
  private readonly d: number;
  private readonly maxW: number;
  /**
   * Last maxW values per input, ring of rows, in float32 (what the window sums add and later subtract, so the sums
   * stay consistent): thousands of entities each keep maxW rows.
   */
  private readonly ring: Float32Array;
  private readonly last: Float64Array;
  private readonly sum1: Float64Array;
  private readonly sum2: Float64Array;
  private count = 0;
  private sinceRecompute = 0;
  /**
   * Per input and time-of-day bin: visits (saturating: past 10 the update weight is constant), mean and variance
   * (only with seasonality). Float32: a profile is an estimate, and thousands of entities each hold 288 bins per input.
   */
  private readonly profileN: Uint16Array;
  private readonly profileMean: Float32Array;
  private readonly profileVar: Float32Array;
  /** The seasonal profile's bins and period (seconds); 0 bins without seasonality. */
  private readonly bins: number;
  private readonly period: number;
  /** Per input: the spread of its longest window at the current sample (scratch). */
  private readonly longSpread: Float64Array;

  constructor(
    private readonly inputs: number,
    private readonly windows: readonly number[],
    private readonly seasonality: Seasonality,
  ) {
    this.d = inputs;
    this.maxW = Math.max(...windows);
    this.ring = new Float32Array(this.maxW * inputs);
    this.last = new Float64Array(inputs).fill(NaN);
    this.sum1 = new Float64Array(windows.length * inputs);
    this.sum2 = new Float64Array(windows.length * inputs);
    const per = 2 + windows.length + (windows.length > 1 ? 1 : 0);
    const seasonal = seasonality === 'none' ? 0 : inputs;
    this.columns = per * inputs + seasonal;
    this.bins = seasonality === 'none' ? 0 : PROFILES[seasonality].bins;
    this.period = seasonality === 'none' ? 86400 : PROFILES[seasonality].period;
    const bins = this.bins * inputs;
    this.profileN = new Uint16Array(bins);
    this.profileMean = new Float32Array(bins);
    this.profileVar = new Float32Array(bins);
    this.longSpread = new Float64Array(inputs);
    this.columnInput = new Int32Array(this.columns).fill(-1);
    for (let i = 0; i < inputs; i++) for (let k = 0; k < per; k++) this.columnInput[i * per + k] = i;
    for (let i = 0; i < seasonal; i++) this.columnInput[per * inputs + i] = i;
    this.valueColumns = new Int32Array(inputs);
    for (let i = 0; i < inputs; i++) this.valueColumns[i] = i * per;
    this.columnUnitless = new Uint8Array(this.columns).fill(1);
    for (let i = 0; i < inputs; i++) {
      this.columnUnitless[i * per] = 0;
      this.columnUnitless[i * per + 1] = 0;
    }
  }

  /** Samples pushed so far. */
  get seen(): number {
    return this.count;
  }

  /**
   * Writes the model row for this sample into out[offset ..] and then pushes the sample into the history.
   * Returns the number of inputs that were missing and carried forward, or -1 when an input has never had a
   * finite value (no row can be made; the sample is not pushed).
   */
  extract(timestampSeconds: number, input: ArrayLike<number>, from: number, out: Float64Array, offset: number): number {
    // The sample's values are input[from .. from + inputs).
    const { d, windows, ring, maxW, sum1, sum2, last } = this;
    let missing = 0;
    for (let i = 0; i < d; i++) {
      if (!Number.isFinite((input[from + i] as number))) {
        if (!Number.isFinite(last[i] as number)) return -1;
        missing++;
      }
    }
    const W = windows.length;
    const per = 2 + W + (W > 1 ? 1 : 0);
    this.longSpread.fill(0);
    for (let i = 0; i < d; i++) {
      const raw = (input[from + i] as number);
      const x = Number.isFinite(raw) ? raw : (last[i] as number);
      const prev = last[i] as number;
      const base = offset + i * per;
      out[base] = x;
      out[base + 1] = Number.isFinite(prev) ? x - prev : 0;
      let sdShort = NaN;
      let sdLong = NaN;
      for (let k = 0; k < W; k++) {
        const n = Math.min(this.count, windows[k] as number);
        let z = 0;
        let sd = 0;
        if (n >= 2) {
          const mean = (sum1[k * d + i] as number) / n;
          const variance = Math.max(0, (sum2[k * d + i] as number) / n - mean * mean);
          sd = Math.sqrt(variance);
          // A floor relative to the level keeps a perfectly flat history from turning rounding noise into z = 1e9.
          const floor = 1e-9 * Math.max(1, Math.abs(mean));
          z = (x - mean) / (sd + floor);
          if (z > Z_LIMIT) z = Z_LIMIT;
          else if (z < -Z_LIMIT) z = -Z_LIMIT;
          if (k === 0) sdShort = sd + floor;
          sdLong = sd + floor;
          this.longSpread[i] = sd;
        }
        out[base + 2 + k] = z;
      }
      if (W > 1) out[base + 2 + W] = Number.isFinite(sdShort) && Number.isFinite(sdLong) ? Math.log(sdShort / sdLong) : 0;
    }
    const longSpread = this.longSpread;
    let col = offset + d * per;
    const { period, bins } = this;
    const bin = bins === 0 ? 0 : Math.floor((((timestampSeconds % period) + period) % period) / (period / bins)) % bins;
    if (this.seasonality !== 'none') {
      // Deviation from what this time of day (or week) usually looks like (the profile), in its usual spread.
      for (let i = 0; i < d; i++) {
        const raw = (input[from + i] as number);
        const x = Number.isFinite(raw) ? raw : (last[i] as number);
        const b = i * bins + bin;
        const n = this.profileN[b] as number;
        let z = 0;
        if (n >= 1) {
          const mean = this.profileMean[b] as number;
          // A bin seen on only a few days has an unreliable spread: floor it with a fraction of the series' spread.
          const floor = Math.max(1e-9 * Math.max(1, Math.abs(mean)), 0.25 * (longSpread[i] as number));
          z = Math.max(-Z_LIMIT, Math.min(Z_LIMIT, (x - mean) / (Math.sqrt(this.profileVar[b] as number) + floor)));
        }
        out[col++] = z;
      }
    }
    // Push the sample: add to every window, drop what leaves it.
    const slot = this.count % maxW;
    for (let i = 0; i < d; i++) {
      const raw = (input[from + i] as number);
      const x = Number.isFinite(raw) ? raw : (last[i] as number);
      // The windows hold the value as the ring stores it.
      const xs = Math.fround(x);
      for (let k = 0; k < W; k++) {
        const w = windows[k] as number;
        let s1 = (sum1[k * d + i] as number) + xs;
        let s2 = (sum2[k * d + i] as number) + xs * xs;
        if (this.count >= w) {
          const old = ring[((this.count - w) % maxW) * d + i] as number;
          s1 -= old;
          s2 -= old * old;
        }
        sum1[k * d + i] = s1;
        sum2[k * d + i] = s2;
      }
      ring[slot * d + i] = xs;
      last[i] = x;
      if (this.seasonality !== 'none') {
        const b = i * bins + bin;
        const n = Math.min((this.profileN[b] as number) + 1, PROFILE_N_MAX);
        const alpha = Math.max(1 / n, PROFILE_ALPHA);
        const mean = this.profileMean[b] as number;
        const delta = x - mean;
        this.profileN[b] = n;
        this.profileMean[b] = n === 1 ? x : mean + alpha * delta;
        this.profileVar[b] = n === 1 ? 0 : (1 - alpha) * ((this.profileVar[b] as number) + alpha * delta * delta);
      }
    }
    this.count++;
    // Running sums drift with cancellation; recompute them exactly from the ring now and then.
    if (++this.sinceRecompute >= 4 * maxW) this.recompute();
    return missing;
  }

  private recompute(): void {
    const { d, windows, ring, maxW, sum1, sum2 } = this;
    this.sinceRecompute = 0;
    for (let k = 0; k < windows.length; k++) {
      const n = Math.min(this.count, windows[k] as number);
      for (let i = 0; i < d; i++) {
        let s1 = 0;
        let s2 = 0;
        for (let j = this.count - n; j < this.count; j++) {
          const v = ring[(j % maxW) * d + i] as number;
          s1 += v;
          s2 += v * v;
        }
        sum1[k * d + i] = s1;
        sum2[k * d + i] = s2;
      }
    }
  }

  write(w: BinaryWriter): void {
    w.varint(this.count);
    w.varint(this.sinceRecompute);
    w.f64Array(this.last);
    w.f64Array(this.sum1);
    w.f64Array(this.sum2);
    w.f64Array(this.profileN);
    w.f64Array(this.profileMean);
    w.f64Array(this.profileVar);
    // Only the filled part of the ring, oldest first.
    const n = Math.min(this.count, this.maxW);
    w.varint(n);
    for (let j = this.count - n; j < this.count; j++) {
      for (let i = 0; i < this.d; i++) w.f64(this.ring[(j % this.maxW) * this.d + i] as number);
    }
  }

  read(r: BinaryReader): void {
    const count = r.varint();
    const sinceRecompute = r.varint();
    const last = r.f64Array(this.d);
    const sum1 = r.f64Array(this.sum1.length);
    const sum2 = r.f64Array(this.sum2.length);
    const profile = [r.f64Array(this.profileN.length), r.f64Array(this.profileN.length), r.f64Array(this.profileN.length)];
    if (profile.some((a) => a.length !== this.profileN.length)) r.fail('time-of-day profile does not match the detector');
    const counts = profile[0] as Float64Array;
    if (counts.some((c) => !(c >= 0 && c <= PROFILE_N_MAX && Number.isInteger(c)))) r.fail('time-of-day profile counts out of range');
    this.profileN.set(counts);
    this.profileMean.set(profile[1] as Float64Array);
    this.profileVar.set(profile[2] as Float64Array);
    if (last.length !== this.d || sum1.length !== this.sum1.length || sum2.length !== this.sum2.length) {
      r.fail('feature state does not match the detector\'s inputs and windows');
    }
    this.last.set(last);
    this.sum1.set(sum1);
    this.sum2.set(sum2);
    const n = r.length(this.maxW, 'feature history');
    if (n !== Math.min(count, this.maxW)) r.fail('feature history length does not match the sample count');
    this.count = count;
    for (let j = count - n; j < count; j++) {
      for (let i = 0; i < this.d; i++) this.ring[(j % this.maxW) * this.d + i] = r.f64();
    }
    this.sinceRecompute = sinceRecompute;
  }
}
