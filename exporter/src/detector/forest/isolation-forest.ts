// Isolation Forest (Liu, Ting & Zhou 2008) over row-major Float64Array rows.
//
// Layout, chosen for speed and size (no node objects, no allocation while scoring):
// - Every tree is stored as a complete binary tree of height `depth` (heap order: children of i are 2i+1, 2i+2) in
//   one typed array for the whole forest. A leaf above the bottom is padded with "always go left" nodes, so every
//   point takes exactly `depth` branch-free steps per tree and ends in a bottom slot.
// - A bottom slot holds a one-byte code (wider only if a forest has more than 256 of them) into the forest's table
//   of distinct path lengths h = depth(leaf) + c(leafSize) (float32, as the serialised form restores them).
// - Thresholds are not compared as floats: for each feature the forest keeps the sorted list of its distinct
//   thresholds (float32, exact in the serialised form), a node stores the index j of its threshold, and a point is
//   first quantised to q = #thresholds < x. Then x <= t_j  <=>  q <= j. A node packs (j << b) | feature with
//   b = ceil(log2(features)) bits, in 16 bits when every index fits (the usual case; else 32), and q is kept
//   pre-shifted as q << b, so one step is i = 2i + 1 + ((node - Q[feature]) >>> 31): no shift, no float compare.
// - Batches are scored in blocks that fit the L1 cache; each tree walks a whole block while it is in cache. The walk
//   and the quantisation of batches run in generated WebAssembly (wasm-walk.ts: ~2x the JavaScript loop); single
//   rows (`scoreOne`, the exporter's path: four trees at once), batches under 32 rows and forests the WebAssembly
//   encoding cannot hold walk in JavaScript, with the same sums (bit-identical batch scores either way).
// - Scratch buffers are shared by all forests (one thread), so a fitted forest holds only its model arrays
//   (~100 KB for 100 trees of depth 8, whatever the number of features).
import { fitForest, type ForestOptions } from './fit.js';
import { IsolationForestError, featureBits, padIndex, type ForestModel } from './layout.js';
import { averagePathLength } from './path-length.js';
import { WasmWalker } from './wasm-walk.js';

/** Quantised values of one block take at most this many int32 (16 KB: the block stays in L1 with the tree). */
const BLOCK_INTS = 4096;
/** Block size bounds (points); blocks are a multiple of the WebAssembly walk's 8-point interleave. */
const MAX_BLOCK = 1024;
const MIN_BLOCK = 16;

/** Index of the first element >= x in a[lo, hi) (hi if none); branch-free steps. */
function lowerBound(a: Float32Array, lo: number, hi: number, x: number): number {
  let n = hi - lo;
  if (n <= 0) return lo;
  let base = lo;
  while (n > 1) {
    const half = n >>> 1;
    base = (a[base + half] as number) < x ? base + half : base;
    n -= half;
  }
  return (a[base] as number) < x ? base + 1 : base;
}

// Shared scratch (one thread; scoring never re-enters): quantised blocks and per-point path length sums.
let scratchQ = new Int32Array(BLOCK_INTS);
const scratchAcc = new Float64Array(MAX_BLOCK);

function quantisedScratch(ints: number): Int32Array {
  if (scratchQ.length < ints) scratchQ = new Int32Array(ints);
  return scratchQ;
}

/** Points per block for `features` columns: the quantised block fits BLOCK_INTS, a multiple of 8 (the interleave). */
function blockSize(features: number): number {
  return Math.max(MIN_BLOCK, Math.min(MAX_BLOCK, Math.floor(BLOCK_INTS / features))) & ~7;
}

/**
 * Quantises m rows starting at `offset` into q, point-major (q[j * d + f]), pre-shifted: (#thresholds < x) << bits.
 */
function quantise(
  rows: Float64Array, offset: number, m: number, d: number, th: Float32Array, start: Uint32Array, bits: number, q: Int32Array,
): void {
  for (let f = 0; f < d; f++) {
    const lo = start[f] as number;
    const hi = start[f + 1] as number;
    for (let j = 0, k = offset + f, o = f; j < m; j++, k += d, o += d) {
      q[o] = (lowerBound(th, lo, hi, rows[k] as number) - lo) << bits;
    }
  }
}

/**
 * Adds each tree's path length of the m quantised points in q to acc[0, m) in JavaScript (for forests the
 * WebAssembly walk cannot encode). Node indexes are absolute: the children of i in the tree rooted at o are
 * 2i + (1 - o) and 2i + (2 - o).
 */
function walkBlock(
  nodes: Uint16Array | Int32Array, codes: Uint8Array | Uint16Array | Uint32Array, values: Float32Array,
  treeCount: number, depth: number, d: number, fmask: number, q: Int32Array, m: number, acc: Float64Array,
): void {
  const inner = (1 << depth) - 1;
  acc.fill(0, 0, m);
  for (let t = 0; t < treeCount; t++) {
    const o = (t * inner) | 0;
    const c = (1 - o) | 0;
    const leaf = (t - inner) | 0; // bottom slot i (absolute) -> code index i + leaf = t * (inner + 1) + i - o - inner
    for (let j = 0; j < m; j++) {
      const b = (j * d) | 0;
      let i = o;
      for (let s = 0; s < depth; s++) {
        const n = nodes[i] as number;
        i = ((i << 1) + c + ((n - (q[(b + (n & fmask)) | 0] as number)) >>> 31)) | 0;
      }
      acc[j] = (acc[j] as number) + (values[codes[(i + leaf) | 0] as number] as number);
    }
  }
}

/** Batches of at least this many rows are walked in WebAssembly (below, loading the forest costs more than it saves). */
const WASM_MIN_ROWS = 32;
const walker = new WasmWalker();

export class IsolationForest implements ForestModel {
  readonly features: number;
  readonly sampleSize: number;
  readonly treeCount: number;
  readonly depth: number;
  readonly nodes: Uint16Array | Int32Array;
  readonly leafCodes: Uint8Array | Uint16Array | Uint32Array;
  readonly leafValues: Float32Array;
  readonly thresholds: Float32Array;
  readonly thresholdStart: Uint32Array;
  private readonly norm: number;
  private readonly bits: number;

  constructor(model: ForestModel) {
    this.features = model.features;
    this.sampleSize = model.sampleSize;
    this.treeCount = model.treeCount;
    this.depth = model.depth;
    this.nodes = model.nodes;
    this.leafCodes = model.leafCodes;
    this.leafValues = model.leafValues;
    this.thresholds = model.thresholds;
    this.thresholdStart = model.thresholdStart;
    const inner = (1 << this.depth) - 1;
    if (
      this.nodes.length !== this.treeCount * inner ||
      this.leafCodes.length !== this.treeCount * (inner + 1) ||
      this.thresholdStart.length !== this.features + 1
    ) {
      throw new IsolationForestError('forest model arrays do not match its tree count, depth and features');
    }
    this.norm = averagePathLength(this.sampleSize);
    this.bits = featureBits(this.features);
  }

  /** Trains a forest on `rows` (row-major, `features` columns). All values must be finite. */
  static fit(rows: Float64Array, features: number, options: ForestOptions = {}): IsolationForest {
    return new IsolationForest(fitForest(rows, features, options));
  }

  /** Bytes held by the model's arrays (what one fitted forest keeps in memory, object headers aside). */
  get byteSize(): number {
    return this.nodes.byteLength + this.leafCodes.byteLength + this.leafValues.byteLength + this.thresholds.byteLength +
      this.thresholdStart.byteLength;
  }

  /** Path lengths of the bottom slots, decoded (treeCount * 2^depth; a copy, for inspection). */
  get leaves(): Float32Array {
    const out = new Float32Array(this.leafCodes.length);
    for (let i = 0; i < out.length; i++) out[i] = this.leafValues[this.leafCodes[i] as number] as number;
    return out;
  }

  /** Feature tested by heap node `index` (tree-major), or -1 for a padding node. */
  splitFeature(index: number): number {
    const node = this.nodes[index] as number;
    return node >>> this.bits === padIndex(this.features, this.nodes) ? -1 : node & ((1 << this.bits) - 1);
  }

  /**
   * Anomaly scores s(x, n) = 2^(-E[h(x)] / c(n)) in (0, 1) for row-major `rows`; higher = more anomalous.
   * A row with a non-finite value scores NaN (never a made-up number). Pass `out` to avoid allocating.
   */
  score(rows: Float64Array, out?: Float64Array): Float64Array {
    const d = this.features;
    if (rows.length % d !== 0) {
      throw new IsolationForestError(`score: rows.length ${rows.length} is not a multiple of features ${d}`);
    }
    const n = rows.length / d;
    const res = out ?? new Float64Array(n);
    if (res.length < n) throw new IsolationForestError(`score: out has ${res.length} slots for ${n} rows`);
    const scale = -1 / (this.treeCount * this.norm);
    const block = blockSize(d);
    const wasm = n >= WASM_MIN_ROWS && walker.load(this, block);
    const q = quantisedScratch(block * d);
    const acc = wasm ? walker.acc : scratchAcc;
    const fmask = (1 << this.bits) - 1;
    for (let b0 = 0; b0 < n; b0 += block) {
      const m = Math.min(block, n - b0);
      if (wasm) {
        walker.sum(rows, b0 * d, m);
      } else {
        quantise(rows, b0 * d, m, d, this.thresholds, this.thresholdStart, this.bits, q);
        walkBlock(this.nodes, this.leafCodes, this.leafValues, this.treeCount, this.depth, d, fmask, q, m, acc);
      }
      // NaN would quantise to 0 and walk left: report such rows as NaN instead of a made-up score.
      if (wasm) {
        const bad = walker.bad;
        for (let j = 0; j < m; j++) res[b0 + j] = bad[j] === 0 ? Math.pow(2, (acc[j] as number) * scale) : NaN;
      } else {
        for (let j = 0, base = b0 * d; j < m; j++, base += d) {
          let finite = true;
          for (let f = 0; f < d; f++) if (!Number.isFinite(rows[base + f] as number)) finite = false;
          res[b0 + j] = finite ? Math.pow(2, (acc[j] as number) * scale) : NaN;
        }
      }
    }
    return res;
  }

  /** Score of a single row (allocation-free). */
  scoreOne(row: ArrayLike<number>): number {
    const d = this.features;
    const q = quantisedScratch(d);
    const { thresholds, thresholdStart, bits } = this;
    for (let f = 0; f < d; f++) {
      const x = row[f] as number;
      if (!Number.isFinite(x)) return NaN;
      const lo = thresholdStart[f] as number;
      q[f] = (lowerBound(thresholds, lo, thresholdStart[f + 1] as number, x) - lo) << bits;
    }
    const { nodes, leafCodes, leafValues, depth, treeCount } = this;
    const fmask = (1 << bits) - 1;
    const inner = (1 << depth) - 1;
    let sum = 0;
    let t = 0;
    // Four trees at once: independent walks whose loads overlap (a single walk waits on every load in turn).
    for (; t + 4 <= treeCount; t += 4) {
      const o0 = (t * inner) | 0, o1 = (o0 + inner) | 0, o2 = (o1 + inner) | 0, o3 = (o2 + inner) | 0;
      let i0 = o0, i1 = o1, i2 = o2, i3 = o3;
      for (let s = 0; s < depth; s++) {
        const n0 = nodes[i0] as number, n1 = nodes[i1] as number, n2 = nodes[i2] as number, n3 = nodes[i3] as number;
        i0 = ((i0 << 1) + 1 - o0 + ((n0 - (q[n0 & fmask] as number)) >>> 31)) | 0;
        i1 = ((i1 << 1) + 1 - o1 + ((n1 - (q[n1 & fmask] as number)) >>> 31)) | 0;
        i2 = ((i2 << 1) + 1 - o2 + ((n2 - (q[n2 & fmask] as number)) >>> 31)) | 0;
        i3 = ((i3 << 1) + 1 - o3 + ((n3 - (q[n3 & fmask] as number)) >>> 31)) | 0;
      }
      // Bottom slot i of tree t has code index i + t - inner (= t * (inner + 1) + i - o - inner); same summation order.
      sum += leafValues[leafCodes[(i0 + t - inner) | 0] as number] as number;
      sum += leafValues[leafCodes[(i1 + t + 1 - inner) | 0] as number] as number;
      sum += leafValues[leafCodes[(i2 + t + 2 - inner) | 0] as number] as number;
      sum += leafValues[leafCodes[(i3 + t + 3 - inner) | 0] as number] as number;
    }
    for (; t < treeCount; t++) {
      const o = (t * inner) | 0;
      let i = o;
      for (let s = 0; s < depth; s++) {
        const n = nodes[i] as number;
        i = ((i << 1) + 1 - o + ((n - (q[n & fmask] as number)) >>> 31)) | 0;
      }
      sum += leafValues[leafCodes[(i + t - inner) | 0] as number] as number;
    }
    return Math.pow(2, -sum / (treeCount * this.norm));
  }
}
