// How the service obtains detectors: injected, so that the service depends only on the detector
// contract (detector/types.ts). The real factory wraps createDetector/restoreDetector.
import type { StreamingDetector } from '../detector/types.js';

export interface DetectorFactory {
  /** The detector's default options; a group's `detector:` section is validated against their shape. */
  readonly defaults: Readonly<Record<string, unknown>>;
  create(featureNames: readonly string[], options: Readonly<Record<string, unknown>>): StreamingDetector;
  /** Throws on bytes it cannot read (corrupt, other version). */
  restore(bytes: Uint8Array): StreamingDetector;
}
