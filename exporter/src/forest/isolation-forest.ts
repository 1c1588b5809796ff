// Isolation Forest (Liu, Ting & Zhou 2008) over row-major Float64Array rows.
//
// Layout, chosen for speed (no node objects, no allocation while scoring):
// - Every tree is stored as a complete binary tree of height `depth` (heap order: children of i are 2i+1, 2i+2) in
//   one Int32Array for the whole forest. A leaf above the bottom is padded with "always go left" nodes, so every
//   point takes exactly `depth` branch-free steps per tree and ends in a bottom slot holding its path length
//   h = depth(leaf) + c(leafSize).
// - Thresholds are not compared as floats: for each feature the forest keeps the sorted list of its thresholds
//   (float32, exact in the serialised form), a node stores the index j of its threshold, and a point is first
//   quantised to q = #thresholds < x. Then x <= t_j  <=>  q <= j, and the step is pure integer arithmetic:
//   i = 2i + 1 + ((j - q) >>> 31). A node packs (j << shift) | feature into one int32.
// - Points are scored in blocks; each tree walks a whole block (4 points interleaved) while it is in cache.
import { averagePathLength } from './path-length.js';
import { Random } from './random.js';

/** Points are quantised and walked through each tree together in blocks of this size. */
const SCORE_BLOCK = 256;
/** Heap layout grows as 2^depth per tree: deeper trees are refused (the default depth is 8). */
export const MAX_DEPTH = 16;
/** Feature ids share an int32 with the threshold index: up to 4096 features. */
export const MAX_FEATURES = 4096;

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
  /** treeCount * (2^depth - 1) packed nodes: (threshold index << shift) | feature. */
  readonly nodes: Int32Array;
  /** treeCount * 2^depth path lengths of the bottom slots. */
  readonly leaves: Float32Array;
  /** Sorted distinct thresholds of feature f: thresholds[thresholdStart[f] .. thresholdStart[f+1]). */
  readonly thresholds: Float32Array;
  readonly thresholdStart: Uint32Array;
}

export class IsolationForestError extends Error {
  override name = 'IsolationForestError';
}

/** Bits used for the feature id in a packed node. */
function featureBits(features: number): number {
  return Math.max(1, Math.ceil(Math.log2(features)));
}

/**
 * A packed node is (thresholdIndex << shift) | (feature << 8): `node & fieldMask` is then directly the offset of
 * the feature's row in the feature-major quantised block of 256 points, so a walk needs no per-point base.
 */
export function featureShift(features: number): number {
  return 8 + featureBits(features);
}

export function featureField(node: number, features: number): number {
  return (node >> 8) & ((1 << featureBits(features)) - 1);
}

/** Threshold index of padding nodes (always go left): larger than any real index. */
export function padIndex(features: number): number {
  return (1 << (30 - featureShift(features))) - 1;
}

function lowerBound(a: Float32Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class IsolationForest implements ForestModel {
  readonly features: number;
  readonly sampleSize: number;
  readonly treeCount: number;
  readonly depth: number;
  readonly nodes: Int32Array;
  readonly leaves: Float32Array;
  readonly thresholds: Float32Array;
  readonly thresholdStart: Uint32Array;
  private readonly norm: number;
  private readonly shift: number;
  private readonly quantised: Int32Array;
  private readonly acc = new Float64Array(SCORE_BLOCK);

  constructor(model: ForestModel) {
    this.features = model.features;
    this.sampleSize = model.sampleSize;
    this.treeCount = model.treeCount;
    this.depth = model.depth;
    this.nodes = model.nodes;
    this.leaves = model.leaves;
    this.thresholds = model.thresholds;
    this.thresholdStart = model.thresholdStart;
    const inner = (1 << this.depth) - 1;
    if (
      this.nodes.length !== this.treeCount * inner ||
      this.leaves.length !== this.treeCount * (inner + 1) ||
      this.thresholdStart.length !== this.features + 1
    ) {
      throw new IsolationForestError('forest model arrays do not match its tree count, depth and features');
    }
    this.norm = averagePathLength(this.sampleSize);
    this.shift = featureShift(this.features);
    this.quantised = new Int32Array(SCORE_BLOCK * this.features);
  }

  /** Trains a forest on `rows` (row-major, `features` columns). All values must be finite. */
  static fit(rows: Float64Array, features: number, options: ForestOptions = {}): IsolationForest {
    return fitForest(rows, features, options);
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
    for (let b0 = 0; b0 < n; b0 += SCORE_BLOCK) {
      const m = Math.min(SCORE_BLOCK, n - b0);
      this.quantise(rows, b0 * d, m);
      this.walkBlock(m);
      const acc = this.acc;
      for (let j = 0, base = b0 * d; j < m; j++, base += d) {
        let finite = true;
        for (let f = 0; f < d; f++) if (!Number.isFinite(rows[base + f] as number)) finite = false;
        // NaN would quantise to 0 and walk left: report such rows as NaN instead of a made-up score.
        res[b0 + j] = finite ? Math.pow(2, (acc[j] as number) * scale) : NaN;
      }
    }
    return res;
  }

  /** Score of a single row (allocation-free). */
  scoreOne(row: ArrayLike<number>): number {
    const d = this.features;
    const q = this.quantised;
    for (let f = 0; f < d; f++) {
      const x = row[f] as number;
      if (!Number.isFinite(x)) return NaN;
      q[f * SCORE_BLOCK] = lowerBound(this.thresholds, this.thresholdStart[f] as number, this.thresholdStart[f + 1] as number, x) -
        (this.thresholdStart[f] as number);
    }
    const { nodes, leaves, depth, treeCount, shift } = this;
    const mask = (1 << shift) - 256;
    const inner = (1 << depth) - 1;
    let sum = 0;
    for (let t = 0; t < treeCount; t++) {
      const o = t * inner;
      let i = 0;
      for (let s = 0; s < depth; s++) {
        const node = nodes[o + i] as number;
        i = 2 * i + 1 + (((node >> shift) - (q[node & mask] as number)) >>> 31);
      }
      sum += leaves[t * (inner + 1) + i - inner] as number;
    }
    return Math.pow(2, -sum / (treeCount * this.norm));
  }

  /** Quantises m rows starting at `offset` into this.quantised (q = #thresholds of the feature below x). */
  private quantise(rows: Float64Array, offset: number, m: number): void {
    const d = this.features;
    const q = this.quantised;
    const th = this.thresholds;
    for (let f = 0; f < d; f++) {
      const lo = this.thresholdStart[f] as number;
      const hi = this.thresholdStart[f + 1] as number;
      const qo = f * SCORE_BLOCK;
      for (let j = 0, k = offset + f; j < m; j++, k += d) q[qo + j] = lowerBound(th, lo, hi, rows[k] as number) - lo;
    }
  }

  /** Sums the path lengths of the m quantised points of the current block over all trees into this.acc. */
  private walkBlock(m: number): void {
    const { nodes, leaves, depth, treeCount, shift, acc } = this;
    const q = this.quantised;
    const mask = (1 << shift) - 256;
    const inner = (1 << depth) - 1;
    acc.fill(0, 0, m);
    const m4 = m - (m % 4);
    for (let t = 0; t < treeCount; t++) {
      const o = t * inner;
      const lo = t * (inner + 1) - inner;
      let j = 0;
      // Four independent walks at once: their loads overlap instead of waiting on each other.
      for (; j < m4; j += 4) {
        let i0 = 0, i1 = 0, i2 = 0, i3 = 0;
        for (let s = 0; s < depth; s++) {
          const n0 = nodes[o + i0] as number, n1 = nodes[o + i1] as number;
          const n2 = nodes[o + i2] as number, n3 = nodes[o + i3] as number;
          i0 = 2 * i0 + 1 + (((n0 >> shift) - (q[(n0 & mask) + j] as number)) >>> 31);
          i1 = 2 * i1 + 1 + (((n1 >> shift) - (q[(n1 & mask) + j + 1] as number)) >>> 31);
          i2 = 2 * i2 + 1 + (((n2 >> shift) - (q[(n2 & mask) + j + 2] as number)) >>> 31);
          i3 = 2 * i3 + 1 + (((n3 >> shift) - (q[(n3 & mask) + j + 3] as number)) >>> 31);
        }
        acc[j] = (acc[j] as number) + (leaves[lo + i0] as number);
        acc[j + 1] = (acc[j + 1] as number) + (leaves[lo + i1] as number);
        acc[j + 2] = (acc[j + 2] as number) + (leaves[lo + i2] as number);
        acc[j + 3] = (acc[j + 3] as number) + (leaves[lo + i3] as number);
      }
      for (; j < m; j++) {
        let i = 0;
        for (let s = 0; s < depth; s++) {
          const node = nodes[o + i] as number;
          i = 2 * i + 1 + (((node >> shift) - (q[(node & mask) + j] as number)) >>> 31);
        }
        acc[j] = (acc[j] as number) + (leaves[lo + i] as number);
      }
    }
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

/** Pre-order trees as grown: per node feature (-1 = leaf), threshold or path length, right-child offset. */
interface GrownTrees {
  feature: Int32Array;
  value: Float32Array;
  skip: Uint32Array;
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
  return compile(grown, features, psi, trees);
}

function growTrees(
  rows: Float64Array, d: number, n: number, psi: number, maxDepth: number, trees: number, rng: Random,
): GrownTrees {
  const cap = trees * Math.min(2 * psi - 1, (1 << (maxDepth + 1)) - 1);
  const feature = new Int32Array(cap);
  const value = new Float32Array(cap);
  const skip = new Uint32Array(cap);
  const starts = new Uint32Array(trees + 1);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const idx = new Uint32Array(psi);
  const order = new Uint32Array(d);
  const stack = new Int32Array(4 * (maxDepth + 2));
  let pos = 0;
  let deepest = 0;

  // Random non-constant feature, uniform threshold in [lo, hi) rounded to float32 and kept inside so both sides
  // are non-empty; partitions idx[start, end) (<= threshold first). Returns the split point or -1 (all duplicates).
  let splitFeature = 0;
  let splitThreshold = 0;
  const split = (start: number, end: number): number => {
    for (let f = 0; f < d; f++) order[f] = f;
    for (let k = d; k > 0; k--) {
      const pick = rng.int(k);
      const f = order[pick] as number;
      order[pick] = order[k - 1] as number;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = start; i < end; i++) {
        const v = rows[(idx[i] as number) * d + f] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(hi > lo)) continue;
      let thr = Math.fround(lo + rng.next() * (hi - lo));
      if (!(thr >= lo && thr < hi)) {
        thr = Math.fround(lo);
        if (!(thr >= lo && thr < hi)) continue; // range below float32 resolution: try another feature
      }
      let i = start;
      let j = end - 1;
      while (i <= j) {
        if ((rows[(idx[i] as number) * d + f] as number) <= thr) i++;
        else {
          const tmp = idx[i] as number;
          idx[i] = idx[j] as number;
          idx[j] = tmp;
          j--;
        }
      }
      splitFeature = f;
      splitThreshold = thr;
      return i;
    }
    return -1;
  };

  for (let t = 0; t < trees; t++) {
    starts[t] = pos;
    // Sample psi rows without replacement (partial Fisher-Yates over a persistent permutation).
    for (let i = 0; i < psi; i++) {
      const j = i + rng.int(n - i);
      const tmp = all[i] as number;
      all[i] = all[j] as number;
      all[j] = tmp;
      idx[i] = all[i] as number;
    }
    let sp = 0;
    let start = 0;
    let end = psi;
    let depth = 0;
    for (;;) {
      const node = pos++;
      const mid = depth < maxDepth && end - start > 1 ? split(start, end) : -1;
      if (mid >= 0) {
        feature[node] = splitFeature;
        value[node] = splitThreshold;
        stack[sp] = mid;
        stack[sp + 1] = end;
        stack[sp + 2] = depth + 1;
        stack[sp + 3] = node;
        sp += 4;
        end = mid;
        depth += 1;
        if (depth > deepest) deepest = depth;
        continue;
      }
      feature[node] = -1;
      value[node] = depth + averagePathLength(end - start);
      if (sp === 0) break;
      sp -= 4;
      start = stack[sp] as number;
      end = stack[sp + 1] as number;
      depth = stack[sp + 2] as number;
      const parent = stack[sp + 3] as number;
      skip[parent] = pos - parent;
    }
  }
  starts[trees] = pos;
  return { feature, value, skip, starts, deepest };
}

/** Turns pre-order trees into the quantised heap layout. */
export function compile(grown: GrownTrees, features: number, psi: number, trees: number): IsolationForest {
  const { feature, value, skip, starts } = grown;
  const total = starts[trees] as number;
  // Per-feature sorted distinct thresholds.
  const counts = new Uint32Array(features + 1);
  for (let i = 0; i < total; i++) {
    const f = feature[i] as number;
    if (f >= 0) counts[f + 1] = (counts[f + 1] as number) + 1;
  }
  for (let f = 0; f < features; f++) counts[f + 1] = (counts[f + 1] as number) + (counts[f] as number);
  const all = new Float32Array(counts[features] as number);
  const fill = counts.slice();
  for (let i = 0; i < total; i++) {
    const f = feature[i] as number;
    if (f >= 0) {
      all[fill[f] as number] = value[i] as number;
      fill[f] = (fill[f] as number) + 1;
    }
  }
  const thresholdStart = new Uint32Array(features + 1);
  const distinct: number[] = [];
  for (let f = 0; f < features; f++) {
    const part = all.subarray(counts[f] as number, counts[f + 1] as number).sort();
    thresholdStart[f] = distinct.length;
    for (let k = 0; k < part.length; k++) if (k === 0 || part[k] !== part[k - 1]) distinct.push(part[k] as number);
  }
  thresholdStart[features] = distinct.length;
  const thresholds = Float32Array.from(distinct);
  const shift = featureShift(features);
  const pad = padIndex(features);
  let perFeatureMax = 0;
  for (let f = 0; f < features; f++) {
    perFeatureMax = Math.max(perFeatureMax, (thresholdStart[f + 1] as number) - (thresholdStart[f] as number));
  }
  if (perFeatureMax >= pad) {
    throw new IsolationForestError(`fit: ${perFeatureMax} distinct thresholds for one feature exceed the layout limit ${pad}`);
  }
  const depth = grown.deepest;
  const inner = (1 << depth) - 1;
  const nodes = new Int32Array(trees * inner).fill((pad << shift) | 0);
  const leaves = new Float32Array(trees * (inner + 1));
  // Walk each tree; a leaf at depth k < depth sits at the leftmost bottom slot below its heap position.
  const stack: number[] = [];
  for (let t = 0; t < trees; t++) {
    const o = t * inner;
    const lo = t * (inner + 1);
    stack.push(starts[t] as number, 0, 0);
    while (stack.length > 0) {
      const lvl = stack.pop() as number;
      const h = stack.pop() as number;
      const pre = stack.pop() as number;
      const f = feature[pre] as number;
      if (f < 0) {
        let slot = h;
        for (let k = lvl; k < depth; k++) slot = 2 * slot + 1;
        leaves[lo + slot - inner] = value[pre] as number;
        continue;
      }
      const a = thresholdStart[f] as number;
      const j = lowerBound(thresholds, a, thresholdStart[f + 1] as number, value[pre] as number) - a;
      nodes[o + h] = (j << shift) | (f << 8);
      stack.push(pre + 1, 2 * h + 1, lvl + 1, pre + (skip[pre] as number), 2 * h + 2, lvl + 1);
    }
  }
  return new IsolationForest({
    features, sampleSize: psi, treeCount: trees, depth, nodes, leaves, thresholds, thresholdStart,
  });
}
