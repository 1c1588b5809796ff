// The detector factory the exporter runs: the streaming Isolation Forest detector (detector/), with its
// own option schema and cross-field checks, so that `selfheal check-config` reports what start-up would.
import { DEFAULT_DETECTOR_OPTIONS, createDetector, detectorSettingsSchema, resolveDetectorOptions, restoreDetector, type DetectorOptions } from './index.js';
import type { DetectorFactory } from './factory.js';

export function defaultDetectorFactory(): DetectorFactory<DetectorOptions> {
  return {
    defaults: DEFAULT_DETECTOR_OPTIONS,
    optionsSchema: detectorSettingsSchema,
    resolveOptions: (options) => resolveDetectorOptions(options),
    create: (featureNames, options) => createDetector(featureNames, options),
    restore: (bytes) => restoreDetector(bytes),
  };
}
