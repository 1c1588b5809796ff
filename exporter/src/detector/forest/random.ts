// A small, fast, seedable PRNG (sfc32 seeded through splitmix32) so that a forest is reproducible for a seed.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Deterministic uniform generator: `next()` in [0, 1), `int(n)` in [0, n). */
export class Random {
  /** sfc32 state a, b, c, d: int32 slots (as object fields they would be boxed doubles past the small-integer range). */
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    const st = { s: seed | 0 };
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(st);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const s = this.s;
    const a = s[0] as number;
    const b = s[1] as number;
    const c = s[2] as number;
    const d = s[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    s[3] = (d + 1) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
