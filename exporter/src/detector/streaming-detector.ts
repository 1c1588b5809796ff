// The per-entity streaming detector: causal features -> Isolation Forest retrained on a trailing window ->
// calibrated anomaly score, attribution and health. The exporter and `selfheal backtest` run exactly this.
// Its parts: training-ring.ts (training data), calibration.ts (raw -> anomaly score), episode.ts (alarm episodes),
// attribution.ts (per-feature scores), state-codec.ts (serialize / restore).
import { IsolationForest } from './forest/isolation-forest.js';
import { attributedVerdict, expectedBand, featureEvidence, reportedEvidence, usualDeviations, warmingVerdict } from './attribution.js';
import { ScoreCalibrator } from './calibration.js';
import { columnStats, outOfRange } from './column-stats.js';
import { ControlGate } from './controls.js';
import { EpisodeTracker } from './episode.js';
import { FeatureExtractor } from './features.js';
import { cachedDetectorOptions, type DetectorOptions, type DetectorSettings } from './options.js';
import { readDetectorState, writeDetectorState, type DetectorSnapshot, type TrainedModel } from './state-codec.js';
import { TrainingRing } from './training-ring.js';
import type { DetectorState, StreamingDetector, Verdict } from './types.js';

export class DetectorStateError extends Error {
  override name = 'DetectorStateError';
}

export class IsolationForestDetector implements StreamingDetector {
  readonly featureNames: readonly string[];
  readonly options: Readonly<DetectorOptions>;
  private readonly extractor: FeatureExtractor;
  private readonly columns: number;
  private readonly training: TrainingRing;
  private readonly calibrator: ScoreCalibrator;
  private readonly episode: EpisodeTracker;
  /** The per-feature controls (direction, minimum deviation); undefined when there are none that change anything. */
  private readonly gate: ControlGate | undefined;
  /** Scratch of the controls: which features' moves do not count, and the row without them. */
  private ignored: Uint8Array | undefined;
  private neutral: Float64Array | undefined;
  private model: TrainedModel | undefined;
  private sinceTrain = 0;
  /** The latest raw scores (a ring of `smoothing`), averaged before calibration; and how many were pushed. */
  private readonly recentRaw: Float64Array;
  private rawCount = 0;
  private seen = 0;
  private lastTs = -Infinity;
  private trainedTs: number | undefined;
  private trainedRows = 0;
  private last: Verdict;
  /** This sample's model columns, and its per-feature evidence (see featureEvidence). */
  private readonly row: Float64Array;
  private readonly evidence: Float64Array;
  /** This sample's reported per-feature evidence (see reportedEvidence): what its verdict names. */
  private readonly reported: Float64Array;

  constructor(featureNames: readonly string[], options: Readonly<DetectorSettings> = {}) {
    if (featureNames.length < 1) throw new DetectorStateError('a detector needs at least one feature name');
    if (new Set(featureNames).size !== featureNames.length) {
      throw new DetectorStateError(`feature names must be distinct: ${featureNames.join(', ')}`);
    }
    this.featureNames = Object.freeze([...featureNames]);
    this.options = cachedDetectorOptions(options);
    const o = this.options;
    this.extractor = new FeatureExtractor(featureNames.length, o.windows, o.seasonality);
    this.columns = this.extractor.columns;
    try {
      this.gate = ControlGate.of(o.controls, this.featureNames, this.extractor.valueColumns);
    } catch (error) {
      throw new DetectorStateError((error as Error).message);
    }
    this.training = new TrainingRing(o.trainWindow, this.columns);
    this.calibrator = new ScoreCalibrator(o.calibrationWindow, o.alertTailProbability, o.tailFraction);
    const training = this.training;
    const calibrator = this.calibrator;
    this.episode = new EpisodeTracker(featureNames.length, o, {
      calibrate: (smoothedRaw) => calibrator.push(smoothedRaw),
      untrain: (rows) => training.takeBack(rows),
    });
    this.recentRaw = new Float64Array(o.smoothing);
    this.row = new Float64Array(this.columns);
    this.evidence = new Float64Array(featureNames.length);
    this.reported = new Float64Array(featureNames.length);
    this.last = warmingVerdict(featureNames.length);
  }

  /** True while an alarm episode is open (the score is then above 1). */
  get inEpisode(): boolean {
    return this.episode.open;
  }

  get state(): DetectorState {
    return this.model === undefined ? 'warming' : 'ready';
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

  updateBatch(timestamps: ArrayLike<number>, values: Float64Array): Verdict {
    const d = this.featureNames.length;
    if (values.length !== timestamps.length * d) {
      throw new DetectorStateError(`updateBatch: ${values.length} values for ${timestamps.length} rows of ${d} features`);
    }
    for (let i = 0; i < timestamps.length; i++) this.step(timestamps[i] as number, values, i * d);
    return this.last;
  }

  serialize(): Uint8Array {
    return writeDetectorState(this.snapshot());
  }

  static restore(bytes: Uint8Array): IsolationForestDetector {
    let det: IsolationForestDetector | undefined;
    const s = readDetectorState(bytes, (featureNames, settings) => {
      det = new IsolationForestDetector(featureNames, settings);
      return det.snapshot();
    });
    const restored = det as IsolationForestDetector;
    restored.adopt(s);
    return restored;
  }

  /** The detector's state for the codec: its parts (live) and its plain values (copies; see adopt). */
  private snapshot(): DetectorSnapshot {
    return {
      featureNames: this.featureNames,
      options: this.options,
      extractor: this.extractor,
      training: this.training,
      episode: this.episode,
      calibrator: this.calibrator,
      recentRaw: this.recentRaw,
      rawCount: this.rawCount,
      sinceTrain: this.sinceTrain,
      seen: this.seen,
      lastTs: this.lastTs,
      trainedTs: this.trainedTs,
      trainedRows: this.trainedRows,
      model: this.model,
      last: this.last,
    };
  }

  /** Takes back the plain values of a snapshot of this detector (its parts are this detector's own). */
  private adopt(s: DetectorSnapshot): void {
    this.rawCount = s.rawCount;
    this.sinceTrain = s.sinceTrain;
    this.seen = s.seen;
    this.lastTs = s.lastTs;
    this.trainedTs = s.trainedTs;
    this.trainedRows = s.trainedRows;
    this.model = s.model;
    this.last = s.last;
  }

  /** One sample whose values are values[from .. from + features). */
  private step(timestampSeconds: number, values: ArrayLike<number>, from: number): Verdict {
    if (!(timestampSeconds > this.lastTs)) return this.last;
    this.lastTs = timestampSeconds;
    const missing = this.extractor.extract(timestampSeconds, values, from, this.row, 0);
    if (missing < 0) {
      // A feature without any finite value yet: nothing to score. Stay (or fall back to) not ready.
      this.last = warmingVerdict(this.featureNames.length);
      return this.last;
    }
    this.seen++;
    // Rows with carried-forward values are scored but never trained on.
    if (this.model === undefined) {
      if (missing === 0) this.training.push(this.row);
      if (this.training.valid >= this.options.warmup) this.retrain(timestampSeconds, true);
      this.last = warmingVerdict(this.featureNames.length);
      return this.last;
    }
    this.last = this.scoreRow(this.model);
    const trained = missing === 0 && !this.episode.skipTraining;
    if (trained) this.training.push(this.row);
    this.episode.rowDone(trained, this.evidence);
    // No retraining during an episode: the model that knows what normal looked like judges the incident.
    if (++this.sinceTrain >= this.options.retrainEvery && !this.episode.open) this.retrain(timestampSeconds, false);
    return this.last;
  }

  private retrain(timestampSeconds: number, first: boolean): void {
    const o = this.options;
    const C = this.columns;
    const rows = this.training.valid;
    const data = this.training.rows();
    // Trees that hold every training row score those rows as if they were old friends; the first model's scores
    // of its own rows seed the calibration, so it samples at most half of them per tree.
    const sampleSize = Math.max(2, Math.min(o.sampleSize, Math.floor(rows / 2)));
    const forest = IsolationForest.fit(data, C, { trees: o.trees, sampleSize, seed: o.seed + this.training.pushed });
    const stats = columnStats(data, C, this.extractor.columnUnitless);
    const valueColumns = this.extractor.valueColumns;
    this.model = { forest, stats, band: expectedBand(stats, valueColumns), usual: usualDeviations(data, C, stats, valueColumns) };
    this.sinceTrain = 0;
    this.trainedTs = timestampSeconds;
    this.trainedRows = rows;
    if (first) {
      // Seed the calibration with the model's scores of its own recent training rows, so verdicts are ready now.
      const scores = forest.score(data.subarray(Math.max(0, rows - o.calibrationWindow) * C));
      for (let i = 0; i < scores.length; i++) this.calibrator.push(scores[i] as number);
    }
  }

  /** The verdict on this.row: raw score (forest + out-of-range), smoothed, calibrated, judged by the episode logic. */
  private scoreRow({ forest, stats, band, usual }: TrainedModel): Verdict {
    const o = this.options;
    const raw = forest.scoreOne(this.row) + o.noveltyWeight * Math.log1p(outOfRange(stats, this.row));
    const k = o.smoothing;
    this.recentRaw[this.rawCount % k] = raw;
    this.rawCount++;
    let smooth = 0;
    const n = Math.min(this.rawCount, k);
    for (let i = 0; i < n; i++) smooth += this.recentRaw[i] as number;
    smooth /= n;
    let a = this.calibrator.score(smooth);
    featureEvidence(this.row, stats, this.extractor.columnInput, this.evidence);
    reportedEvidence(this.row, stats, this.extractor.valueColumns, usual, this.reported);
    // The controls act before the episode logic: a move that does not count neither opens an alarm nor adds up.
    if (this.gate !== undefined && a > 0) a = this.withoutIgnoredMoves(a, raw, smooth, forest, stats);
    const anomalyScore = this.episode.judge(a, smooth, this.evidence, this.reported);
    return attributedVerdict(anomalyScore, smooth, this.episode.attribution, band);
  }

  /**
   * The score with the controls applied: when some features' moves do not count (controls.ts), the row is scored again
   * with their columns at the training mean (what the detector would say without those moves) and the lower score
   * counts; their evidence is cleared, so the attribution names a feature whose move counts. The calibration history
   * keeps the sample's own raw score (it describes the data, not the controls).
   */
  private withoutIgnoredMoves(a: number, raw: number, smooth: number, forest: IsolationForest, stats: TrainedModel['stats']): number {
    const gate = this.gate as ControlGate;
    const ignored = (this.ignored ??= new Uint8Array(this.featureNames.length));
    if (gate.ignored(this.row, stats, ignored) === 0) return a;
    const neutral = (this.neutral ??= new Float64Array(this.columns));
    const columnInput = this.extractor.columnInput;
    for (let c = 0; c < this.columns; c++) {
      const i = columnInput[c] as number;
      neutral[c] = i >= 0 && ignored[i] === 1 ? (stats.mean[c] as number) : (this.row[c] as number);
    }
    for (let i = 0; i < ignored.length; i++) {
      if (ignored[i] === 1) {
        this.evidence[i] = 0;
        this.reported[i] = 0;
      }
    }
    const rescored = forest.scoreOne(neutral) + this.options.noveltyWeight * Math.log1p(outOfRange(stats, neutral));
    const n = Math.min(this.rawCount, this.options.smoothing);
    return Math.min(a, this.calibrator.score(smooth + (rescored - raw) / n));
  }
}
