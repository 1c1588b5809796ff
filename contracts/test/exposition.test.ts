import { describe, expect, it } from 'vitest';
import { ExpositionError, matchingSamples, parseExposition, sampleValue } from '../src/prometheus/exposition.js';

// What prom-client writes (the exporter and the healing service), including escapes and histogram lines.
const TEXT = [
  '# HELP selfheal_anomaly_score Anomaly score per entity (1 = threshold).',
  '# TYPE selfheal_anomaly_score gauge',
  'selfheal_anomaly_score{group="demo",service="checkout"} 2.5',
  'selfheal_anomaly_score{group="demo",service="we\\"ird\\\\name\\nx"} 0.25',
  '# TYPE selfheal_webhook_requests_total counter',
  'selfheal_webhook_requests_total{code="200"} 17',
  'process_start_time_seconds 1700000000',
  '# TYPE selfheal_healing_recovery_seconds histogram',
  'selfheal_healing_recovery_seconds_bucket{le="+Inf",service="checkout"} 3',
  'selfheal_healing_recovery_seconds_sum{service="checkout"} 41.5',
  'selfheal_healing_recovery_seconds_count{service="checkout"} 3',
  'odd_values{kind="nan"} NaN',
  'odd_values{kind="neg"} -Inf',
  'odd_values{kind="exp"} 1.5e-3',
  'odd_values{kind="prom-client nan"} Nan',
  'odd_values{kind="inf"} +inf',
  'with_timestamp{a="b",} 4 1700000000123',
  '  spaced { a = "x" , b="y" }   7  ',
  '',
].join('\n');

describe('parseExposition', () => {
  it('reads every sample line with its labels, in order, skipping comments and blank lines', () => {
    const samples = parseExposition(TEXT);
    expect(samples.map((s) => s.name)).toEqual([
      'selfheal_anomaly_score',
      'selfheal_anomaly_score',
      'selfheal_webhook_requests_total',
      'process_start_time_seconds',
      'selfheal_healing_recovery_seconds_bucket',
      'selfheal_healing_recovery_seconds_sum',
      'selfheal_healing_recovery_seconds_count',
      'odd_values',
      'odd_values',
      'odd_values',
      'odd_values',
      'odd_values',
      'with_timestamp',
      'spaced',
    ]);
    expect(samples[0]).toEqual({ name: 'selfheal_anomaly_score', labels: { group: 'demo', service: 'checkout' }, value: 2.5 });
    expect(samples[3]).toEqual({ name: 'process_start_time_seconds', labels: {}, value: 1700000000 });
    expect(samples[12]).toEqual({ name: 'with_timestamp', labels: { a: 'b' }, value: 4, timestamp: 1700000000123 });
    expect(samples[13]).toEqual({ name: 'spaced', labels: { a: 'x', b: 'y' }, value: 7 });
  });

  it('unescapes label values (\\\\, \\" and \\n)', () => {
    expect(parseExposition(TEXT)[1]?.labels.service).toBe('we"ird\\name\nx');
  });

  it('reads NaN, +Inf, -Inf in any case (as Go does; prom-client writes Nan) and exponents; le="+Inf" stays a label', () => {
    const samples = parseExposition(TEXT);
    expect(sampleValue(samples, 'odd_values', { kind: 'nan' })).toBeNaN();
    expect(sampleValue(samples, 'odd_values', { kind: 'neg' })).toBe(Number.NEGATIVE_INFINITY);
    expect(sampleValue(samples, 'odd_values', { kind: 'exp' })).toBe(0.0015);
    expect(sampleValue(samples, 'odd_values', { kind: 'prom-client nan' })).toBeNaN();
    expect(sampleValue(samples, 'odd_values', { kind: 'inf' })).toBe(Number.POSITIVE_INFINITY);
    expect(matchingSamples(samples, 'selfheal_healing_recovery_seconds_bucket')[0]?.labels.le).toBe('+Inf');
  });

  it('finds samples by name and a subset of labels', () => {
    const samples = parseExposition(TEXT);
    expect(matchingSamples(samples, 'selfheal_anomaly_score').length).toBe(2);
    expect(sampleValue(samples, 'selfheal_anomaly_score', { service: 'checkout' })).toBe(2.5);
    expect(sampleValue(samples, 'selfheal_anomaly_score', { service: 'absent' })).toBeUndefined();
  });

  it.each([
    ['no value', 'metric_a{x="1"}', 2, /line 2: expected a value/],
    ['a value that is no number', 'metric_a 1,5', 2, /line 2: value 1,5 is not a number/],
    ['an unquoted label value', 'metric_a{x=1} 1', 2, /line 2: label x: value not quoted/],
    ['an unterminated label value', 'metric_a{x="1} 1', 2, /line 2: label x: unterminated value/],
    ['an unknown escape', 'metric_a{x="\\t"} 1', 2, /line 2: label x: unknown escape \\t/],
    ['a label twice', 'metric_a{x="1",x="2"} 1', 2, /line 2: label x twice/],
    ['a bad timestamp', 'metric_a 1 12.5', 2, /line 2: timestamp 12.5 is not an integer/],
    ['no metric name', '{x="1"} 1', 2, /line 2: no metric name/],
  ])('rejects %s with an error naming the line', (_what, line, lineNo, message) => {
    const parse = () => parseExposition(`# HELP metric_a a\n${line}\n`);
    expect(parse).toThrow(ExpositionError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (error) {
      expect((error as ExpositionError).line).toBe(lineNo);
    }
  });

  it('names the source when given', () => {
    expect(() => parseExposition('metric_a one', 'GET http://127.0.0.1:9188/metrics')).toThrow(
      'GET http://127.0.0.1:9188/metrics: exposition line 1: value one is not a number: metric_a one',
    );
  });
});
