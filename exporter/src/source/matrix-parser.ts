// A scanner for Prometheus's query_range answer that writes points straight into typed arrays.
// JSON.parse builds one array and one string per point ([1700000000,"0.25"]); at 10,000 series x
// hundreds of points that garbage dominates the exporter's read time. The scanner accepts exactly the
// layout Prometheus writes and returns undefined for anything else, so the caller falls back to JSON.parse.
import type { Labels, RangeSeries } from './types.js';

/** A sample value as Prometheus writes it ("0.25", "NaN", "+Inf", "-Inf"). */
export function parseSampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

const PREFIX = '{"status":"success","data":{"resultType":"matrix","result":[';
const METRIC = '{"metric":';
const VALUES = ',"values":[';

/** The end index (exclusive) of the flat JSON object starting at `start`, or -1. */
function objectEnd(text: string, start: number): number {
  if (text.charCodeAt(start) !== 123 /* { */) return -1;
  let inString = false;
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 125 /* } */) return i + 1;
    else if (c === 123) return -1; // nested objects are not part of a series' metric
  }
  return -1;
}

export function parseMatrixFast(text: string): RangeSeries[] | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const out: RangeSeries[] = [];
  let pos = PREFIX.length;
  let capacity = 64;
  while (true) {
    const c = text.charCodeAt(pos);
    if (c === 93 /* ] */) return out;
    if (out.length > 0) {
      if (c !== 44 /* , */) return undefined;
      pos++;
    }
    if (!text.startsWith(METRIC, pos)) return undefined;
    pos += METRIC.length;
    const end = objectEnd(text, pos);
    if (end < 0) return undefined;
    let metric: Labels;
    try {
      metric = JSON.parse(text.slice(pos, end)) as Labels;
    } catch {
      return undefined;
    }
    pos = end;
    if (!text.startsWith(VALUES, pos)) return undefined;
    pos += VALUES.length;
    let timestamps = new Float64Array(capacity);
    let values = new Float64Array(capacity);
    let n = 0;
    if (text.charCodeAt(pos) !== 93) {
      while (true) {
        if (text.charCodeAt(pos) !== 91 /* [ */) return undefined;
        const comma = text.indexOf(',', pos + 1);
        if (comma < 0 || text.charCodeAt(comma + 1) !== 34) return undefined;
        const quote = text.indexOf('"', comma + 2);
        if (quote < 0 || text.charCodeAt(quote + 1) !== 93) return undefined;
        const t = Number(text.slice(pos + 1, comma));
        if (Number.isNaN(t)) return undefined;
        if (n === timestamps.length) {
          const grownT = new Float64Array(n * 2);
          grownT.set(timestamps);
          timestamps = grownT;
          const grownV = new Float64Array(n * 2);
          grownV.set(values);
          values = grownV;
        }
        timestamps[n] = t;
        values[n] = parseSampleValue(text.slice(comma + 2, quote));
        n++;
        pos = quote + 2;
        const next = text.charCodeAt(pos);
        if (next === 44) {
          pos++;
          continue;
        }
        if (next === 93) break;
        return undefined;
      }
    }
    // After the values: "]}" closes the series.
    if (text.charCodeAt(pos) !== 93 || text.charCodeAt(pos + 1) !== 125) return undefined;
    pos += 2;
    capacity = Math.max(capacity, n);
    out.push({ metric, timestamps: timestamps.slice(0, n), values: values.slice(0, n) });
  }
}
