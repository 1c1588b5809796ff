// The per-entity streaming detector: causal features -> Isolation Forest retrained on a trailing window ->
// calibrated anomaly score, attribution and health. The exporter and `selfheal backtest` run exactly this.
import { BinaryReader, BinaryWriter } from './forest/binary.js';
import { IsolationForest } from './forest/isolation-forest.js';
import { readForest, writeForest } from './forest/serialize.js';
import { fromBfloat16, toBfloat16 } from './bfloat16.js';
import { ScoreCalibrator } from './calibration.js';
import { columnStats, extremes, outOfRange, type ColumnStats } from './column-stats.js';
import { FeatureExtractor } from './features.js';
import { healthScore } from './health.js';
import { parseDetectorSettings, resolveDetectorOptions, type DetectorOptions, type DetectorSettings } from './options.js';
import type { DetectorState, StreamingDetector, Verdict } from './types.js';

const STATE_MAGIC = 0x54454453; // "SDET"
const STATE_VERSION = 4;
/**
 * Older layouts this build still restores. Version 2 lacks the persistence sum (it starts at 0) and the last
 * episode's length (a recovery under way is then calibrated on, as version 2 did); versions 2 and 3 lack the
 * onset (an episode under way then gives back only its own rows).
 */
const READABLE_VERSIONS = new Set([2, 3, 4]);
/** Score held while an alarm episode must stay visible (its first `alarmHold` samples, and while releasing). */
const HOLD_LEVEL = 1.001;
/** An episode's driving feature is decided on the evidence of its first samples, then kept (a stable alert label). */
const ATTRIBUTION_SAMPLES = 3;
/** An episode this long that ends in recovery was an incident: its rows are not trained on. Shorter ones stay. */
const INCIDENT_SAMPLES = 5;
/**
 * An incident's onset: the rows just before its alarm that already looked unusual (calibrated score above 0, the
 * bulk of normal) with the same driving feature. At most this many: a slow drift's early part stays trained on.
 */
const ONSET_MAX = 16;

export class DetectorStateError extends Error {
  override name = 'DetectorStateError';
}

// One scratch buffer for all detectors (they run on one thread): training rows widened to float64.
let scratch = new Float64Array(0);
function trainingScratch(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch.subarray(0, size);
}

export class IsolationForestDetector implements StreamingDetector {
  readonly featureNames: readonly string[];
  readonly options: Readonly<DetectorOptions>;
  private readonly extractor: FeatureExtractor;
  private readonly columns: number;
  /**
   * Training rows as bfloat16 (the upper half of a float32: float32's range, 8 bits of mantissa, 0.4 % steps):
   * a forest only needs the rows' order along each column, and this ring is the largest part of an entity's state.
   */
  private readonly train: Uint16Array;
  private trainRows = 0;
  /** Rows of the ring that are training data (the latest ones; at most trainWindow). */
  private trainValid = 0;
  /** Training rows pushed during the current episode (taken back if it turns out to be an incident). */
  private episodeRows = 0;
  /** After an incident ended, until the score is back to normal; and whether this sample's row is skipped. */
  private recovering = false;
  /**
   * Length of the last episode: for as long again after an incident, its recovery's scores stay out of the
   * calibration too (a tail learnt as normal would make the next incident of that kind look ordinary).
   */
  private lastEpisodeLength = 0;
  private skipTraining = false;
  /**
   * Consecutive trained rows up to now that already looked unusual (calibrated score > 0), and the driving feature
   * of the latest ONSET_MAX of them (a ring): an episode that opens next takes those of its feature as its onset.
   */
  private onsetRun = 0;
  private readonly onsetTop = new Int32Array(ONSET_MAX);
  /** Rows of the current episode's onset (trained on before its alarm): taken back with it if it is an incident. */
  private episodeOnset = 0;
  /** This sample's calibrated score (before the episode logic): whether its row counts towards an onset. */
  private rowScore = 0;
  private forest: IsolationForest | undefined;
  private stats: ColumnStats | undefined;
  private sinceTrain = 0;
  private readonly calibrator: ScoreCalibrator;
  private readonly recentRaw: Float64Array;
  private rawCount = 0;
  /** Persistence: the calibrated scores' accumulated excess over cusumAllowance since the last episode (CUSUM). */
  private cusum = 0;
  private seen = 0;
  private lastTs = -Infinity;
  private trainedTs: number | undefined;
  private trainedRows = 0;
  /** Samples into the current alarm episode (0 = none), and consecutive samples of it back below 1. */
  private episodeAge = 0;
  private belowCount = 0;
  /** Samples since the last episode ended, and that episode's peak score (the refractory period's bar). */
  private sinceEpisode = Infinity;
  private episodePeak = 0;
  private episodeFeature = -1;
  /** Smoothed raw scores of the current episode: they enter the calibration only if it turns out to be a new normal. */
  private pending: Float64Array | undefined;
  private pendingCount = 0;
  /** Per input feature: evidence summed over the episode's first samples (its attribution). */
  private readonly episodeEvidence: Float64Array;
  private last: Verdict;
  private readonly row: Float64Array;
  private readonly evidence: Float64Array;

  constructor(featureNames: readonly string[], options: Readonly<DetectorSettings> = {}) {
    if (featureNames.length < 1) throw new DetectorStateError('a detector needs at least one feature name');
    if (new Set(featureNames).size !== featureNames.length) {
      throw new DetectorStateError(`feature names must be distinct: ${featureNames.join(', ')}`);
    }
    this.featureNames = Object.freeze([...featureNames]);
    this.options = resolvedOptions(options);
    const o = this.options;
    this.extractor = new FeatureExtractor(featureNames.length, o.windows, o.seasonality);
    this.columns = this.extractor.columns;
    this.train = new Uint16Array(o.trainWindow * this.columns);
    this.calibrator = new ScoreCalibrator(o.calibrationWindow, o.alertTailProbability, o.tailFraction);
    this.recentRaw = new Float64Array(o.smoothing);
    this.row = new Float64Array(this.columns);
    this.episodeEvidence = new Float64Array(featureNames.length);
    this.evidence = new Float64Array(featureNames.length);
    this.last = this.warmingVerdict();
  }

  /** True while an alarm episode is open (the score is then above 1). */
  get inEpisode(): boolean {
    return this.episodeAge > 0;
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
    if (values.length !== this.featureNames.length) {
      throw new DetectorStateError(`update: got ${values.length} values for ${this.featureNames.length} features (${this.featureNames.join(', ')})`);
    }
    return this.step(timestampSeconds, values, 0);
  }

  /** One sample whose values are values[from .. from + features). */
  private step(timestampSeconds: number, values: ArrayLike<number>, from: number): Verdict {
    if (!(timestampSeconds > this.lastTs)) return this.last;
    this.lastTs = timestampSeconds;
    const missing = this.extractor.extract(timestampSeconds, values, from, this.row, 0);
    if (missing < 0) {
      // A feature without any finite value yet: nothing to score. Stay (or fall back to) not ready.
      this.last = this.warmingVerdict();
      return this.last;
    }
    this.seen++;
    // Rows with carried-forward values are scored but never trained on.
    if (this.forest === undefined) {
      if (missing === 0) this.pushTrainingRow();
      if (this.trainValid >= this.options.warmup) this.retrain(timestampSeconds, true);
      this.last = this.warmingVerdict();
      return this.last;
    }
    this.last = this.scoreRow();
    if (missing === 0 && !this.skipTraining) {
      this.pushTrainingRow();
      if (this.episodeAge > 0) this.episodeRows++;
      else if (this.rowScore > 0) {
        this.onsetTop[this.onsetRun % ONSET_MAX] = argmax(this.evidence);
        this.onsetRun++;
      } else this.onsetRun = 0;
    } else if (this.episodeAge === 0) this.onsetRun = 0;
    this.skipTraining = false;
    // No retraining during an episode: the model that knows what normal looked like judges the incident.
    if (++this.sinceTrain >= this.options.retrainEvery && this.episodeAge === 0) this.retrain(timestampSeconds, false);
    return this.last;
  }

  updateBatch(timestamps: ArrayLike<number>, values: Float64Array): Verdict {
    const d = this.featureNames.length;
    if (values.length !== timestamps.length * d) {
      throw new DetectorStateError(`updateBatch: ${values.length} values for ${timestamps.length} rows of ${d} features`);
    }
    for (let i = 0; i < timestamps.length; i++) this.step(timestamps[i] as number, values, i * d);
    return this.last;
  }

  serialize(): Uint8Array {
    const w = new BinaryWriter();
    w.u32(STATE_MAGIC);
    w.u8(STATE_VERSION);
    w.string(JSON.stringify({ featureNames: this.featureNames, options: this.options }));
    this.extractor.write(w);
    w.varint(this.trainRows);
    const rows = this.trainValid;
    w.varint(rows);
    // Training rows oldest first, float32 (what the forest trains on).
    for (let k = this.trainRows - rows; k < this.trainRows; k++) {
      const slot = k % this.options.trainWindow;
      for (let c = 0; c < this.columns; c++) w.f32(fromBfloat16(this.train[slot * this.columns + c] as number));
    }
    w.varint(this.sinceTrain);
    w.varint(this.seen);
    w.f64(this.lastTs);
    w.f64(this.trainedTs ?? NaN);
    w.varint(this.trainedRows);
    w.varint(this.episodeAge);
    w.varint(this.belowCount);
    w.varint(this.episodeRows);
    w.u8(this.recovering ? 1 : 0);
    w.varint(this.lastEpisodeLength);
    w.f64(this.sinceEpisode);
    w.f64(this.episodePeak);
    w.f64(this.episodeFeature);
    w.f64Array(this.pending === undefined ? new Float64Array(0) : this.pending.subarray(0, this.pendingCount));
    w.f64Array(this.episodeEvidence);
    this.calibrator.write(w);
    w.varint(this.rawCount);
    w.f64Array(this.recentRaw);
    w.f64(this.cusum);
    w.varint(this.episodeOnset);
    const onset = Math.min(this.onsetRun, ONSET_MAX);
    w.varint(onset);
    for (let k = this.onsetRun - onset; k < this.onsetRun; k++) w.varint(this.onsetTop[k % ONSET_MAX] as number);
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
    if (!READABLE_VERSIONS.has(version)) r.fail(`unsupported detector state version ${version} (this build reads ${[...READABLE_VERSIONS].join(', ')})`);
    let header: unknown;
    const headerText = r.string();
    try {
      header = JSON.parse(headerText);
    } catch {
      return r.fail('corrupt header');
    }
    const { featureNames, options } = headerParts(header) ?? r.fail('corrupt header');
    const det = new IsolationForestDetector(featureNames, savedSettings(options));
    det.extractor.read(r);
    det.trainRows = r.varint();
    const rows = r.length(det.options.trainWindow, 'training rows');
    if (rows > Math.min(det.trainRows, det.options.trainWindow)) r.fail('training row count mismatch');
    det.trainValid = rows;
    for (let k = det.trainRows - rows; k < det.trainRows; k++) {
      const slot = k % det.options.trainWindow;
      for (let c = 0; c < det.columns; c++) det.train[slot * det.columns + c] = toBfloat16(r.f32());
    }
    det.sinceTrain = r.varint();
    det.seen = r.varint();
    det.lastTs = r.f64();
    const trainedTs = r.f64();
    det.trainedTs = Number.isNaN(trainedTs) ? undefined : trainedTs;
    det.trainedRows = r.varint();
    det.episodeAge = r.varint();
    det.belowCount = r.varint();
    det.episodeRows = r.varint();
    det.recovering = r.u8() === 1;
    det.lastEpisodeLength = version >= 3 ? r.varint() : 0;
    det.sinceEpisode = r.f64();
    det.episodePeak = r.f64();
    det.episodeFeature = r.f64();
    const pending = r.f64Array(det.options.maxEpisode);
    if (pending.length > 0) det.pending = new Float64Array(det.options.maxEpisode);
    det.pending?.set(pending);
    det.pendingCount = pending.length;
    const evidence = r.f64Array(det.featureNames.length);
    if (evidence.length !== det.featureNames.length) r.fail('episode attribution mismatch');
    det.episodeEvidence.set(evidence);
    det.calibrator.read(r);
    det.rawCount = r.varint();
    const recent = r.f64Array(det.recentRaw.length);
    if (recent.length !== det.recentRaw.length) r.fail('smoothing history mismatch');
    det.recentRaw.set(recent);
    const cusum = version >= 3 ? r.f64() : 0;
    if (!(cusum >= 0)) r.fail('persistence sum out of range');
    det.cusum = cusum;
    if (version >= 4) {
      det.episodeOnset = r.varint();
      if (det.episodeOnset > ONSET_MAX) r.fail('episode onset out of range');
      det.onsetRun = r.length(ONSET_MAX, 'onset rows');
      for (let k = 0; k < det.onsetRun; k++) {
        const top = r.varint();
        if (top >= det.featureNames.length) r.fail('onset feature out of range');
        det.onsetTop[k] = top;
      }
    }
    if (r.u8() === 1) {
      det.forest = readForest(r);
      if (det.forest.features !== det.columns) r.fail('forest does not match the feature layout');
      const [mean, spread, min, max] = [r.f64Array(), r.f64Array(), r.f64Array(), r.f64Array()];
      if ([mean, spread, min, max].some((a) => a.length !== det.columns)) r.fail('column statistics mismatch');
      det.stats = { mean, spread, min, max, extreme: extremes(mean, spread, min, max) };
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
    for (let c = 0; c < C; c++) this.train[slot * C + c] = toBfloat16(this.row[c] as number);
    this.trainRows++;
    if (this.trainValid < this.options.trainWindow) this.trainValid++;
  }

  private retrain(timestampSeconds: number, first: boolean): void {
    const o = this.options;
    const C = this.columns;
    const rows = this.trainValid;
    const data = trainingScratch(rows * C);
    // Oldest first, so that a given history always gives the same forest.
    for (let k = 0, src = this.trainRows - rows; k < rows; k++, src++) {
      const slot = src % o.trainWindow;
      for (let c = 0; c < C; c++) data[k * C + c] = fromBfloat16(this.train[slot * C + c] as number);
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
    const o = this.options;
    const raw = forest.scoreOne(this.row) + o.noveltyWeight * Math.log1p(outOfRange(stats, this.row));
    const k = o.smoothing;
    this.recentRaw[this.rawCount % k] = raw;
    this.rawCount++;
    let smooth = 0;
    const n = Math.min(this.rawCount, k);
    for (let i = 0; i < n; i++) smooth += this.recentRaw[i] as number;
    smooth /= n;
    const a = this.calibrator.score(smooth);
    this.rowScore = a;
    this.featureEvidence(stats);
    const d = this.featureNames.length;

    if (this.episodeAge === 0) {
      this.sinceEpisode++;
      // Refractory: shortly after an episode, only what exceeds its peak counts (one incident, one alarm), unless
      // another feature drives it (a different incident).
      const refractory = this.sinceEpisode <= o.refractory && argmax(this.evidence) === this.episodeFeature;
      const single = refractory ? Math.max(0, a - this.episodePeak) : a;
      // Persistence: moderately unusual samples in a row add up (a drift, a denser run of spikes), counted as the
      // score is reported (in the refractory period only new highs count, so an incident's tail does not add up to
      // a second alarm). It restarts when an episode opens.
      let persistent = 0;
      if (o.cusumThreshold > 0) {
        this.cusum = Math.max(0, this.cusum + single - o.cusumAllowance);
        persistent = this.cusum / o.cusumThreshold;
      }
      const reported = Math.max(single, persistent);
      if (!(reported > 1)) {
        // After an incident, until the score is back in the bulk of normal (a = 0), the entity is still recovering:
        // not trained on (a recovery's tail, learnt as normal, would hide the next incident), and for as long as
        // the incident lasted not calibrated on either (recovery tails in the calibration history raise its tail,
        // and after a few incidents a repeat of a mild one stays below 1). Bounded so that a lasting change of
        // level still becomes the new normal.
        let calibrate = true;
        if (this.recovering && a > 0 && this.sinceEpisode <= o.maxEpisode) {
          this.skipTraining = true;
          calibrate = this.sinceEpisode > this.lastEpisodeLength;
        } else this.recovering = false;
        if (calibrate) this.calibrator.push(smooth);
        return this.verdict(reported, this.evidence);
      }
      this.recovering = false;
      this.cusum = 0;
      this.episodePeak = persistent;
      // Its onset: the unusual rows just before it with the same driving feature. Trained on as they came (they
      // scored below 1), they would teach the model the start of this incident and blunt its repeat.
      const top = argmax(this.evidence);
      let onset = 0;
      while (onset < Math.min(this.onsetRun, ONSET_MAX) && this.onsetTop[(this.onsetRun - 1 - onset) % ONSET_MAX] === top) onset++;
      this.episodeOnset = onset;
      this.onsetRun = 0;
      // An episode starts: freeze the calibration, gather its evidence.
      this.episodeAge = 0;
      this.belowCount = 0;
      this.pendingCount = 0;
      this.episodeEvidence.fill(0);
    }
    this.episodeAge++;
    // Allocated at the first episode: most entities never have one.
    this.pending ??= new Float64Array(o.maxEpisode);
    this.pending[this.pendingCount++] = smooth;
    if (this.episodeAge <= ATTRIBUTION_SAMPLES) {
      for (let i = 0; i < d; i++) this.episodeEvidence[i] = (this.episodeEvidence[i] as number) + (this.evidence[i] as number);
    }
    this.belowCount = a < 1 ? this.belowCount + 1 : 0;
    this.episodePeak = Math.max(this.episodePeak, a);
    if (this.episodeAge >= o.maxEpisode) {
      // Abnormal for longer than an incident lasts: this is the new normal. Its scores join the calibration.
      for (let j = 0; j < this.pendingCount; j++) this.calibrator.push(this.pending[j] as number);
      this.endEpisode();
      return this.verdict(a, this.evidence);
    }
    if (this.belowCount >= o.releaseAfter && this.episodeAge > o.alarmHold) {
      // Recovered: it was an incident. Its rows and its onset's leave the training data (they are the latest ones
      // in the ring), so the model does not learn the incident as normal and still knows its repeat.
      const incident = this.episodeAge >= INCIDENT_SAMPLES;
      if (incident) {
        const back = Math.min(this.episodeRows + this.episodeOnset, this.trainValid);
        this.trainRows -= back;
        this.trainValid -= back;
      }
      this.endEpisode();
      this.recovering = incident;
      this.skipTraining = incident;
      return this.verdict(a, this.evidence);
    }
    // Open: the score stays above the threshold, at least just above it while starting or releasing.
    return this.verdict(Math.max(a, HOLD_LEVEL), this.episodeEvidence);
  }

  private endEpisode(): void {
    this.lastEpisodeLength = this.episodeAge;
    this.episodeRows = 0;
    this.episodeOnset = 0;
    this.episodeFeature = argmax(this.episodeEvidence);
    this.sinceEpisode = 0;
    this.episodeAge = 0;
    this.belowCount = 0;
    this.pendingCount = 0;
    this.pending = undefined;
  }

  /**
   * Attribution: the anomaly score is shared out by per-feature evidence (see featureEvidence): the driving
   * feature gets the full score, the others the same fraction their evidence has of the largest.
   */
  private verdict(anomalyScore: number, evidence: Float64Array): Verdict {
    const d = this.featureNames.length;
    const featureScores = new Float64Array(d);
    const top = argmax(evidence);
    const max = evidence[top] as number;
    for (let i = 0; i < d; i++) featureScores[i] = max > 0 ? (anomalyScore * (evidence[i] as number)) / max : anomalyScore / d;
    return Object.freeze({ anomalyScore, healthScore: healthScore(anomalyScore), featureScores, topFeature: top, ready: true });
  }

  /**
   * Per input feature, into this.evidence: its most unusual model column, as |deviation from the training mean|
   * relative to the largest deviation that column showed in training. A noisy feature's usual spikes stay near 1
   * or below; a feature that left its range stands out however noisy the others are.
   */
  private featureEvidence(stats: ColumnStats): void {
    const out = this.evidence;
    out.fill(0);
    const map = this.extractor.columnInput;
    for (let c = 0; c < this.columns; c++) {
      const i = map[c] as number;
      if (i < 0) continue;
      const u = Math.abs((this.row[c] as number) - (stats.mean[c] as number)) / ((stats.spread[c] as number) * (stats.extreme[c] as number));
      if (u > (out[i] as number)) out[i] = u;
    }
  }
}

/** The parts of a saved state's header (JSON), or undefined when it is not shaped like one. */
function headerParts(header: unknown): { featureNames: string[]; options: object } | undefined {
  if (typeof header !== 'object' || header === null || !('featureNames' in header) || !('options' in header)) return undefined;
  const { featureNames, options } = header;
  if (!Array.isArray(featureNames) || !featureNames.every((name): name is string => typeof name === 'string')) return undefined;
  if (typeof options !== 'object' || options === null) return undefined;
  return { featureNames, options };
}

// Thousands of entities share a handful of option sets: validate each set once.
const optionsCache = new Map<string, Readonly<DetectorOptions>>();
function resolvedOptions(options: Readonly<DetectorSettings>): Readonly<DetectorOptions> {
  const key = JSON.stringify(options);
  let resolved = optionsCache.get(key);
  if (resolved === undefined) {
    resolved = Object.freeze(resolveDetectorOptions(options));
    if (optionsCache.size >= 256) optionsCache.clear();
    optionsCache.set(key, resolved);
  }
  return resolved;
}

// The settings saved in state headers, checked once per set (a restore reads thousands of headers alike).
const savedCache = new Map<string, Readonly<DetectorSettings>>();
function savedSettings(options: object): Readonly<DetectorSettings> {
  const key = JSON.stringify(options);
  let settings = savedCache.get(key);
  if (settings === undefined) {
    settings = Object.freeze(parseDetectorSettings(options));
    if (savedCache.size >= 256) savedCache.clear();
    savedCache.set(key, settings);
  }
  return settings;
}

function argmax(a: Float64Array): number {
  let top = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[top] as number)) top = i;
  return top;
}
