// The layout of a fitted forest (isolation-forest.ts describes it): the model's arrays, the packing of a node
// (threshold index and feature), and the limits every part (fitting, scoring, the serialised form) checks against.

/** Heap layout grows as 2^depth per tree: deeper trees are refused (the default depth is 8). */
export const MAX_DEPTH = 16;
/** Feature ids share a node with the threshold index: up to 4096 features. */
export const MAX_FEATURES = 4096;

export interface ForestModel {
  readonly features: number;
  /** Rows each tree was grown on (psi); scores are normalised by c(psi). */
  readonly sampleSize: number;
  readonly treeCount: number;
  /** Height of the heap layout (the deepest split + 1). */
  readonly depth: number;
  /**
   * treeCount * (2^depth - 1) packed nodes: (threshold index << featureBits(features)) | feature. Padding nodes
   * (always go left) carry the largest index the type holds, `padIndex(features, nodes)`.
   */
  readonly nodes: Uint16Array | Int32Array;
  /** treeCount * 2^depth codes of the bottom slots into `leafValues`. */
  readonly leafCodes: Uint8Array | Uint16Array | Uint32Array;
  /** Distinct path lengths of the leaves (float32 values). */
  readonly leafValues: Float32Array;
  /** Sorted distinct thresholds of feature f: thresholds[thresholdStart[f] .. thresholdStart[f+1]). */
  readonly thresholds: Float32Array;
  readonly thresholdStart: Uint32Array;
}

export class IsolationForestError extends Error {
  override name = 'IsolationForestError';
}

/** Bits used for the feature id in a packed node (0 for a single feature). */
export function featureBits(features: number): number {
  return Math.ceil(Math.log2(features));
}

/** Threshold index of padding nodes (always go left): the largest index the node type holds. */
export function padIndex(features: number, nodes: Uint16Array | Int32Array): number {
  return (1 << ((nodes instanceof Uint16Array ? 16 : 31) - featureBits(features))) - 1;
}


/**
 * The node type of a forest whose features have at most `perFeatureMax` distinct thresholds each: 16 bits when every
 * threshold index and the padding index above them fit (q ranges over [0, count], so the padding index must exceed
 * every count), else 32; or why none fits.
 */
export function nodeLayout(features: number, perFeatureMax: number): { narrow: boolean; pad: number } | string {
  const bits = featureBits(features);
  const narrow = perFeatureMax < (1 << (16 - bits)) - 1;
  const pad = (1 << ((narrow ? 16 : 31) - bits)) - 1;
  if (perFeatureMax >= pad) return `${perFeatureMax} distinct thresholds for one feature exceed the layout limit ${pad}`;
  return { narrow, pad };
}
