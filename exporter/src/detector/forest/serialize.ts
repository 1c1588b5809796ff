// Compact, versioned binary form of an IsolationForest. Trees are written in pre-order with varint feature and
// threshold indexes and the leaf's sample count (its path length is recomputed exactly), so a 100 x 256 forest
// takes roughly 60 KB and restores bit-identical.
import { BinaryReader, BinaryWriter } from './binary.js';
import { HeapBuilder } from './heap-builder.js';
import type { IsolationForest } from './isolation-forest.js';
import { featureBits, MAX_DEPTH, MAX_FEATURES, padIndex } from './layout.js';
import { averagePathLength } from './path-length.js';

const MAGIC = 0x46494853; // "SHIF"
const VERSION = 1;

/** The leaf size n whose stored path length fround(level + c(n)) equals v. */
function leafSize(v: number, level: number, psi: number): number {
  let lo = 1;
  let hi = psi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Math.fround(level + averagePathLength(mid)) < v) lo = mid + 1;
    else hi = mid;
  }
  if (Math.fround(level + averagePathLength(lo)) !== v) throw new Error(`forest: leaf value ${v} at level ${level} is not a path length`);
  return lo;
}

export function writeForest(w: BinaryWriter, f: IsolationForest): void {
  w.u32(MAGIC);
  w.u8(VERSION);
  w.varint(f.features);
  w.varint(f.sampleSize);
  w.varint(f.treeCount);
  w.u8(f.depth);
  for (let k = 0; k < f.features; k++) w.varint((f.thresholdStart[k + 1] as number) - (f.thresholdStart[k] as number));
  for (let i = 0; i < f.thresholds.length; i++) w.f32(f.thresholds[i] as number);
  const bits = featureBits(f.features);
  const pad = padIndex(f.features, f.nodes);
  const inner = (1 << f.depth) - 1;
  const stack: number[] = [];
  for (let t = 0; t < f.treeCount; t++) {
    stack.push(0, 0);
    while (stack.length > 0) {
      const level = stack.pop() as number;
      const h = stack.pop() as number;
      const node = level < f.depth ? (f.nodes[t * inner + h] as number) : pad << bits;
      if (node >>> bits === pad) {
        let slot = h;
        for (let k = level; k < f.depth; k++) slot = 2 * slot + 1;
        const value = f.leafValues[f.leafCodes[t * (inner + 1) + slot - inner] as number] as number;
        w.varint(0);
        w.varint(leafSize(value, level, f.sampleSize));
        continue;
      }
      w.varint((node & ((1 << bits) - 1)) + 1);
      w.varint(node >>> bits);
      stack.push(2 * h + 2, level + 1, 2 * h + 1, level + 1); // left popped first: pre-order
    }
  }
}

export function readForest(r: BinaryReader): IsolationForest {
  if (r.u32() !== MAGIC) r.fail('not an isolation forest (bad magic)');
  const version = r.u8();
  if (version !== VERSION) r.fail(`unsupported forest format version ${version} (this build reads ${VERSION})`);
  const features = r.length(MAX_FEATURES, 'features');
  const sampleSize = r.length(1 << 20, 'sampleSize');
  const treeCount = r.length(10_000, 'treeCount');
  const depth = r.u8();
  if (features < 1 || sampleSize < 1 || treeCount < 1 || depth > MAX_DEPTH) r.fail('bad forest header');
  const thresholdStart = new Uint32Array(features + 1);
  for (let k = 0; k < features; k++) thresholdStart[k + 1] = (thresholdStart[k] as number) + r.length(1 << 24, 'threshold count');
  const thresholds = new Float32Array(thresholdStart[features] as number);
  for (let i = 0; i < thresholds.length; i++) thresholds[i] = r.f32();
  let builder: HeapBuilder;
  try {
    builder = new HeapBuilder(features, treeCount, depth, thresholdStart);
  } catch (e) {
    r.fail((e as Error).message);
  }
  const stack: number[] = [];
  for (let t = 0; t < treeCount; t++) {
    stack.push(0, 0);
    while (stack.length > 0) {
      const level = stack.pop() as number;
      const h = stack.pop() as number;
      const tag = r.varint();
      if (tag === 0) {
        builder.leaf(t, h, level, level + averagePathLength(r.length(sampleSize, 'leaf size')));
        continue;
      }
      const feature = tag - 1;
      const j = r.varint();
      if (level >= depth || feature >= features || j >= (thresholdStart[feature + 1] as number) - (thresholdStart[feature] as number)) {
        r.fail(`bad node in tree ${t}`);
      }
      builder.split(t, h, feature, j);
      stack.push(2 * h + 2, level + 1, 2 * h + 1, level + 1);
    }
  }
  return builder.finish(sampleSize, thresholds);
}

export function serializeForest(f: IsolationForest): Uint8Array {
  const w = new BinaryWriter();
  writeForest(w, f);
  return w.finish();
}

export function restoreForest(bytes: Uint8Array): IsolationForest {
  const r = new BinaryReader(bytes, 'isolation forest');
  const f = readForest(r);
  if (!r.done) r.fail('trailing bytes after the forest');
  return f;
}
