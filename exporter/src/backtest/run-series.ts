// Runs the streaming detector over one series exactly as the exporter would, sample by sample.
import { createDetector, type DetectorSettings } from '../detector/index.js';

export interface SeriesScores {
  /** Calibrated anomaly score per row (0 while warming up). */
  readonly anomalyScores: Float64Array;
  /** The raw score per row, before calibration (Verdict.rawScore; 0 while warming up). */
  readonly rawScores: Float64Array;
  /** Top feature index per row (-1 while warming up). */
  readonly topFeatures: Int32Array;
  /** Rows scored while ready. */
  readonly readyRows: number;
}

export function runSeries(
  columns: readonly string[],
  timestamps: Float64Array,
  values: Float64Array,
  options: Readonly<DetectorSettings> = {},
  onProgress?: (done: number) => void,
): SeriesScores {
  const detector = createDetector(columns, options);
  const d = columns.length;
  const n = timestamps.length;
  const anomalyScores = new Float64Array(n);
  const rawScores = new Float64Array(n);
  const topFeatures = new Int32Array(n);
  let readyRows = 0;
  for (let i = 0; i < n; i++) {
    const v = detector.update(timestamps[i] as number, values.subarray(i * d, i * d + d));
    anomalyScores[i] = v.ready ? v.anomalyScore : 0;
    rawScores[i] = v.ready ? v.rawScore : 0;
    topFeatures[i] = v.topFeature;
    if (v.ready) readyRows++;
    if (onProgress !== undefined && (i & 1023) === 1023) onProgress(i + 1);
  }
  onProgress?.(n);
  return { anomalyScores, rawScores, topFeatures, readyRows };
}
