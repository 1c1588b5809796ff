// The batch tree walk as a small WebAssembly module, generated here byte by byte (no toolchain, no binary blob).
// Why: the walk is ~800 dependent integer steps per point; V8 compiles the same loop in JavaScript with a bounds
// check, a map check, an array-buffer-detached check (once any buffer in the process was transferred, as tsx does)
// and register spills around every typed array access (~480k points/s at d = 4 at best), while WebAssembly memory
// accesses need no checks (guard pages): the fixed-depth walk, unrolled at generation time (one module per depth
// and feature mask), takes 8 instructions per step plus spills, and eight interleaved walks hide the load latency
// (~2x the JavaScript figure here).
//
// The forest is copied into one shared linear memory before a batch (and kept there while the same forest scores
// again), re-encoded for the walk:
// - nodes: int32 (j << (b + s)) | (feature << s), b = featureBits, s = log2(4 * LANES): `node & fmask` (an
//   immediate) is the byte offset of the feature in a group's quantised block; padding nodes get a threshold
//   index above every quantised value;
// - bottom slots: their path length as float64 (decoded from the forest's leaf codes);
// - thresholds (float32) and per-feature starts, for the quantisation (a branch-free binary search);
// - one block of rows (float64) and its quantised values, LANES points a group, lane-interleaved: int32 at byte
//   4 * LANES * (group * d + feature) + 4 * lane, holding (#thresholds < x) << (b + s); the lane is the load's
//   constant offset, so all walks of a group share one base.
// Node positions are absolute byte addresses: the children of the node at byte a of the tree whose root is at byte
// R are at 2a + 4 - R and 2a + 8 - R; a point ends at a bottom slot whose path length sits at 2a + K (K per tree).

const I32 = 0x7f;
const F64 = 0x7c;
const op = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  get: 0x20, set: 0x21, tee: 0x22,
  select: 0x1b,
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Load8U: 0x2d, i32Store: 0x36, f64Store: 0x39, i32Store8: 0x3a,
  i32Const: 0x41, i32Eqz: 0x45, i32LtU: 0x49, i32GeU: 0x4f, f64Eq: 0x61, f64Lt: 0x63, f64PromoteF32: 0xbb,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72, i32Shl: 0x74, i32ShrU: 0x76,
  f64Add: 0xa0, f64Sub: 0xa1,
} as const;
const VOID = 0x40;

function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Parameters, then locals, of the walk function.
const P = { trees: 0, groups: 1, nodes: 2, leaves: 3, q: 4, acc: 5, gstride: 6, inner: 7 } as const;
const PARAMS = 8;
/** Points walked together (interleaved), and log2 of the bytes of one quantised feature of a group. */
export const LANES = 8;
const LANE_SHIFT = Math.log2(4 * LANES);
const L = { t: 8, g: 9, root: 10, c: 11, k: 12, gb: 13, ab: 14, i0: 15, n0: 15 + LANES } as const;
const LOCALS = 7 + 2 * LANES;

/**
 * walk(trees, groups, nodes, leaves, q, acc, gstride, inner): for every tree, walks every group of LANES quantised
 * points `depth` levels and adds the bottom slot's path length to acc (float64 per point).
 */
function walkBody(depth: number, fmask: number): number[] {
  const c: number[] = [];
  const get = (i: number): void => void c.push(op.get, i);
  const set = (i: number): void => void c.push(op.set, i);
  const i32 = (v: number): void => void c.push(op.i32Const, ...sleb(v));
  const mem = (code: number, align: number, offset: number): void => void c.push(code, align, ...uleb(offset));

  // t = 0 (locals start at zero); loop over trees.
  c.push(op.block, VOID, op.loop, VOID);
  get(L.t); get(P.trees); c.push(op.i32GeU, op.brIf, 1);
  // root = nodes + 4 t inner; c = 4 - root; k = leaves + 8 t (inner + 1) - 2 root - 8 inner
  get(P.nodes); get(L.t); get(P.inner); c.push(op.i32Mul); i32(2); c.push(op.i32Shl, op.i32Add); set(L.root);
  i32(4); get(L.root); c.push(op.i32Sub); set(L.c);
  get(P.leaves); get(L.t); get(P.inner); i32(1); c.push(op.i32Add, op.i32Mul); i32(3); c.push(op.i32Shl, op.i32Add);
  get(L.root); i32(1); c.push(op.i32Shl, op.i32Sub); get(P.inner); i32(3); c.push(op.i32Shl, op.i32Sub); set(L.k);
  // g = 0; gb = q; ab = acc; loop over groups.
  i32(0); set(L.g); get(P.q); set(L.gb); get(P.acc); set(L.ab);
  c.push(op.block, VOID, op.loop, VOID);
  get(L.g); get(P.groups); c.push(op.i32GeU, op.brIf, 1);
  for (let l = 0; l < LANES; l++) { get(L.root); set(L.i0 + l); }
  for (let s = 0; s < depth; s++) {
    for (let l = 0; l < LANES; l++) {
      // n = node at i; i = 2 i + c + (((n - q[gb + (n & fmask) + 4 lane]) >>> 31) << 2)
      get(L.i0 + l); mem(op.i32Load, 2, 0); set(L.n0 + l);
      get(L.i0 + l); i32(1); c.push(op.i32Shl); get(L.c); c.push(op.i32Add);
      get(L.n0 + l);
      get(L.gb); get(L.n0 + l); i32(fmask); c.push(op.i32And, op.i32Add); mem(op.i32Load, 2, 4 * l);
      c.push(op.i32Sub); i32(31); c.push(op.i32ShrU); i32(2); c.push(op.i32Shl, op.i32Add);
      set(L.i0 + l);
    }
  }
  for (let l = 0; l < LANES; l++) {
    // acc[ab + 8 lane] += f64 at 2 i + k
    get(L.ab);
    get(L.ab); mem(op.f64Load, 3, 8 * l);
    get(L.i0 + l); i32(1); c.push(op.i32Shl); get(L.k); c.push(op.i32Add); mem(op.f64Load, 3, 0);
    c.push(op.f64Add); mem(op.f64Store, 3, 8 * l);
  }
  get(L.g); i32(1); c.push(op.i32Add); set(L.g);
  get(L.gb); get(P.gstride); c.push(op.i32Add); set(L.gb);
  get(L.ab); i32(8 * LANES); c.push(op.i32Add); set(L.ab);
  c.push(op.br, 0, op.end, op.end);
  get(L.t); i32(1); c.push(op.i32Add); set(L.t);
  c.push(op.br, 0, op.end, op.end);
  c.push(op.end);
  return c;
}

// Parameters, then locals, of the quantise function.
const QP = { m: 0, d: 1, rows: 2, th: 3, starts: 4, q: 5, shift: 6, bad: 7 } as const;
const QL = { f: 8, j: 9, lo: 10, n: 11, base0: 12, xp: 13, b: 14, len: 15, half: 16, x: 17, x2: 18 } as const;
const QPARAMS = 8;

/**
 * quantise(m, d, rows, th, starts, q, shift, bad): for the m float64 rows (d columns) at `rows`, q = #thresholds < x
 * of each feature (branch-free binary search over its sorted float32 thresholds), stored lane-interleaved, << shift;
 * the byte bad[j] becomes 1 if row j holds a non-finite value (x - x is then NaN).
 */
function quantiseBody(): number[] {
  const c: number[] = [];
  const get = (i: number): void => void c.push(op.get, i);
  const set = (i: number): void => void c.push(op.set, i);
  const i32 = (v: number): void => void c.push(op.i32Const, ...sleb(v));
  const mem = (code: number, align: number, offset: number): void => void c.push(code, align, ...uleb(offset));
  c.push(op.block, VOID, op.loop, VOID);
  get(QL.f); get(QP.d); c.push(op.i32GeU, op.brIf, 1);
  get(QP.starts); get(QL.f); i32(2); c.push(op.i32Shl, op.i32Add, op.tee, QL.b); mem(op.i32Load, 2, 0); set(QL.lo);
  get(QL.b); mem(op.i32Load, 2, 4); get(QL.lo); c.push(op.i32Sub); set(QL.n);
  get(QP.th); get(QL.lo); i32(2); c.push(op.i32Shl, op.i32Add); set(QL.base0);
  get(QP.rows); get(QL.f); i32(3); c.push(op.i32Shl, op.i32Add); set(QL.xp);
  i32(0); set(QL.j);
  c.push(op.block, VOID, op.loop, VOID);
  get(QL.j); get(QP.m); c.push(op.i32GeU, op.brIf, 1);
  get(QL.xp); mem(op.f64Load, 3, 0); set(QL.x);
  get(QP.bad); get(QL.j); c.push(op.i32Add);
  get(QP.bad); get(QL.j); c.push(op.i32Add); mem(op.i32Load8U, 0, 0);
  get(QL.x); get(QL.x); c.push(op.f64Sub, op.tee, QL.x2); get(QL.x2); c.push(op.f64Eq, op.i32Eqz, op.i32Or);
  mem(op.i32Store8, 0, 0);
  get(QL.base0); set(QL.b); get(QL.n); set(QL.len);
  c.push(op.block, VOID);
  get(QL.len); c.push(op.i32Eqz, op.brIf, 0);
  c.push(op.block, VOID, op.loop, VOID);
  get(QL.len); i32(2); c.push(op.i32LtU, op.brIf, 1);
  get(QL.len); i32(1); c.push(op.i32ShrU); set(QL.half);
  // b = th[b + half] < x ? b + half : b
  get(QL.b); get(QL.half); i32(2); c.push(op.i32Shl, op.i32Add);
  get(QL.b);
  get(QL.b); get(QL.half); i32(2); c.push(op.i32Shl, op.i32Add); mem(op.f32Load, 2, 0); c.push(op.f64PromoteF32);
  get(QL.x); c.push(op.f64Lt, op.select); set(QL.b);
  get(QL.len); get(QL.half); c.push(op.i32Sub); set(QL.len);
  c.push(op.br, 0, op.end, op.end);
  get(QL.b); get(QL.b); mem(op.f32Load, 2, 0); c.push(op.f64PromoteF32); get(QL.x); c.push(op.f64Lt); i32(2); c.push(op.i32Shl, op.i32Add);
  set(QL.b);
  c.push(op.end);
  // q + 16 ((j >> 2) d + f) + 4 (j & 3)  <-  ((b - base0) >> 2) << shift
  get(QP.q); get(QL.j); i32(Math.log2(LANES)); c.push(op.i32ShrU); get(QP.d); c.push(op.i32Mul); get(QL.f); c.push(op.i32Add);
  i32(LANE_SHIFT); c.push(op.i32Shl, op.i32Add); get(QL.j); i32(LANES - 1); c.push(op.i32And); i32(2); c.push(op.i32Shl, op.i32Add);
  get(QL.b); get(QL.base0); c.push(op.i32Sub); i32(2); c.push(op.i32ShrU); get(QP.shift); c.push(op.i32Shl);
  mem(op.i32Store, 2, 0);
  get(QL.xp); get(QP.d); i32(3); c.push(op.i32Shl, op.i32Add); set(QL.xp);
  get(QL.j); i32(1); c.push(op.i32Add); set(QL.j);
  c.push(op.br, 0, op.end, op.end);
  get(QL.f); i32(1); c.push(op.i32Add); set(QL.f);
  c.push(op.br, 0, op.end, op.end);
  c.push(op.end);
  return c;
}

function walkModule(depth: number, fmask: number): Uint8Array {
  const walkType = [0x60, ...vec(Array.from({ length: PARAMS }, () => [I32])), ...vec([])];
  const quantiseType = [0x60, ...vec(Array.from({ length: QPARAMS }, () => [I32])), ...vec([])];
  const walk = [...vec([[...uleb(LOCALS), I32]]), ...walkBody(depth, fmask)];
  const quantise = [...vec([[...uleb(9), I32], [...uleb(2), F64]]), ...quantiseBody()];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([walkType, quantiseType])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name('walk'), 0x00, 0], [...name('quantise'), 0x00, 1]])),
    ...section(10, vec([[...uleb(walk.length), ...walk], [...uleb(quantise.length), ...quantise]])),
  ];
  return Uint8Array.from(bytes);
}

type WalkFn = (
  trees: number, groups: number, nodes: number, leaves: number, q: number, acc: number, gstride: number, inner: number,
) => void;
type QuantiseFn = (m: number, d: number, rows: number, th: number, starts: number, q: number, shift: number, bad: number) => void;
interface Exports {
  walk: WalkFn;
  quantise: QuantiseFn;
}

// The few WebAssembly JS API members used here (Node's types declare the namespace without them, lib has no DOM).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}
// Absent under `node --jitless`: every batch then walks in JavaScript.
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
const modules = new Map<string, object>();

/** What the walk needs of a forest (a structural subset of ForestModel). */
export interface WalkableForest {
  readonly features: number;
  readonly treeCount: number;
  readonly depth: number;
  readonly nodes: Uint16Array | Int32Array;
  readonly leafCodes: Uint8Array | Uint16Array | Uint32Array;
  readonly leafValues: Float32Array;
  readonly thresholds: Float32Array;
  readonly thresholdStart: Uint32Array;
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * One linear memory (replaced, never grown: growing would detach its buffer, which makes V8 add a detached check
 * to every typed array access in the process) holding the forest loaded last, one block of rows, its quantised
 * values and its sums.
 */
export class WasmWalker {
  private memory: WasmMemory | undefined;
  private instances = new Map<string, Exports>();
  private loaded: WalkableForest | undefined;
  private block = 0;
  private leavesAt = 0;
  private thAt = 0;
  private startsAt = 0;
  private rowsAt = 0;
  private qAt = 0;
  private accAt = 0;
  private shift = 0;
  private fmask = 0;
  private rows = new Float64Array(0);
  private q = new Int32Array(0);
  /** Per-point sums of the last `walk` (valid after `load`). */
  acc = new Float64Array(0);
  /** Per-point flags of the last `sum`: 1 if the row holds a non-finite value (valid after `load`). */
  bad = new Uint8Array(0);
  private badAt = 0;

  /**
   * Loads `forest` for blocks of up to `block` points (a multiple of 4); false if its threshold indexes do not fit
   * the walk's encoding (the caller then walks in JavaScript).
   */
  load(forest: WalkableForest, block: number): boolean {
    if (this.loaded === forest && this.block >= block) return true;
    if (wasmApi === undefined) return false;
    const d = forest.features;
    const bits = Math.ceil(Math.log2(d));
    const shift = bits + LANE_SHIFT;
    let maxCount = 0;
    for (let f = 0; f < d; f++) {
      maxCount = Math.max(maxCount, (forest.thresholdStart[f + 1] as number) - (forest.thresholdStart[f] as number));
    }
    const padW = (1 << (31 - shift)) - 1;
    if (maxCount >= padW) return false;
    const inner = (1 << forest.depth) - 1;
    const leavesAt = align8(forest.treeCount * inner * 4);
    const thAt = leavesAt + forest.treeCount * (inner + 1) * 8;
    const startsAt = thAt + forest.thresholds.length * 4;
    const rowsAt = align8(startsAt + (d + 1) * 4);
    const qAt = rowsAt + block * d * 8;
    const accAt = qAt + block * d * 4;
    const badAt = accAt + block * 8;
    const need = badAt + block;
    if (this.memory === undefined || this.memory.buffer.byteLength < need) {
      const pages = Math.ceil(Math.max(need, 1 << 20) / PAGE);
      this.memory = new wasmApi.Memory({ initial: pages, maximum: pages });
      this.instances.clear();
    }
    const buf = this.memory.buffer;
    const nodes = new Int32Array(buf, 0, forest.treeCount * inner);
    const fbits = (1 << bits) - 1;
    const pad = (1 << ((forest.nodes instanceof Uint16Array ? 16 : 31) - bits)) - 1;
    for (let i = 0; i < nodes.length; i++) {
      const n = forest.nodes[i] as number;
      const j = n >>> bits;
      nodes[i] = ((j === pad ? padW : j) << shift) | ((n & fbits) << LANE_SHIFT);
    }
    const leaves = new Float64Array(buf, leavesAt, forest.treeCount * (inner + 1));
    for (let i = 0; i < leaves.length; i++) leaves[i] = forest.leafValues[forest.leafCodes[i] as number] as number;
    new Float32Array(buf, thAt, forest.thresholds.length).set(forest.thresholds);
    new Uint32Array(buf, startsAt, d + 1).set(forest.thresholdStart);
    this.rows = new Float64Array(buf, rowsAt, block * d);
    this.q = new Int32Array(buf, qAt, block * d);
    this.acc = new Float64Array(buf, accAt, block);
    this.bad = new Uint8Array(buf, badAt, block);
    Object.assign(this, { block, leavesAt, thAt, startsAt, rowsAt, qAt, accAt, badAt, shift, fmask: fbits << LANE_SHIFT, loaded: forest });
    return true;
  }

  private exports(depth: number): Exports {
    const key = `${depth}/${this.fmask}`;
    let e = this.instances.get(key);
    if (e === undefined) {
      let mod = modules.get(key);
      if (mod === undefined) {
        mod = new (wasmApi as WasmApi).Module(walkModule(depth, this.fmask));
        modules.set(key, mod);
      }
      e = new (wasmApi as WasmApi).Instance(mod, { env: { memory: this.memory as WasmMemory } }).exports as unknown as Exports;
      this.instances.set(key, e);
    }
    return e;
  }

  /** Path length sums over the loaded forest's trees of rows[offset, offset + m * d) (m <= block) into `acc`. */
  sum(rows: Float64Array, offset: number, m: number): void {
    const f = this.loaded as WalkableForest;
    const d = f.features;
    const e = this.exports(f.depth);
    this.rows.set(rows.subarray(offset, offset + m * d));
    this.bad.fill(0, 0, m);
    e.quantise(m, d, this.rowsAt, this.thAt, this.startsAt, this.qAt, this.shift, this.badAt);
    const groups = Math.ceil(m / LANES);
    for (let j = m; j < groups * LANES; j++) {
      for (let k = 0; k < d; k++) this.q[(Math.floor(j / LANES) * d + k) * LANES + (j % LANES)] = 0;
    }
    this.acc.fill(0, 0, groups * LANES);
    e.walk(f.treeCount, groups, 0, this.leavesAt, this.qAt, this.accAt, 4 * LANES * d, (1 << f.depth) - 1);
  }
}
