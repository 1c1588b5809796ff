// The detector factory the exporter runs: the streaming Isolation Forest detector (detector/), with its
// own option schema and cross-field checks, so that `selfheal check-config` reports what start-up would.
import { DEFAULT_DETECTOR_OPTIONS, createDetector, detectorOptionsSchema, resolveDetectorOptions, restoreDetector } from './index.js';
import type { DetectorFactory } from './factory.js';

export function defaultDetectorFactory(): DetectorFactory {
  return {
    defaults: DEFAULT_DETECTOR_OPTIONS as unknown as Readonly<Record<string, unknown>>,
    optionsSchema: detectorOptionsSchema.partial(),
    resolveOptions: (options) => resolveDetectorOptions(options),
    create: (featureNames, options) => createDetector(featureNames, options),
    restore: (bytes) => restoreDetector(bytes),
  };
}
