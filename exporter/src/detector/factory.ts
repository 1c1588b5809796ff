// How the runner obtains detectors: injected, so that the runner and the config layer depend only on the detector
// contract (types.ts and this file). The real factory (default-factory.ts) wraps createDetector/restoreDetector.
import type { z } from 'zod';
import type { StreamingDetector } from './types.js';

/** What the config layer needs to validate a group's `detector:` section. */
export interface DetectorOptionsSpec {
  /** The detector's default options (documentation, and the shape used when no schema is given). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** A schema of a partial options object (every key optional, unknown keys rejected). */
  readonly optionsSchema?: z.ZodType<Record<string, unknown>>;
  /** Throws with a message when the complete options are inconsistent (cross-field rules). */
  resolveOptions?(options: Readonly<Record<string, unknown>>): unknown;
}

export interface DetectorFactory extends DetectorOptionsSpec {
  create(featureNames: readonly string[], options: Readonly<Record<string, unknown>>): StreamingDetector;
  /** Throws on bytes it cannot read (corrupt, other version). */
  restore(bytes: Uint8Array): StreamingDetector;
}
