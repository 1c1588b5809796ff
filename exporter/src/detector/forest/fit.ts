// Fitting an Isolation Forest (Liu, Ting & Zhou 2008): trees grown on samples of the rows, written into the heap
// layout of isolation-forest.ts (layout.ts) in one pass.
import { averagePathLength } from './path-length.js';
import { IsolationForestError, MAX_DEPTH, MAX_FEATURES, featureBits, nodeLayout, type ForestModel } from './layout.js';
import { Random } from './random.js';

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

/** Fits a forest (IsolationForest.fit): the model's arrays, validated by the IsolationForest built on them. */
export function fitForest(rows: Float64Array, features: number, options: ForestOptions): ForestModel {
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
function compile(grown: Grown, features: number, psi: number, trees: number): ForestModel {
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
  return {
    features, sampleSize: psi, treeCount: trees, depth, nodes: nodesArray, leafCodes: codes,
    leafValues: Float32Array.from(leafValues), thresholds, thresholdStart,
  };
}
