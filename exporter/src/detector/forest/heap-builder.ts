// Rebuilds a forest's heap layout from its serialised form (serialize.ts): fitting writes the layout in one pass
// of its own (fit.ts, `compile`).
import { IsolationForest } from './isolation-forest.js';
import { featureBits, IsolationForestError, nodeLayout } from './layout.js';

/**
 * Builds the heap layout tree by tree from a serialised forest (fitting writes it in one pass of its own, `compile`):
 * picks the narrowest node type every threshold index fits and codes the leaves' path lengths.
 */
export class HeapBuilder {
  readonly nodes: Uint16Array | Int32Array;
  private readonly bits: number;
  private readonly inner: number;
  private codes: Uint8Array | Uint16Array | Uint32Array;
  private readonly values = new Map<number, number>();

  constructor(
    private readonly features: number,
    private readonly treeCount: number,
    private readonly depth: number,
    private readonly thresholdStart: Uint32Array,
  ) {
    this.bits = featureBits(features);
    let perFeatureMax = 0;
    for (let f = 0; f < features; f++) {
      perFeatureMax = Math.max(perFeatureMax, (thresholdStart[f + 1] as number) - (thresholdStart[f] as number));
    }
    this.inner = (1 << depth) - 1;
    const layout = nodeLayout(features, perFeatureMax);
    if (typeof layout === 'string') throw new IsolationForestError(layout);
    const nodes = layout.narrow ? new Uint16Array(treeCount * this.inner) : new Int32Array(treeCount * this.inner);
    const pad = layout.pad;
    nodes.fill(pad << this.bits);
    this.nodes = nodes;
    this.codes = new Uint8Array(treeCount * (this.inner + 1));
  }

  /** Heap node h of tree t splits on `feature` at its threshold index j (x <= t_j goes left). */
  split(t: number, h: number, feature: number, j: number): void {
    this.nodes[t * this.inner + h] = (j << this.bits) | feature;
  }

  /** A leaf at heap position h, `level` deep, with path length `value` (rounded to float32). */
  leaf(t: number, h: number, level: number, value: number): void {
    this.place(t, h, level, this.code(value));
  }

  /** The code of path length `value` (rounded to float32); a new one if this forest has not seen it yet. */
  code(value: number): number {
    const v = Math.fround(value);
    let code = this.values.get(v);
    if (code === undefined) {
      code = this.values.size;
      this.values.set(v, code);
      // Widen the codes when the 257th (65,537th) distinct path length appears.
      if (code === 256) this.codes = new Uint16Array(this.codes);
      else if (code === 65536) this.codes = new Uint32Array(this.codes);
    }
    return code;
  }

  /** A leaf at heap position h, `level` deep: its code goes to the leftmost bottom slot below h. */
  place(t: number, h: number, level: number, code: number): void {
    this.codes[t * (this.inner + 1) + ((h + 1) << (this.depth - level)) - 1 - this.inner] = code;
  }

  finish(sampleSize: number, thresholds: Float32Array): IsolationForest {
    return new IsolationForest({
      features: this.features, sampleSize, treeCount: this.treeCount, depth: this.depth, nodes: this.nodes,
      leafCodes: this.codes, leafValues: Float32Array.from(this.values.keys()), thresholds, thresholdStart: this.thresholdStart,
    });
  }
}
