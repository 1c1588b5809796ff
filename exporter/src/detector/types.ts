// The contract between the streaming detector (issue 3) and the exporter service / backtest CLI.
// The exporter and `selfheal backtest` run exactly this code path, with the same defaults.

/** One verdict for one entity at one timestamp. */
export interface Verdict {
  /** Calibrated anomaly score: 0 = normal, 1.0 = the alerting threshold, higher = more anomalous. */
  readonly anomalyScore: number;
  /**
   * The raw score the calibration judged (the forest's score plus the out-of-range term, averaged over `smoothing`
   * samples), before calibration and the episode logic; 0 while warming up. It ranks rows across entities of one
   * model family (the anomaly score is relative to each entity's own history) and is what `selfheal backtest` writes as
   * `raw_score`. Not a threshold: alert on anomalyScore.
   */
  readonly rawScore: number;
  /** 0-100, 100 = healthy; a documented function of anomalyScore. */
  readonly healthScore: number;
  /** Per-feature attribution on the anomalyScore scale, in the detector's feature order. */
  readonly featureScores: Float64Array;
  /** Index of the feature that drives the current anomaly (latched while anomalous), or -1 while warming up. */
  readonly topFeature: number;
  /** False while warming up: the scores are then 0 / 100 and must not be alerted on. */
  readonly ready: boolean;
  /**
   * Per feature, in the detector's feature order, the band of values the current model learnt as normal (the range
   * of its training rows: outside it the detector's out-of-range term adds to the score). Absent while warming up.
   */
  readonly expected?: ExpectedBand;
}

/** Lower and upper bounds per feature (shared by the verdicts of one model: read, do not modify). */
export interface ExpectedBand {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

export type DetectorState = 'warming' | 'ready';

/**
 * A per-entity streaming detector over one or several input series (features such as cpu, memory,
 * latency_p95, error_ratio). Causal: a verdict depends only on samples at or before its timestamp.
 */
export interface StreamingDetector {
  readonly featureNames: readonly string[];
  readonly state: DetectorState;
  /** Samples seen in total. */
  readonly samplesSeen: number;
  /** Timestamp (seconds) of the sample at which the model was last (re)trained, undefined before. */
  readonly trainedAt: number | undefined;
  /** Rows the current model was trained on. */
  readonly trainingSamples: number;
  /**
   * Feeds one sample: `values[i]` is feature i (NaN = missing). Timestamps must increase; a sample at or
   * before the last one is ignored and returns the last verdict. Retrains by itself on its schedule.
   */
  update(timestampSeconds: number, values: ArrayLike<number>): Verdict;
  /**
   * Feeds a history in bulk (e.g. a query_range result) exactly as repeated `update` calls would, but
   * faster; returns the verdict of the last row. `values` is row-major, `timestamps.length` rows.
   */
  updateBatch(timestamps: ArrayLike<number>, values: Float64Array): Verdict;
  /** Compact, versioned binary form of the whole state (model, calibration, feature windows). */
  serialize(): Uint8Array;
}
