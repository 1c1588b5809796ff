// Calibration: turns the forest's raw score into the anomaly score a (0 = normal, 1 = alerting threshold) by how
// unusual it is among the entity's own recent raw scores, with peaks-over-threshold (extreme value theory, as in
// Siffer et al. 2017, "SPOT"): over the trailing window of N raw scores, u is the (1 - q) quantile and the excesses
// over u are modelled as exponential with their mean beta. The tail probability of a raw score x is then
//     p(x) = q * exp(-(x - u) / beta)   for x > u,   and the empirical tail fraction below u,
// and  a = max(0, ln(p / 0.5) / ln(pAlert / 0.5)),  so a = 1 exactly at p = pAlert (log scale beyond).
// A sustained incident fills the top of the window with its own high scores, which raises u and beta: the
// incident crosses 1 early and then fades instead of alarming for as long as it lasts.
import { BinaryReader, BinaryWriter } from './forest/binary.js';

/** Smallest mean excess assumed: the raw scores of a perfectly regular series barely move. */
const MIN_EXCESS = 0.002;

export class ScoreCalibrator {
  /** Float32: a tail estimate needs no more, and every entity keeps two arrays of `window` scores. */
  private readonly ring: Float32Array;
  /** The ring's values kept sorted (insertion by binary search; N is small). */
  private readonly sorted: Float32Array;
  private count = 0;
  private readonly logAlert: number;

  constructor(
    readonly window: number,
    alertTailProbability: number,
    private readonly tailFraction: number,
  ) {
    this.ring = new Float32Array(window);
    this.sorted = new Float32Array(window);
    this.logAlert = Math.log(alertTailProbability / 0.5);
  }

  get size(): number {
    return Math.min(this.count, this.window);
  }

  /** ln of the tail probability of `raw` against the history (not including raw itself). */
  logTail(value: number): number {
    // The history holds float32: compare at that precision, or a score equal to the history's scores would rank
    // above all of them (a constant series would sit in the tail instead of the bulk).
    const raw = Math.fround(value);
    const n = this.size;
    const s = this.sorted;
    const k = Math.max(2, Math.round(this.tailFraction * n));
    const u = s[n - k] as number;
    if (raw <= u) {
      // Empirical: fraction of the history at or above raw.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((s[mid] as number) < raw) lo = mid + 1;
        else hi = mid;
      }
      return Math.log((n - lo + 1) / (n + 1));
    }
    let excess = 0;
    for (let j = n - k + 1; j < n; j++) excess += (s[j] as number) - u;
    const beta = Math.max(MIN_EXCESS, excess / (k - 1));
    return Math.log(k / (n + 1)) - (raw - u) / beta;
  }

  /** The anomaly score of `raw`; 0 until the history holds a few dozen scores. */
  score(raw: number): number {
    if (this.size < 20) return 0;
    const lp = this.logTail(raw) - Math.log(0.5);
    return lp >= 0 ? 0 : lp / this.logAlert;
  }

  push(value: number): void {
    const raw = Math.fround(value);
    const n = this.size;
    const s = this.sorted;
    if (this.count >= this.window) {
      // Remove the value leaving the window from the sorted copy.
      const old = this.ring[this.count % this.window] as number;
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((s[mid] as number) < old) lo = mid + 1;
        else hi = mid;
      }
      s.copyWithin(lo, lo + 1, n);
    }
    const m = this.count >= this.window ? n - 1 : n;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((s[mid] as number) < raw) lo = mid + 1;
      else hi = mid;
    }
    s.copyWithin(lo + 1, lo, m);
    s[lo] = raw;
    this.ring[this.count % this.window] = raw;
    this.count++;
  }

  write(w: BinaryWriter): void {
    w.varint(this.count);
    // Oldest first; the sorted copy is rebuilt on read.
    const n = this.size;
    w.varint(n);
    for (let j = this.count - n; j < this.count; j++) w.f64(this.ring[j % this.window] as number);
  }

  read(r: BinaryReader): void {
    const count = r.varint();
    const n = r.length(this.window, 'calibration history');
    if (n !== Math.min(count, this.window)) r.fail('calibration history length does not match its count');
    this.count = count - n;
    // Replaying the values rebuilds ring slots and sorted order exactly.
    for (let j = 0; j < n; j++) this.pushAt(r.f64());
  }

  private pushAt(raw: number): void {
    this.push(raw);
  }
}
