// The per-entity streaming detector: causal features -> Isolation Forest retrained on a trailing window ->
// calibrated anomaly score, attribution and health. The exporter and `selfheal backtest` run exactly this.
import { BinaryReader, BinaryWriter } from '../forest/binary.js';
import { IsolationForest } from '../forest/isolation-forest.js';
import { readForest, writeForest } from '../forest/serialize.js';
import { ScoreCalibrator } from './calibration.js';
import { FeatureExtractor } from './features.js';
import { healthScore } from './health.js';
import { resolveDetectorOptions, type DetectorOptions } from './options.js';
import type { DetectorState, StreamingDetector, Verdict } from './types.js';

const STATE_MAGIC = 0x54454453; // "SDET"
const STATE_VERSION = 1;
/** Score held during an alarm episode's first `alarmHold` samples: just above the alerting threshold. */
const HOLD_LEVEL = 1.001;

export class DetectorStateError extends Error {
  override name = 'DetectorStateError';
}

// One scratch buffer for all detectors (they run on one thread): training rows widened to float64.
let scratch = new Float64Array(0);
function trainingScratch(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch.subarray(0, size);
}

/** Per-column location and spread of the training rows: attribution and the out-of-range check. */
interface ColumnStats {
  mean: Float64Array;
  spread: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

export class IsolationForestDetector implements StreamingDetector {
  readonly featureNames: readonly string[];
  readonly options: Readonly<DetectorOptions>;
  private readonly extractor: FeatureExtractor;
  private readonly columns: number;
  private readonly train: Float32Array;
  private trainRows = 0;
  private forest: IsolationForest | undefined;
  private stats: ColumnStats | undefined;
  private sinceTrain = 0;
  private readonly calibrator: ScoreCalibrator;
  private readonly recentRaw: Float64Array;
  private rawCount = 0;
  private seen = 0;
  private lastTs = -Infinity;
  private trainedTs: number | undefined;
  private trainedRows = 0;
  private latchedTop = -1;
  /** Samples since the current alarm episode started (Infinity when none), and its peak score. */
  private sinceEpisode = Infinity;
  private episodePeak = 0;
  private last: Verdict;
  private readonly row: Float64Array;

  constructor(featureNames: readonly string[], options: Readonly<Record<string, unknown>> = {}) {
    if (featureNames.length < 1) throw new DetectorStateError('a detector needs at least one feature name');
    if (new Set(featureNames).size !== featureNames.length) {
      throw new DetectorStateError(`feature names must be distinct: ${featureNames.join(', ')}`);
    }
    this.featureNames = Object.freeze([...featureNames]);
    this.options = Object.freeze(resolveDetectorOptions(options));
    const o = this.options;
    this.extractor = new FeatureExtractor(featureNames.length, o.windows, o.seasonality);
    this.columns = this.extractor.columns;
    this.train = new Float32Array(o.trainWindow * this.columns);
    this.calibrator = new ScoreCalibrator(o.calibrationWindow, o.alertTailProbability, o.tailFraction);
    this.recentRaw = new Float64Array(o.smoothing);
    this.row = new Float64Array(this.columns);
    this.last = this.warmingVerdict();
  }

  get state(): DetectorState {
    return this.forest === undefined ? 'warming' : 'ready';
  }

  get samplesSeen(): number {
    return this.seen;
  }

  get trainedAt(): number | undefined {
    return this.trainedTs;
  }

  get trainingSamples(): number {
    return this.trainedRows;
  }

  /** Model columns (derived features) the forest sees. */
  get modelColumns(): number {
    return this.columns;
  }

  update(timestampSeconds: number, values: ArrayLike<number>): Verdict {
    if (!(timestampSeconds > this.lastTs)) return this.last;
    if (values.length !== this.featureNames.length) {
      throw new DetectorStateError(`update: got ${values.length} values for ${this.featureNames.length} features (${this.featureNames.join(', ')})`);
    }
    this.lastTs = timestampSeconds;
    const missing = this.extractor.extract(timestampSeconds, values, this.row, 0);
    if (missing < 0) {
      // A feature without any finite value yet: nothing to score. Stay (or fall back to) not ready.
      this.last = this.warmingVerdict();
      return this.last;
    }
    this.seen++;
    // Rows with carried-forward values are scored but never trained on.
    if (missing === 0) this.pushTrainingRow();
    if (this.forest === undefined) {
      if (Math.min(this.trainRows, this.options.trainWindow) >= this.options.warmup) this.retrain(timestampSeconds, true);
      this.last = this.warmingVerdict();
      return this.last;
    }
    this.last = this.scoreRow();
    if (++this.sinceTrain >= this.options.retrainEvery) this.retrain(timestampSeconds, false);
    return this.last;
  }

  updateBatch(timestamps: ArrayLike<number>, values: Float64Array): Verdict {
    const d = this.featureNames.length;
    if (values.length !== timestamps.length * d) {
      throw new DetectorStateError(`updateBatch: ${values.length} values for ${timestamps.length} rows of ${d} features`);
    }
    for (let i = 0; i < timestamps.length; i++) this.update(timestamps[i] as number, values.subarray(i * d, i * d + d));
    return this.last;
  }

  serialize(): Uint8Array {
    const w = new BinaryWriter();
    w.u32(STATE_MAGIC);
    w.u8(STATE_VERSION);
    w.string(JSON.stringify({ featureNames: this.featureNames, options: this.options }));
    this.extractor.write(w);
    w.varint(this.trainRows);
    const rows = Math.min(this.trainRows, this.options.trainWindow);
    w.varint(rows);
    // Training rows oldest first, float32 (what the forest trains on).
    for (let k = this.trainRows - rows; k < this.trainRows; k++) {
      const slot = k % this.options.trainWindow;
      for (let c = 0; c < this.columns; c++) w.f32(this.train[slot * this.columns + c] as number);
    }
    w.varint(this.sinceTrain);
    w.varint(this.seen);
    w.f64(this.lastTs);
    w.f64(this.trainedTs ?? NaN);
    w.varint(this.trainedRows);
    w.f64(this.latchedTop);
    w.f64(this.sinceEpisode);
    w.f64(this.episodePeak);
    this.calibrator.write(w);
    w.varint(this.rawCount);
    w.f64Array(this.recentRaw);
    w.u8(this.forest === undefined ? 0 : 1);
    if (this.forest !== undefined && this.stats !== undefined) {
      writeForest(w, this.forest);
      for (const a of [this.stats.mean, this.stats.spread, this.stats.min, this.stats.max]) w.f64Array(a);
    }
    w.f64(this.last.anomalyScore);
    w.f64Array(this.last.featureScores);
    w.f64(this.last.topFeature);
    w.u8(this.last.ready ? 1 : 0);
    return w.finish();
  }

  static restore(bytes: Uint8Array): IsolationForestDetector {
    const r = new BinaryReader(bytes, 'detector state');
    if (r.u32() !== STATE_MAGIC) r.fail('not a Selfheal detector state (bad magic)');
    const version = r.u8();
    if (version !== STATE_VERSION) r.fail(`unsupported detector state version ${version} (this build reads ${STATE_VERSION})`);
    let header: { featureNames: string[]; options: Record<string, unknown> };
    const headerText = r.string();
    try {
      header = JSON.parse(headerText) as typeof header;
    } catch {
      return r.fail('corrupt header');
    }
    if (!Array.isArray(header.featureNames) || typeof header.options !== 'object' || header.options === null) r.fail('corrupt header');
    const det = new IsolationForestDetector(header.featureNames, header.options);
    det.extractor.read(r);
    det.trainRows = r.varint();
    const rows = r.length(det.options.trainWindow, 'training rows');
    if (rows !== Math.min(det.trainRows, det.options.trainWindow)) r.fail('training row count mismatch');
    for (let k = det.trainRows - rows; k < det.trainRows; k++) {
      const slot = k % det.options.trainWindow;
      for (let c = 0; c < det.columns; c++) det.train[slot * det.columns + c] = r.f32();
    }
    det.sinceTrain = r.varint();
    det.seen = r.varint();
    det.lastTs = r.f64();
    const trainedTs = r.f64();
    det.trainedTs = Number.isNaN(trainedTs) ? undefined : trainedTs;
    det.trainedRows = r.varint();
    det.latchedTop = r.f64();
    det.sinceEpisode = r.f64();
    det.episodePeak = r.f64();
    det.calibrator.read(r);
    det.rawCount = r.varint();
    const recent = r.f64Array(det.recentRaw.length);
    if (recent.length !== det.recentRaw.length) r.fail('smoothing history mismatch');
    det.recentRaw.set(recent);
    if (r.u8() === 1) {
      det.forest = readForest(r);
      if (det.forest.features !== det.columns) r.fail('forest does not match the feature layout');
      const [mean, spread, min, max] = [r.f64Array(), r.f64Array(), r.f64Array(), r.f64Array()];
      if ([mean, spread, min, max].some((a) => a.length !== det.columns)) r.fail('column statistics mismatch');
      det.stats = { mean, spread, min, max };
    }
    const anomalyScore = r.f64();
    const featureScores = r.f64Array(det.featureNames.length);
    const topFeature = r.f64();
    const ready = r.u8() === 1;
    if (featureScores.length !== det.featureNames.length) r.fail('verdict mismatch');
    det.last = Object.freeze({ anomalyScore, healthScore: ready ? healthScore(anomalyScore) : 100, featureScores, topFeature, ready });
    if (!r.done) r.fail('trailing bytes after the detector state');
    return det;
  }

  private warmingVerdict(): Verdict {
    return Object.freeze({
      anomalyScore: 0,
      healthScore: 100,
      featureScores: new Float64Array(this.featureNames.length),
      topFeature: -1,
      ready: false,
    });
  }

  private pushTrainingRow(): void {
    const slot = this.trainRows % this.options.trainWindow;
    const C = this.columns;
    for (let c = 0; c < C; c++) this.train[slot * C + c] = this.row[c] as number;
    this.trainRows++;
  }

  private retrain(timestampSeconds: number, first: boolean): void {
    const o = this.options;
    const C = this.columns;
    const rows = Math.min(this.trainRows, o.trainWindow);
    const data = trainingScratch(rows * C);
    // Oldest first, so that a given history always gives the same forest.
    for (let k = 0, src = this.trainRows - rows; k < rows; k++, src++) {
      const slot = src % o.trainWindow;
      for (let c = 0; c < C; c++) data[k * C + c] = this.train[slot * C + c] as number;
    }
    // Trees that hold every training row score those rows as if they were old friends; the first model's scores
    // of its own rows seed the calibration, so it samples at most half of them per tree.
    const sampleSize = Math.max(2, Math.min(o.sampleSize, Math.floor(rows / 2)));
    this.forest = IsolationForest.fit(data, C, { trees: o.trees, sampleSize, seed: o.seed + this.trainRows });
    this.stats = columnStats(data, C, this.extractor.columnUnitless);
    this.sinceTrain = 0;
    this.trainedTs = timestampSeconds;
    this.trainedRows = rows;
    if (first) {
      // Seed the calibration with the model's scores of its own recent training rows, so verdicts are ready now.
      const scores = this.forest.score(data.subarray(Math.max(0, rows - o.calibrationWindow) * C));
      for (let i = 0; i < scores.length; i++) this.calibrator.push(scores[i] as number);
    }
  }

  private scoreRow(): Verdict {
    const forest = this.forest as IsolationForest;
    const stats = this.stats as ColumnStats;
    const raw = forest.scoreOne(this.row) + this.options.noveltyWeight * Math.log1p(outOfRange(stats, this.row));
    const k = this.options.smoothing;
    this.recentRaw[this.rawCount % k] = raw;
    this.rawCount++;
    let smooth = 0;
    const n = Math.min(this.rawCount, k);
    for (let i = 0; i < n; i++) smooth += this.recentRaw[i] as number;
    smooth /= n;
    const anomalyScore = this.damp(this.calibrator.score(smooth));
    this.calibrator.push(smooth);
    const featureScores = this.attribute(stats, anomalyScore);
    let top = 0;
    for (let i = 1; i < featureScores.length; i++) if ((featureScores[i] as number) > (featureScores[top] as number)) top = i;
    // Latch the driving feature while the entity stays anomalous, so the alert's `feature` label does not flap.
    if (anomalyScore > 1 && this.latchedTop >= 0 && this.last.ready && this.last.anomalyScore > 1) top = this.latchedTop;
    this.latchedTop = top;
    return Object.freeze({ anomalyScore, healthScore: healthScore(anomalyScore), featureScores, topFeature: top, ready: true });
  }

  /**
   * One incident, one alarm: an episode starts when the score exceeds 1 outside a refractory period; the score then
   * stays at least just above 1 for `alarmHold` samples (so the alert's `for:` can see it), after which, until `refractory` samples have
   * passed, only the excess over the episode's peak is reported.
   */
  private damp(a: number): number {
    const o = this.options;
    this.sinceEpisode++;
    if (this.sinceEpisode >= o.refractory + o.alarmHold || this.sinceEpisode === Infinity) {
      if (a > 1) {
        this.sinceEpisode = 0;
        this.episodePeak = a;
      }
      return a;
    }
    if (this.sinceEpisode < o.alarmHold) {
      // Keep the episode just above the threshold so the alert rule's `for:` sees it, without claiming more.
      this.episodePeak = Math.max(this.episodePeak, a);
      return Math.max(a, HOLD_LEVEL);
    }
    const excess = a - this.episodePeak;
    if (excess > 1) {
      // A clearly worse event: a new episode.
      this.sinceEpisode = 0;
      this.episodePeak = a;
      return a;
    }
    return Math.max(0, excess);
  }

  /**
   * Attribution: each input feature's most extreme model column (|deviation from the training mean| in training
   * spreads); the anomaly score is shared out so the driving feature gets the full score and the others the same
   * fraction as their deviation has of the largest.
   */
  private attribute(stats: ColumnStats, anomalyScore: number): Float64Array {
    const d = this.featureNames.length;
    const out = new Float64Array(d);
    const map = this.extractor.columnInput;
    for (let c = 0; c < this.columns; c++) {
      const i = map[c] as number;
      if (i < 0) continue;
      const u = Math.abs((this.row[c] as number) - (stats.mean[c] as number)) / (stats.spread[c] as number);
      if (u > (out[i] as number)) out[i] = u;
    }
    let max = 0;
    for (let i = 0; i < d; i++) max = Math.max(max, out[i] as number);
    for (let i = 0; i < d; i++) out[i] = max > 0 ? (anomalyScore * (out[i] as number)) / max : anomalyScore / d;
    return out;
  }
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

function columnStats(data: Float64Array, C: number, unitless: Uint8Array): ColumnStats {
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
  return { mean, spread, min, max };
}
