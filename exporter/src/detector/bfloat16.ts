// bfloat16 (the upper half of a float32: float32's range, 8 bits of mantissa, 0.4 % steps): how the detector keeps
// its training rows (a forest only needs the rows' order along each column).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest bfloat16 (round half to even) of x, as its 16 bits. */
export function toBfloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  // NaN stays NaN (keep a mantissa bit); others round to nearest even on the dropped half.
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBfloat16(h: number): number {
  u32[0] = h << 16;
  return f32[0] as number;
}
