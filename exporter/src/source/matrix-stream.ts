// An incremental scanner for Prometheus's query_range answer: fed the HTTP body chunk by chunk as it arrives,
// it writes the points straight into typed arrays, so the raw answer (tens of MiB at 10,000 series) is never held
// as a whole, nor copied into one buffer and one string. Like parseMatrixFast it accepts exactly the layout
// Prometheus writes; anything else makes write() return false and the caller reads the answer the generic way.
import type { Labels, RangeSeries } from './types.js';
import { parseSampleValue } from './matrix-parser.js';

const PREFIX = Buffer.from('{"status":"success","data":{"resultType":"matrix","result":[', 'latin1');
const METRIC = Buffer.from('{"metric":', 'latin1');
const VALUES = Buffer.from(',"values":[', 'latin1');

/** Exact powers of ten (10^22 is the largest exactly representable one). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const enum State {
  Prefix,
  SeriesStart,
  Metric,
  Values,
  FirstPoint,
  Point,
  SeriesEnd,
  Done,
  Failed,
}

/**
 * The number in bytes [start, end): digits with an optional sign and fraction, no exponent (Go's 'f' format, what
 * Prometheus writes). Up to 15 significant digits it is an exact integer divided by an exact power of ten, which
 * IEEE division rounds correctly, i.e. exactly what Number() returns; anything else goes through Number().
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buf[i] === 45 /* - */) {
    negative = true;
    i++;
  } else if (buf[i] === 43 /* + */) i++;
  let mantissa = 0;
  let significant = 0;
  let fraction = 0;
  let digits = 0;
  let dot = false;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c >= 48 && c <= 57) {
      digits++;
      if (mantissa !== 0 || c !== 48) significant++;
      mantissa = mantissa * 10 + (c - 48);
      if (dot) fraction++;
    } else if (c === 46 /* . */ && !dot) dot = true;
    else break;
  }
  if (i === end && digits > 0 && significant <= 15 && fraction <= 22) {
    const value = fraction === 0 ? mantissa : mantissa / (POW10[fraction] as number);
    return negative ? -value : value;
  }
  return parseSampleValue(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'));
}

/** The end (exclusive) of the flat JSON object starting at `start`, -1 if incomplete, -2 if not a flat object. */
function objectEnd(buf: Uint8Array, start: number, limit: number): number {
  let inString = false;
  for (let i = start + 1; i < limit; i++) {
    const c = buf[i] as number;
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 125 /* } */) return i + 1;
    else if (c === 123 /* { */) return -2; // nested objects are not part of a series' metric
  }
  return -1;
}

function startsWith(buf: Uint8Array, pos: number, limit: number, token: Uint8Array): boolean | undefined {
  const n = Math.min(token.length, limit - pos);
  for (let k = 0; k < n; k++) if (buf[pos + k] !== token[k]) return false;
  return n === token.length ? true : undefined;
}

function indexOf(buf: Uint8Array, byte: number, from: number, limit: number): number {
  for (let i = from; i < limit; i++) if (buf[i] === byte) return i;
  return -1;
}

export class MatrixStreamParser {
  private state = State.Prefix;
  /** Bytes of a token cut by a chunk boundary, completed by the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  private readonly series: RangeSeries[] = [];
  private metric: Labels = {};
  private timestamps = new Float64Array(0);
  private values = new Float64Array(0);
  private points = 0;
  private envelope = false;

  /** @param expectedPoints points per series the answer should have (the chunk's steps): sizes the arrays. */
  constructor(private readonly expectedPoints: number) {}

  /** True once the envelope has been recognised (before that, a failure means "not the usual layout at all"). */
  get recognised(): boolean {
    return this.envelope;
  }

  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** Feeds the next bytes of the body; false once the answer is known not to have Prometheus's usual layout. */
  write(chunk: Uint8Array): boolean {
    if (this.state === State.Failed) return false;
    if (this.state === State.Done) return true;
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const used = this.scan(buf);
    const state = this.state as State;
    this.carry = used < buf.length && state !== State.Done && state !== State.Failed ? Buffer.from(buf.subarray(used)) : Buffer.alloc(0);
    return state !== State.Failed;
  }

  /** After the last chunk: the series, or undefined when the answer was incomplete or not in the usual layout. */
  end(): RangeSeries[] | undefined {
    return this.state === State.Done ? this.series : undefined;
  }

  /** Scans complete tokens of buf; returns the bytes consumed (the rest waits for more). */
  private scan(buf: Uint8Array): number {
    const limit = buf.length;
    let pos = 0;
    const fail = (): number => {
      this.state = State.Failed;
      return pos;
    };
    for (;;) {
      switch (this.state) {
        case State.Prefix: {
          const ok = startsWith(buf, pos, limit, PREFIX);
          if (ok === undefined) return pos;
          if (!ok) return fail();
          pos += PREFIX.length;
          this.envelope = true;
          this.state = State.SeriesStart;
          break;
        }
        case State.SeriesStart: {
          if (pos >= limit) return pos;
          const c = buf[pos];
          // What follows the result array (warnings, infos) is not needed.
          if (c === 93 /* ] */) {
            this.state = State.Done;
            return limit;
          }
          let at = pos;
          if (this.series.length > 0) {
            if (c !== 44 /* , */) return fail();
            at++;
          }
          const ok = startsWith(buf, at, limit, METRIC);
          if (ok === undefined) return pos;
          if (!ok) return fail();
          pos = at + METRIC.length;
          this.state = State.Metric;
          break;
        }
        case State.Metric: {
          if (pos >= limit) return pos;
          if (buf[pos] !== 123 /* { */) return fail();
          const end = objectEnd(buf, pos, limit);
          if (end === -1) return pos;
          if (end < 0) return fail();
          try {
            this.metric = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + pos, end - pos).toString('utf8')) as Labels;
          } catch {
            return fail();
          }
          pos = end;
          this.state = State.Values;
          break;
        }
        case State.Values: {
          const ok = startsWith(buf, pos, limit, VALUES);
          if (ok === undefined) return pos;
          if (!ok) return fail();
          pos += VALUES.length;
          this.timestamps = new Float64Array(Math.max(1, this.expectedPoints));
          this.values = new Float64Array(Math.max(1, this.expectedPoints));
          this.points = 0;
          this.state = State.FirstPoint;
          break;
        }
        case State.FirstPoint: {
          if (pos >= limit) return pos;
          if (buf[pos] === 93 /* ] */) {
            pos++;
            this.state = State.SeriesEnd;
          } else this.state = State.Point;
          break;
        }
        case State.Point: {
          const next = this.scanPoints(buf, pos, limit);
          if (next < 0) return fail();
          pos = next;
          if (this.state === State.Point) return pos;
          break;
        }
        case State.SeriesEnd: {
          if (pos >= limit) return pos;
          if (buf[pos] !== 125 /* } */) return fail();
          pos++;
          const n = this.points;
          this.series.push({ metric: this.metric, timestamps: this.timestamps.subarray(0, n), values: this.values.subarray(0, n) });
          this.state = State.SeriesStart;
          break;
        }
        case State.Done:
          return limit;
        case State.Failed:
          return pos;
      }
    }
  }

  /**
   * Points ([<timestamp>,"<value>"] followed by , or ]) from pos: returns where scanning stopped (a point cut by
   * the chunk's end waits for the next chunk; after the closing ] the state is SeriesEnd), or -1 on a layout error.
   * The common case, plain decimals, is parsed inline; anything else goes through parseDecimal.
   */
  private scanPoints(buf: Uint8Array, from: number, limit: number): number {
    let pos = from;
    let timestamps = this.timestamps;
    let values = this.values;
    let n = this.points;
    for (;;) {
      const point = pos;
      if (pos >= limit) break;
      if (buf[pos] !== 91 /* [ */) return -1;
      pos++;
      // Timestamp: digits with an optional fraction, up to the comma.
      let t = 0;
      let scale = 1;
      let digits = 0;
      let dot = false;
      let c = 0;
      for (; pos < limit; pos++) {
        c = buf[pos] as number;
        if (c >= 48 && c <= 57) {
          t = t * 10 + (c - 48);
          digits++;
          if (dot) scale *= 10;
        } else if (c === 46 && !dot) dot = true;
        else break;
      }
      if (pos >= limit) {
        pos = point;
        break;
      }
      if (c !== 44 /* , */) {
        const comma = indexOf(buf, 44, point + 1, limit);
        if (comma < 0) {
          if (limit - point > 64) return -1;
          pos = point;
          break;
        }
        t = parseDecimal(buf, point + 1, comma);
        if (Number.isNaN(t)) return -1;
        pos = comma;
      } else if (digits === 0 || digits > 15 || scale > 1e22) {
        t = parseDecimal(buf, point + 1, pos);
        if (Number.isNaN(t)) return -1;
      } else if (scale > 1) t /= scale;
      // pos is at the comma; the value is quoted.
      if (pos + 1 >= limit) {
        pos = point;
        break;
      }
      if (buf[pos + 1] !== 34 /* " */) return -1;
      const valueStart = pos + 2;
      pos = valueStart;
      let v = 0;
      let negative = false;
      scale = 1;
      digits = 0;
      let significant = 0;
      dot = false;
      if (pos < limit && buf[pos] === 45 /* - */) {
        negative = true;
        pos++;
      }
      for (; pos < limit; pos++) {
        c = buf[pos] as number;
        if (c >= 48 && c <= 57) {
          digits++;
          if (v !== 0 || c !== 48) significant++;
          v = v * 10 + (c - 48);
          if (dot) scale *= 10;
        } else if (c === 46 && !dot) dot = true;
        else break;
      }
      if (pos >= limit) {
        pos = point;
        break;
      }
      if (c !== 34 || digits === 0 || significant > 15 || scale > 1e22) {
        const quote = indexOf(buf, 34, valueStart, limit);
        if (quote < 0) {
          if (limit - point > 1024) return -1;
          pos = point;
          break;
        }
        v = parseDecimal(buf, valueStart, quote);
        pos = quote;
      } else {
        if (scale > 1) v /= scale;
        if (negative) v = -v;
      }
      // pos is at the closing quote: "] then , or ]
      if (pos + 2 >= limit) {
        pos = point;
        break;
      }
      if (buf[pos + 1] !== 93 /* ] */) return -1;
      if (n === timestamps.length) {
        this.points = n;
        this.grow();
        timestamps = this.timestamps;
        values = this.values;
      }
      timestamps[n] = t;
      values[n] = v;
      n++;
      const after = buf[pos + 2];
      pos += 3;
      if (after === 44 /* , */) continue;
      if (after === 93 /* ] */) {
        this.state = State.SeriesEnd;
        break;
      }
      return -1;
    }
    this.points = n;
    return pos;
  }

  private grow(): void {
    const size = Math.max(16, this.timestamps.length * 2);
    const t = new Float64Array(size);
    t.set(this.timestamps);
    this.timestamps = t;
    const v = new Float64Array(size);
    v.set(this.values);
    this.values = v;
  }
}
