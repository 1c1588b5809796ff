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
import { averagePathLength } from './path-length.js';
import { Random } from './random.js';
import { WasmWalker } from './wasm-walk.js';

/** Heap layout grows as 2^depth per tree: deeper trees are refused (the default depth is 8). */
export const MAX_DEPTH = 16;
/** Feature ids share a node with the threshold index: up to 4096 features. */
export const MAX_FEATURES = 4096;
/** Quantised values of one block take at most this many int32 (16 KB: the block stays in L1 with the tree). */
const BLOCK_INTS = 4096;
/** Block size bounds (points); blocks are a multiple of the WebAssembly walk's 8-point interleave. */
const MAX_BLOCK = 1024;
const MIN_BLOCK = 16;

export interface ForestOptions {
  /** Number of trees (default 100). */
  trees?: number;
  /** Rows sampled (without replacement) per tree (default 256, capped at the row count). */
  sampleSize?: number;
  /** Tree height limit (default ceil(log2(sampleSize)), at most 16). */
  maxDepth?: number;
  /** PRNG seed; the same rows, options and seed give the same forest (default 1). */
  seed?: number;
}

/** The forest's complete state; what serialisation writes and restores. */
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
    return fitForest(rows, features, options);
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

/**
 * The node type of a forest whose features have at most `perFeatureMax` distinct thresholds each: 16 bits when every
 * threshold index and the padding index above them fit (q ranges over [0, count], so the padding index must exceed
 * every count), else 32; or why none fits.
 */
function nodeLayout(features: number, perFeatureMax: number): { narrow: boolean; pad: number } | string {
  const bits = featureBits(features);
  const narrow = perFeatureMax < (1 << (16 - bits)) - 1;
  const pad = (1 << ((narrow ? 16 : 31) - bits)) - 1;
  if (perFeatureMax >= pad) return `${perFeatureMax} distinct thresholds for one feature exceed the layout limit ${pad}`;
  return { narrow, pad };
}

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

/** Throws with the row and column of the first non-finite value: training data must be clean (see the detector). */
function checkFinite(rows: Float64Array, d: number): void {
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i] as number;
    if (!Number.isFinite(v)) {
      throw new IsolationForestError(
        `fit: row ${Math.floor(i / d)}, feature ${i % d} is ${v}; impute or drop missing values before training`,
      );
    }
  }
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new IsolationForestError(`fit: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  }
}

// Fitting. Trees grow in pre-order into flat scratch arrays (per node: feature or -1 for a leaf, threshold or leaf
// size, heap position), which one linear pass then writes into the heap layout once the forest's thresholds are
// known: no node objects, no per-node allocation, no second tree walk. Everything below is scratch shared by all
// fits (one thread; a fit never re-enters), grown on demand and kept, so a refit allocates only the model's arrays.
/** Rows copied column-major (when that is cheap next to the work of growing): one feature's values sit together. */
let fitColumns = new Float64Array(0);
/** Persistent permutation of the row numbers the samples are drawn from (partial Fisher-Yates). */
let fitRows = new Int32Array(0);
/** A tree's sample as offsets into the row data, partitioned in place node by node. */
let fitSample = new Int32Array(0);
/** The split feature's values of the sample, gathered once per try and partitioned along with fitSample. */
let fitValues = new Float64Array(0);
/** Random feature order of a node (a permutation of 0..d-1, restored after each node) and the swaps made. */
let fitOrder = new Int32Array(0);
let fitPicks = new Int32Array(0);
let growStack = new Int32Array(0);
/** Grown nodes in pre-order: split feature (-1: leaf), threshold (leaf: its size, exact in float32), heap position. */
let grownFeature = new Int32Array(0);
let grownValue = new Float32Array(0);
let grownHeap = new Int32Array(0);
/** The same thresholds' float32 bits (the sort keys), and each split's index among its feature's thresholds. */
let grownValueBits = new Uint32Array(0);
let grownIndex = new Int32Array(0);
/** Radix sort of the splits: keys and node positions (in and out of a pass), byte histograms. */
let sortKeys = new Int32Array(0);
let sortNodes = new Int32Array(0);
let sortKeysOut = new Int32Array(0);
let sortNodesOut = new Int32Array(0);
const radixHistogram = new Uint32Array(4 * 256);
/** Per-feature sorted distinct thresholds, and the heap layout before it takes the model's narrow types. */
let fitThresholds = new Float32Array(0);
let heapScratch = new Int32Array(0);
let slotScratch = new Int32Array(0);
/** Leaf (level, size) -> path length code, for the usual sample sizes (-1: not seen in this fit). */
const LEAF_TABLE = 1 << 14;
const leafTable = new Int32Array(LEAF_TABLE);

function int32Scratch(a: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  return a.length >= size ? a : new Int32Array(Math.max(size, 2 * a.length));
}

interface Grown {
  /** Pre-order nodes of tree t: [starts[t], starts[t + 1]). */
  starts: Uint32Array;
  deepest: number;
}

function fitForest(rows: Float64Array, features: number, options: ForestOptions): IsolationForest {
  checkInt('features', features, 1, MAX_FEATURES);
  if (rows.length % features !== 0) {
    throw new IsolationForestError(`fit: rows.length ${rows.length} is not a multiple of features ${features}`);
  }
  const n = rows.length / features;
  if (n < 2) throw new IsolationForestError(`fit: need at least 2 rows, got ${n}`);
  checkFinite(rows, features);
  const trees = options.trees ?? 100;
  checkInt('trees', trees, 1, 10_000);
  const wanted = options.sampleSize ?? 256;
  checkInt('sampleSize', wanted, 2, 1 << 20);
  const psi = Math.min(wanted, n);
  const maxDepth = options.maxDepth ?? Math.ceil(Math.log2(psi));
  checkInt('maxDepth', maxDepth, 1, MAX_DEPTH);
  const grown = growTrees(rows, features, n, psi, maxDepth, trees, new Random(options.seed ?? 1));
  try {
    return compile(grown, features, psi, trees);
  } finally {
    trimScratch();
  }
}

/** Scratch arrays longer than this are dropped after a fit: a rare huge forest or data set does not pin its memory. */
const KEEP_SCRATCH = 1 << 18;

function trimScratch(): void {
  if (fitRows.length > KEEP_SCRATCH) fitRows = new Int32Array(0);
  if (fitSample.length > KEEP_SCRATCH) {
    fitSample = new Int32Array(0);
    fitValues = new Float64Array(0);
  }
  if (grownFeature.length > KEEP_SCRATCH) {
    grownFeature = new Int32Array(0);
    grownValue = new Float32Array(0);
    grownHeap = new Int32Array(0);
    grownValueBits = new Uint32Array(0);
    grownIndex = new Int32Array(0);
  }
  if (sortKeys.length > KEEP_SCRATCH) {
    sortKeys = new Int32Array(0);
    sortNodes = new Int32Array(0);
    sortKeysOut = new Int32Array(0);
    sortNodesOut = new Int32Array(0);
  }
  if (fitThresholds.length > KEEP_SCRATCH) fitThresholds = new Float32Array(0);
  if (heapScratch.length > KEEP_SCRATCH) heapScratch = new Int32Array(0);
  if (slotScratch.length > KEEP_SCRATCH) slotScratch = new Int32Array(0);
}

/**
 * Grows `trees` trees on samples of psi rows: at each node a random feature that is not constant there, a uniform
 * threshold in [lo, hi) rounded to float32 and kept inside so both sides are non-empty (x <= threshold goes left).
 * The draws from `rng`, and so the forest, depend on the seed alone; the order of the rows inside a node does not
 * matter (only which rows it holds).
 */
function growTrees(
  rows: Float64Array, d: number, n: number, psi: number, maxDepth: number, trees: number, rng: Random,
): Grown {
  // Column-major copy when it costs less than the gathers it speeds up (and stays modest); else read rows in place.
  const transpose = n <= trees * psi && n * d <= 1 << 18;
  let data = rows;
  let rowStride = d; // offset of row i, feature f: i * rowStride + f * featureStride
  let featureStride = 1;
  if (transpose) {
    if (fitColumns.length < n * d) fitColumns = new Float64Array(Math.min(1 << 18, Math.max(n * d, 2 * fitColumns.length)));
    data = fitColumns;
    for (let f = 0; f < d; f++) {
      for (let i = 0, k = f, o = f * n; i < n; i++, k += d, o++) data[o] = rows[k] as number;
    }
    rowStride = 1;
    featureStride = n;
  }
  fitRows = int32Scratch(fitRows, n);
  for (let i = 0; i < n; i++) fitRows[i] = i;
  fitSample = int32Scratch(fitSample, psi);
  if (fitValues.length < psi) fitValues = new Float64Array(Math.max(psi, 2 * fitValues.length));
  fitOrder = int32Scratch(fitOrder, d);
  for (let f = 0; f < d; f++) fitOrder[f] = f;
  fitPicks = int32Scratch(fitPicks, d);
  growStack = int32Scratch(growStack, 3 * (maxDepth + 2));
  const cap = trees * Math.min(2 * psi - 1, (1 << (maxDepth + 1)) - 1);
  if (grownFeature.length < cap) {
    const size = Math.max(cap, 2 * grownFeature.length);
    grownFeature = new Int32Array(size);
    grownValue = new Float32Array(size);
    grownHeap = new Int32Array(size);
    grownValueBits = new Uint32Array(grownValue.buffer);
    grownIndex = new Int32Array(size);
  }
  const starts = new Uint32Array(trees + 1);
  let pos = 0;
  let deepest = 0;

  for (let t = 0; t < trees; t++) {
    starts[t] = pos;
    pos = growTree(data, rowStride, featureStride, d, n, psi, maxDepth, rng, pos);
    if (treeDepth > deepest) deepest = treeDepth;
  }
  starts[trees] = pos;
  return { starts, deepest };
}

/** Height of the tree growTree grew last. */
let treeDepth = 0;

/**
 * Grows one tree into the pre-order scratch from position `pos` (returns the position after it). A function per
 * tree, not one loop over all trees: called 100 times a fit, it is optimised with feedback from every branch
 * (a whole-forest loop is optimised on stack mid-way and then deoptimises after its loop, at every fit).
 */
function growTree(
  data: Float64Array, rowStride: number, featureStride: number, d: number, n: number, psi: number, maxDepth: number,
  rng: Random, first: number,
): number {
  const all = fitRows;
  const idx = fitSample;
  const vals = fitValues;
  const order = fitOrder;
  const picks = fitPicks;
  const stack = growStack;
  const feature = grownFeature;
  const value = grownValue;
  const heap = grownHeap;
  let pos = first;
  let deepest = 0;
  // Sample psi rows without replacement (partial Fisher-Yates over a persistent permutation).
  for (let i = 0; i < psi; i++) {
    const j = i + rng.int(n - i);
    const row = all[j] as number;
    all[j] = all[i] as number;
    all[i] = row;
    idx[i] = row * rowStride;
  }
  let sp = 0;
  let start = 0;
  let end = psi;
  let h = 0;
  let level = 0;
  for (;;) {
    const node = pos++;
    heap[node] = h;
    let mid = -1;
    if (level < maxDepth && end - start > 1) {
      // Features in random order until one is not constant here. `order` is the identity on entry; the swaps
      // are undone below, which draws the same features as reshuffling a fresh identity at every node.
      let tries = 0;
      for (let k = d; k > 0; k--) {
        const pick = rng.int(k);
        const f = order[pick] as number;
        order[pick] = order[k - 1] as number;
        order[k - 1] = f;
        picks[tries++] = pick;
        const base = f * featureStride;
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = start; i < end; i++) {
          const v = data[base + (idx[i] as number)] as number;
          vals[i] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (!(hi > lo)) continue;
        let thr = Math.fround(lo + rng.next() * (hi - lo));
        if (!(thr >= lo && thr < hi)) {
          thr = Math.fround(lo);
          if (!(thr >= lo && thr < hi)) continue; // range below float32 resolution: try another feature
        }
        // Partition in place: rows with value <= thr first.
        let i = start;
        let j = end - 1;
        while (i <= j) {
          if ((vals[i] as number) <= thr) i++;
          else {
            const tmp = idx[i] as number;
            idx[i] = idx[j] as number;
            idx[j] = tmp;
            vals[i] = vals[j] as number;
            j--;
          }
        }
        feature[node] = f;
        value[node] = thr;
        mid = i;
        break;
      }
      for (let k = d - tries + 1, p = tries - 1; p >= 0; k++, p--) {
        // Undo the swaps, last first: swap p was made with k = d - p items left, between pick and k - 1.
        const pick = picks[p] as number;
        const a = order[pick] as number;
        order[pick] = order[k - 1] as number;
        order[k - 1] = a;
      }
    }
    if (mid >= 0) {
      stack[sp] = mid;
      stack[sp + 1] = end;
      stack[sp + 2] = 2 * h + 2;
      sp += 3;
      end = mid;
      h = 2 * h + 1;
      level += 1;
      if (level > deepest) deepest = level;
      continue;
    }
    feature[node] = -1;
    value[node] = end - start;
    if (sp === 0) break;
    sp -= 3;
    start = stack[sp] as number;
    end = stack[sp + 1] as number;
    h = stack[sp + 2] as number;
    level = 31 - Math.clz32(h + 1);
  }
  treeDepth = deepest;
  return pos;
}

/** Writes the grown trees into the quantised heap layout. */
function compile(grown: Grown, features: number, psi: number, trees: number): IsolationForest {
  const { starts } = grown;
  const feature = grownFeature;
  const value = grownValue;
  const valueBits = grownValueBits;
  const heap = grownHeap;
  const index = grownIndex;
  const total = starts[trees] as number;
  // Per-feature sorted distinct thresholds, and each split's index among them: a radix sort of the splits by
  // threshold (float32 bits made order-preserving unsigned keys; LSD, a byte a pass, passes where every key has the
  // same byte skipped), then a stable counting pass by feature.
  let keys = (sortKeys = int32Scratch(sortKeys, total));
  let nodes = (sortNodes = int32Scratch(sortNodes, total));
  let keysOut = (sortKeysOut = int32Scratch(sortKeysOut, total));
  let nodesOut = (sortNodesOut = int32Scratch(sortNodesOut, total));
  const hist = radixHistogram;
  hist.fill(0);
  let splits = 0;
  for (let p = 0; p < total; p++) {
    if ((feature[p] as number) < 0) continue;
    const u = valueBits[p] as number;
    const key = u ^ ((u >> 31) | 0x80000000);
    keys[splits] = key;
    nodes[splits] = p;
    splits++;
    hist[key & 255] = (hist[key & 255] as number) + 1;
    hist[256 + ((key >>> 8) & 255)] = (hist[256 + ((key >>> 8) & 255)] as number) + 1;
    hist[512 + ((key >>> 16) & 255)] = (hist[512 + ((key >>> 16) & 255)] as number) + 1;
    hist[768 + (key >>> 24)] = (hist[768 + (key >>> 24)] as number) + 1;
  }
  for (let pass = 0; pass < 4 && splits > 0; pass++) {
    const shift = 8 * pass;
    const off = 256 * pass;
    if (hist[off + (((keys[0] as number) >>> shift) & 255)] === splits) continue;
    for (let b = 0, sum = 0; b < 256; b++) {
      const c = hist[off + b] as number;
      hist[off + b] = sum;
      sum += c;
    }
    for (let i = 0; i < splits; i++) {
      const key = keys[i] as number;
      const slot = off + ((key >>> shift) & 255);
      const o = hist[slot] as number;
      hist[slot] = o + 1;
      keysOut[o] = key;
      nodesOut[o] = nodes[i] as number;
    }
    const k = keys;
    keys = keysOut;
    keysOut = k;
    const p = nodes;
    nodes = nodesOut;
    nodesOut = p;
  }
  const counts = new Uint32Array(features + 1);
  for (let i = 0; i < splits; i++) {
    const f = feature[nodes[i] as number] as number;
    counts[f + 1] = (counts[f + 1] as number) + 1;
  }
  for (let f = 0; f < features; f++) counts[f + 1] = (counts[f + 1] as number) + (counts[f] as number);
  for (let i = 0; i < splits; i++) {
    const p = nodes[i] as number;
    const f = feature[p] as number;
    const o = counts[f] as number;
    counts[f] = o + 1;
    nodesOut[o] = p;
  }
  // counts[f] is now the end of feature f's splits (= the start of f + 1's).
  if (fitThresholds.length < splits) fitThresholds = new Float32Array(Math.max(splits, 2 * fitThresholds.length));
  const distinct = fitThresholds;
  const thresholdStart = new Uint32Array(features + 1);
  let kept = 0;
  let perFeatureMax = 0;
  for (let f = 0, i = 0; f < features; f++) {
    const first = kept;
    thresholdStart[f] = first;
    for (const end = counts[f] as number; i < end; i++) {
      const p = nodesOut[i] as number;
      const v = value[p] as number;
      if (kept === first || v !== distinct[kept - 1]) distinct[kept++] = v; // -0 and 0 are one threshold
      index[p] = kept - 1 - first;
    }
    perFeatureMax = Math.max(perFeatureMax, kept - first);
  }
  thresholdStart[features] = kept;
  const thresholds = distinct.slice(0, kept);
  const depth = grown.deepest;
  const layout = nodeLayout(features, perFeatureMax);
  if (typeof layout === 'string') throw new IsolationForestError(`fit: ${layout}`);
  const bits = featureBits(features);
  const inner = (1 << depth) - 1;
  const nodeCount = trees * inner;
  const slotCount = trees * (inner + 1);
  const packed = (heapScratch = int32Scratch(heapScratch, nodeCount));
  packed.fill(layout.pad << bits, 0, nodeCount);
  const slots = (slotScratch = int32Scratch(slotScratch, slotCount));
  slots.fill(0, 0, slotCount);
  // Leaves: path length level + c(size), coded by value (float32); a (level, size) table saves the lookups when it fits.
  const codeOf = new Map<number, number>();
  const leafValues: number[] = [];
  const width = psi + 1;
  const table = (depth + 1) * width <= LEAF_TABLE;
  if (table) leafTable.fill(-1, 0, (depth + 1) * width);
  for (let t = 0; t < trees; t++) {
    const base = t * inner;
    const slotBase = t * (inner + 1) - inner - 1;
    const end = starts[t + 1] as number;
    for (let p = starts[t] as number; p < end; p++) {
      const f = feature[p] as number;
      const h = heap[p] as number;
      if (f >= 0) {
        packed[base + h] = ((index[p] as number) << bits) | f;
        continue;
      }
      const level = 31 - Math.clz32(h + 1);
      const size = value[p] as number;
      const key = level * width + size;
      let code = table ? (leafTable[key] as number) : -1;
      if (code < 0) {
        const v = Math.fround(level + averagePathLength(size));
        code = codeOf.get(v) ?? -1;
        if (code < 0) {
          code = leafValues.length;
          leafValues.push(v);
          codeOf.set(v, code);
        }
        if (table) leafTable[key] = code;
      }
      // The leftmost bottom slot below h.
      slots[slotBase + ((h + 1) << (depth - level))] = code;
    }
  }
  const nodesArray = layout.narrow ? new Uint16Array(nodeCount) : new Int32Array(nodeCount);
  nodesArray.set(packed.subarray(0, nodeCount));
  const codes = leafValues.length <= 256 ? new Uint8Array(slotCount) : leafValues.length <= 65536 ? new Uint16Array(slotCount) : new Uint32Array(slotCount);
  codes.set(slots.subarray(0, slotCount));
  return new IsolationForest({
    features, sampleSize: psi, treeCount: trees, depth, nodes: nodesArray, leafCodes: codes,
    leafValues: Float32Array.from(leafValues), thresholds, thresholdStart,
  });
}
