// The detector's public API: create or restore the per-entity streaming detector, and its defaults.
import { IsolationForestDetector } from './streaming-detector.js';
import type { DetectorSettings } from './options.js';
import type { StreamingDetector } from './types.js';

export {
  DEFAULT_DETECTOR_OPTIONS, DETECTOR_SETTING_NAMES, DetectorOptionsError, detectorOptionsSchema, detectorSettingsSchema, parseDetectorSettings, resolveDetectorOptions,
  type DetectorOptions, type DetectorSettings,
} from './options.js';
export { DetectorStateError, IsolationForestDetector } from './streaming-detector.js';
export { healthScore } from './health.js';
export type { DetectorState, StreamingDetector, Verdict } from './types.js';

/** A new detector over `featureNames` (the options default to DEFAULT_DETECTOR_OPTIONS, validated). */
export function createDetector(featureNames: readonly string[], options: Readonly<DetectorSettings> = {}): IsolationForestDetector {
  return new IsolationForestDetector(featureNames, options);
}

/** Restores a detector from `serialize()` bytes; throws a clear error on corrupt or other-version state. */
export function restoreDetector(bytes: Uint8Array): StreamingDetector & IsolationForestDetector {
  return IsolationForestDetector.restore(bytes);
}
