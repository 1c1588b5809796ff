import { describe, expect, it } from 'vitest';
import { parseMatrixFast, parseSampleValue } from '../src/source/matrix-parser.js';
import { MatrixStreamParser, parseDecimal } from '../src/source/matrix-stream.js';

// The layout Prometheus writes (Go's encoding of the API response), with awkward label values.
const body = {
  status: 'success',
  data: {
    resultType: 'matrix',
    result: [
      { metric: { service: 'a"b\\c}{', le: '+Inf' }, values: [[1700000000, '0.25'], [1700000060.5, 'NaN'], [1700000120, '+Inf'], [1700000180, '-Inf'], [1700000240, '1e-7']] },
      { metric: {}, values: [] },
      { metric: { service: 'x' }, values: [[1700000000, '42']] },
    ],
  },
};

describe('query_range scanner', () => {
  it('reads what JSON.parse reads, into typed arrays', () => {
    const series = parseMatrixFast(JSON.stringify(body));
    expect(series).toBeDefined();
    expect(series?.map((s) => s.metric)).toEqual(body.data.result.map((s) => s.metric));
    expect(Array.from(series?.[0]?.timestamps ?? [])).toEqual([1700000000, 1700000060.5, 1700000120, 1700000180, 1700000240]);
    expect(Array.from(series?.[0]?.values ?? [])).toEqual([0.25, Number.NaN, Infinity, -Infinity, 1e-7]);
    expect(series?.[1]?.values.length).toBe(0);
    expect(Array.from(series?.[2]?.values ?? [])).toEqual([42]);
  });

  it('reads long series (growing its arrays)', () => {
    const values = Array.from({ length: 1000 }, (_, i) => [1700000000 + i, String(i / 7)]);
    const series = parseMatrixFast(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { a: '1' }, values }] } }));
    expect(series?.[0]?.values.length).toBe(1000);
    expect(series?.[0]?.values[999]).toBe(999 / 7);
  });

  it.each([
    ['another layout', JSON.stringify({ data: body.data, status: 'success' })],
    ['a vector', JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })],
    ['native histograms', '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[]}]}}'],
    ['a truncated answer', JSON.stringify(body).slice(0, 120)],
    ['whitespace', JSON.stringify(body, null, 1)],
  ])('declines %s (the caller falls back to JSON.parse)', (_what, text) => {
    expect(parseMatrixFast(text)).toBeUndefined();
  });

  it('reads the special sample values', () => {
    expect(parseSampleValue('+Inf')).toBe(Infinity);
    expect(parseSampleValue('-Inf')).toBe(-Infinity);
    expect(parseSampleValue('NaN')).toBeNaN();
    expect(parseSampleValue('3.5')).toBe(3.5);
  });
});

describe('incremental query_range scanner', () => {
  const text = JSON.stringify(body);

  function feed(bytes: Buffer, cuts: number[], expectedPoints = 3): MatrixStreamParser {
    const parser = new MatrixStreamParser(expectedPoints);
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      parser.write(bytes.subarray(at, cut));
      at = cut;
    }
    return parser;
  }

  it('reads what the whole-text scanner reads, wherever the chunks are cut', () => {
    const bytes = Buffer.from(text);
    const whole = parseMatrixFast(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const series = feed(bytes, [cut]).end();
      expect(series, `cut at ${cut}`).toEqual(whole);
    }
    // Every byte its own chunk.
    expect(feed(bytes, Array.from({ length: bytes.length }, (_, i) => i)).end()).toEqual(whole);
  });

  it('reads series longer than expected (growing its arrays) and keeps label values with escapes', () => {
    const values = Array.from({ length: 1000 }, (_, i) => [1700000000 + i, String(i / 7)]);
    const bytes = Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { a: 'é"\\}' }, values }] } }));
    const series = feed(bytes, [100, 5000, 5001, 9000], 10).end();
    expect(series?.[0]?.metric).toEqual({ a: 'é"\\}' });
    expect(series?.[0]?.values.length).toBe(1000);
    expect(series?.[0]?.values[999]).toBe(999 / 7);
    expect(series?.[0]?.timestamps[999]).toBe(1700000999);
  });

  it('parses decimals exactly as Number() does', () => {
    const samples = ['0', '-0', '1', '42', '0.1', '0.25', '-3.5', '1700000060.5', '123456789012345', '1234567890123456', '0.000012345678901234567',
      '200000000', '0.1234567890123', '9007199254740993', '1e-7', '5e-324', '1.7976931348623157e308', 'NaN', '+Inf', '-Inf', '.5', '5.'];
    // Random doubles in Go's 'f' format (no exponent), as Prometheus writes them.
    for (let i = 0; i < 2000; i++) {
      const x = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 30 - 12);
      samples.push(x.toFixed(Math.floor(Math.random() * 20)));
      samples.push(String(Math.round(x * 1e6) / 1e6));
    }
    for (const s of samples) {
      const b = Buffer.from(`x${s}y`);
      expect(Object.is(parseDecimal(b, 1, b.length - 1), parseSampleValue(s)), s).toBe(true);
    }
  });

  it.each([
    ['another layout', JSON.stringify({ data: body.data, status: 'success' })],
    ['a vector', JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })],
    ['native histograms', '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[]}]}}'],
    ['whitespace', JSON.stringify(body, null, 1)],
  ])('declines %s (the caller falls back to the generic read)', (_what, declined) => {
    const parser = feed(Buffer.from(declined), [7]);
    expect(parser.failed).toBe(true);
    expect(parser.end()).toBeUndefined();
  });

  it('tells a declined envelope from a declined body, and an incomplete answer from a complete one', () => {
    expect(feed(Buffer.from('<html>proxy</html>'), []).recognised).toBe(false);
    const histogramLater = feed(Buffer.from(text.replace('"values":[[1700000000,"42"]]', '"histograms":[]')), []);
    expect(histogramLater.failed).toBe(true);
    expect(histogramLater.recognised).toBe(true);
    const truncated = feed(Buffer.from(text.slice(0, 120)), []);
    expect(truncated.failed).toBe(false);
    expect(truncated.end()).toBeUndefined();
  });
});
