import { describe, expect, it } from 'vitest';
import { parseMatrixFast, parseSampleValue } from '../src/prometheus/matrix-parser.js';

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
