// How the runner obtains detectors: injected, so that the runner and the config layer depend only on the detector
// contract (types.ts and this file). The real factory (default-factory.ts) wraps createDetector/restoreDetector.
import type { z } from 'zod';
import type { FeatureControl } from './controls.js';
import type { StreamingDetector } from './types.js';

export type { FeatureControl } from './controls.js';

/**
 * The settings the runner itself reads, in samples: the stagger of new detectors' history (warmup, retrainEvery), and
 * the ones a group's schedule sets (trainWindow, retrainEvery). Every detector's options include them.
 */
export interface DetectorScheduleSettings {
  readonly warmup: number;
  readonly trainWindow: number;
  readonly retrainEvery: number;
  /** Per feature: which of its moves count (from the group's `features:`; see controls.ts). */
  readonly controls?: Readonly<Record<string, FeatureControl>>;
}

/** What the config layer needs to validate a group's `detector:` section, for a detector of options `O`. */
export interface DetectorOptionsSpec<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  /** The detector's default options (what a group runs with where its `detector:` section and schedule say nothing). */
  readonly defaults: Readonly<O>;
  /** The schema of a group's `detector:` section: some of the options (every key optional, unknown keys rejected). */
  readonly optionsSchema: z.ZodType<Partial<O>>;
  /** Throws with a message when the complete options are inconsistent (cross-field rules). */
  resolveOptions?(options: Readonly<Partial<O>>): unknown;
}

export interface DetectorFactory<O extends DetectorScheduleSettings = DetectorScheduleSettings> extends DetectorOptionsSpec<O> {
  create(featureNames: readonly string[], options: Readonly<Partial<O>>): StreamingDetector;
  /** Throws on bytes it cannot read (corrupt, other version). */
  restore(bytes: Uint8Array): StreamingDetector;
}
