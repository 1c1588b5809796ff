// The binary form of a detector's state (`serialize()` / `restore()`): a versioned layout over the detector's
// parts. Version 5 is written; 2, 3, 4 and 5 are read.
import { BinaryReader, BinaryWriter } from './forest/binary.js';
import type { IsolationForest } from './forest/isolation-forest.js';
import { readForest, writeForest } from './forest/serialize.js';
import { fromBfloat16, toBfloat16 } from './bfloat16.js';
import type { ScoreCalibrator } from './calibration.js';
import { extremes, type ColumnStats } from './column-stats.js';
import { ONSET_MAX, type EpisodeTracker } from './episode.js';
import type { FeatureExtractor } from './features.js';
import { healthScore } from './health.js';
import { cachedDetectorSettings, type DetectorOptions, type DetectorSettings } from './options.js';
import type { TrainingRing } from './training-ring.js';
import type { ExpectedBand, Verdict } from './types.js';
import { expectedBand } from './attribution.js';

const STATE_MAGIC = 0x54454453; // "SDET"
const STATE_VERSION = 5;
/**
 * Older layouts this build still restores. Version 2 lacks the persistence sum (it starts at 0) and the last
 * episode's length (a recovery under way is then calibrated on, as version 2 did); versions 2 and 3 lack the
 * onset (an episode under way then gives back only its own rows); versions 2-4 lack the episode's reported evidence (an
 * episode under way is then attributed by its episode evidence, as that code did).
 */
const READABLE_VERSIONS = new Set([2, 3, 4, 5]);

/** The model a detector scores with, once trained. */
export interface TrainedModel {
  forest: IsolationForest;
  stats: ColumnStats;
  /** Per input feature, the range of values trained on (see Verdict.expected). */
  band: ExpectedBand;
  /** Per input feature, its usual large deviation in training (see usualDeviations). */
  usual: Float64Array;
}

/**
 * Everything a detector's state consists of. The parts that are objects are the detector's own (written from and
 * read into in place); the plain values are copies, taken by `snapshot()` and given back after a read.
 */
export interface DetectorSnapshot {
  readonly featureNames: readonly string[];
  readonly options: Readonly<DetectorOptions>;
  readonly extractor: FeatureExtractor;
  readonly training: TrainingRing;
  readonly episode: EpisodeTracker;
  readonly calibrator: ScoreCalibrator;
  /** The latest raw scores (a ring of `smoothing`), and how many were ever pushed. */
  readonly recentRaw: Float64Array;
  rawCount: number;
  /** Samples since the last (re)training, samples seen, the last sample's timestamp. */
  sinceTrain: number;
  seen: number;
  lastTs: number;
  /** When the model was last trained, and on how many rows. */
  trainedTs: number | undefined;
  trainedRows: number;
  model: TrainedModel | undefined;
  last: Verdict;
}

export function writeDetectorState(s: DetectorSnapshot): Uint8Array {
  const w = new BinaryWriter();
  w.u32(STATE_MAGIC);
  w.u8(STATE_VERSION);
  w.string(JSON.stringify({ featureNames: s.featureNames, options: s.options }));
  s.extractor.write(w);
  const t = s.training;
  w.varint(t.pushed);
  w.varint(t.valid);
  // Training rows oldest first, float32 (what the forest trains on).
  for (let k = t.pushed - t.valid; k < t.pushed; k++) {
    const slot = k % t.capacity;
    for (let c = 0; c < t.columns; c++) w.f32(fromBfloat16(t.cells[slot * t.columns + c] as number));
  }
  w.varint(s.sinceTrain);
  w.varint(s.seen);
  w.f64(s.lastTs);
  w.f64(s.trainedTs ?? NaN);
  w.varint(s.trainedRows);
  const e = s.episode;
  w.varint(e.age);
  w.varint(e.belowCount);
  w.varint(e.rows);
  w.u8(e.recovering ? 1 : 0);
  w.varint(e.lastLength);
  w.f64(e.sinceEpisode);
  w.f64(e.peak);
  w.f64(e.feature);
  w.f64Array(e.pending === undefined ? new Float64Array(0) : e.pending.subarray(0, e.pendingCount));
  w.f64Array(e.evidence);
  s.calibrator.write(w);
  w.varint(s.rawCount);
  w.f64Array(s.recentRaw);
  w.f64(e.cusum);
  w.varint(e.onset);
  const onset = Math.min(e.onsetRun, ONSET_MAX);
  w.varint(onset);
  for (let k = e.onsetRun - onset; k < e.onsetRun; k++) w.varint(e.onsetTop[k % ONSET_MAX] as number);
  w.f64Array(e.reported);
  w.u8(s.model === undefined ? 0 : 1);
  if (s.model !== undefined) {
    writeForest(w, s.model.forest);
    const { mean, spread, min, max } = s.model.stats;
    for (const a of [mean, spread, min, max]) w.f64Array(a);
    w.f64Array(s.model.usual);
  }
  w.f64(s.last.anomalyScore);
  w.f64Array(s.last.featureScores);
  w.f64(s.last.topFeature);
  w.u8(s.last.ready ? 1 : 0);
  return w.finish();
}

/**
 * Reads a saved state: its header gives the feature names and settings, from which `open` makes a fresh detector
 * and returns its snapshot; the rest is read into that snapshot, which is returned for the detector to take back.
 */
export function readDetectorState(bytes: Uint8Array, open: (featureNames: string[], settings: Readonly<DetectorSettings>) => DetectorSnapshot): DetectorSnapshot {
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
  const s = open(featureNames, cachedDetectorSettings(options));
  const features = s.featureNames.length;
  const o = s.options;
  s.extractor.read(r);
  const t = s.training;
  t.pushed = r.varint();
  const rows = r.length(o.trainWindow, 'training rows');
  if (rows > Math.min(t.pushed, o.trainWindow)) r.fail('training row count mismatch');
  t.valid = rows;
  for (let k = t.pushed - rows; k < t.pushed; k++) {
    const slot = k % t.capacity;
    for (let c = 0; c < t.columns; c++) t.cells[slot * t.columns + c] = toBfloat16(r.f32());
  }
  s.sinceTrain = r.varint();
  s.seen = r.varint();
  s.lastTs = r.f64();
  const trainedTs = r.f64();
  s.trainedTs = Number.isNaN(trainedTs) ? undefined : trainedTs;
  s.trainedRows = r.varint();
  const e = s.episode;
  e.age = r.varint();
  e.belowCount = r.varint();
  e.rows = r.varint();
  e.recovering = r.u8() === 1;
  e.lastLength = version >= 3 ? r.varint() : 0;
  e.sinceEpisode = r.f64();
  e.peak = r.f64();
  e.feature = r.f64();
  const pending = r.f64Array(o.maxEpisode);
  if (pending.length > 0) e.pending = new Float64Array(o.maxEpisode);
  e.pending?.set(pending);
  e.pendingCount = pending.length;
  const evidence = r.f64Array(features);
  if (evidence.length !== features) r.fail('episode attribution mismatch');
  e.evidence.set(evidence);
  s.calibrator.read(r);
  s.rawCount = r.varint();
  const recent = r.f64Array(s.recentRaw.length);
  if (recent.length !== s.recentRaw.length) r.fail('smoothing history mismatch');
  s.recentRaw.set(recent);
  const cusum = version >= 3 ? r.f64() : 0;
  if (!(cusum >= 0)) r.fail('persistence sum out of range');
  e.cusum = cusum;
  if (version >= 4) {
    e.onset = r.varint();
    if (e.onset > ONSET_MAX) r.fail('episode onset out of range');
    e.onsetRun = r.length(ONSET_MAX, 'onset rows');
    for (let k = 0; k < e.onsetRun; k++) {
      const top = r.varint();
      if (top >= features) r.fail('onset feature out of range');
      e.onsetTop[k] = top;
    }
  }
  if (version >= 5) {
    const reported = r.f64Array(features);
    if (reported.length !== features) r.fail('episode reported evidence mismatch');
    e.reported.set(reported);
  } else {
    e.reported.set(e.evidence);
  }
  if (r.u8() === 1) {
    const forest = readForest(r);
    if (forest.features !== t.columns) r.fail('forest does not match the feature layout');
    const [mean, spread, min, max] = [r.f64Array(), r.f64Array(), r.f64Array(), r.f64Array()];
    if ([mean, spread, min, max].some((a) => a.length !== t.columns)) r.fail('column statistics mismatch');
    const stats = { mean, spread, min, max, extreme: extremes(mean, spread, min, max) };
    const valueColumns = s.extractor.valueColumns;
    let usual: Float64Array;
    if (version >= 5) {
      usual = r.f64Array(features);
      if (usual.length !== features) r.fail('usual deviations mismatch');
    } else {
      // Older states kept no quantile: the training's largest deviation stands in for it until the next retraining.
      usual = Float64Array.from(valueColumns, (c) => stats.extreme[c] as number);
    }
    s.model = { forest, stats, band: expectedBand(stats, valueColumns), usual };
  }
  const anomalyScore = r.f64();
  const featureScores = r.f64Array(features);
  const topFeature = r.f64();
  const ready = r.u8() === 1;
  if (featureScores.length !== features) r.fail('verdict mismatch');
  // The raw score is not saved: a ready verdict's is the mean of the smoothing ring as it was scored (restored above).
  const smoothed = Math.min(s.rawCount, s.recentRaw.length);
  let rawScore = 0;
  if (ready) {
    for (let i = 0; i < smoothed; i++) rawScore += s.recentRaw[i] as number;
    rawScore /= smoothed;
  }
  const last = { anomalyScore, rawScore, healthScore: ready ? healthScore(anomalyScore) : 100, featureScores, topFeature, ready };
  s.last = Object.freeze(ready && s.model !== undefined ? { ...last, expected: s.model.band } : last);
  if (!r.done) r.fail('trailing bytes after the detector state');
  return s;
}

/** The parts of a saved state's header (JSON), or undefined when it is not shaped like one. */
function headerParts(header: unknown): { featureNames: string[]; options: object } | undefined {
  if (typeof header !== 'object' || header === null || !('featureNames' in header) || !('options' in header)) return undefined;
  const { featureNames, options } = header;
  if (!Array.isArray(featureNames) || !featureNames.every((name): name is string => typeof name === 'string')) return undefined;
  if (typeof options !== 'object' || options === null) return undefined;
  return { featureNames, options };
}
