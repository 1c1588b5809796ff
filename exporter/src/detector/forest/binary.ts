// Little-endian binary writer/reader for the compact, versioned model and detector state formats.

export class BinaryFormatError extends Error {
  override name = 'BinaryFormatError';
}

export class BinaryWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Unsigned LEB128 (values up to 2^53). */
  varint(v: number): void {
    let x = v;
    while (x >= 0x80) {
      this.u8((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.u8(x);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    this.bytes(new TextEncoder().encode(s));
  }

  f64Array(a: ArrayLike<number>): void {
    this.varint(a.length);
    for (let i = 0; i < a.length; i++) this.f64(a[i] as number);
  }

  f32Array(a: ArrayLike<number>): void {
    this.varint(a.length);
    for (let i = 0; i < a.length; i++) this.f32(a[i] as number);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class BinaryReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new BinaryFormatError(`${this.what}: truncated at byte ${this.pos} (need ${n} more of ${this.buf.length})`);
    }
  }

  get offset(): number {
    return this.pos;
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 8; k++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new BinaryFormatError(`${this.what}: bad varint at byte ${this.pos}`);
  }

  /** A length read from the input, checked against a sane upper bound before anything is allocated. */
  length(max: number, name: string): number {
    const n = this.varint();
    if (n > max) throw new BinaryFormatError(`${this.what}: ${name} ${n} exceeds the limit ${max}`);
    return n;
  }

  bytes(max = 1 << 28): Uint8Array {
    const n = this.length(max, 'byte length');
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(max = 1 << 16): string {
    return new TextDecoder().decode(this.bytes(max));
  }

  f64Array(max = 1 << 24): Float64Array {
    const n = this.length(max, 'array length');
    this.need(8 * n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.f64();
    return out;
  }

  f32Array(max = 1 << 24): Float32Array {
    const n = this.length(max, 'array length');
    this.need(4 * n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.f32();
    return out;
  }

  fail(message: string): never {
    throw new BinaryFormatError(`${this.what}: ${message} (at byte ${this.pos})`);
  }
}
