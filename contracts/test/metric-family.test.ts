// Metric-family descriptors are validated when built: a bad name, type, help, label or bucket list is refused
// with an error that names the family and the bad value (prom-client only says "Invalid metric name").
import { describe, expect, it } from 'vitest';
import {
  EXPORTER_FAMILIES, HEALING_FAMILIES, METRIC_FAMILIES, MetricFamilyError, SCORE_FAMILIES, defineFamily, expositionType, familyOfSeries,
  promClientOptions, seriesNames, type MetricFamilySpec,
} from '../src/index.js';

function refusal(spec: MetricFamilySpec<string>): string {
  try {
    defineFamily(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(MetricFamilyError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(spec)}`);
}

const gauge = { type: 'gauge', help: 'A gauge.' } as const;

describe('defineFamily', () => {
  it('builds a frozen descriptor from a valid spec', () => {
    const family = defineFamily({ name: 'x_request_duration_seconds', type: 'histogram', help: 'Durations.', labels: ['route'], buckets: [0.1, 1] });
    expect(family).toEqual({ name: 'x_request_duration_seconds', type: 'histogram', help: 'Durations.', labels: ['route'], entityLabels: false, buckets: [0.1, 1] });
    expect(Object.isFrozen(family)).toBe(true);
    expect(Object.isFrozen(family.labels)).toBe(true);
  });

  it.each([
    ['9lives', 'invalid metric name'],
    ['has-dash', 'invalid metric name'],
    ['', 'invalid metric name'],
    ['job:requests:rate5m', 'colons are reserved for recording rules'],
    ['__internal', 'reserved for Prometheus'],
  ])('refuses the metric name %j, naming it', (name, reason) => {
    const message = refusal({ ...gauge, name });
    expect(message).toContain(JSON.stringify(name));
    expect(message).toContain(reason);
  });

  it('refuses a counter whose name does not end in _total, and _total on anything else', () => {
    expect(refusal({ name: 'x_requests', type: 'counter', help: 'h' })).toBe('metric family "x_requests": a counter\'s name ends in _total');
    expect(refusal({ name: 'x_requests_total', type: 'gauge', help: 'h' })).toContain('only counters end in _total (this is a gauge)');
  });

  it('refuses an info family not named *_info, and names that end in a histogram series suffix', () => {
    expect(refusal({ name: 'x_build', type: 'info', help: 'h' })).toContain('"x_build": an info family\'s name ends in _info');
    expect(refusal({ ...gauge, name: 'x_queue_count' })).toContain('_count is added by the exposition of histograms');
    expect(refusal({ name: 'x_latency_seconds_bucket', type: 'histogram', help: 'h' })).toContain('_bucket is added');
  });

  it.each([
    ['x_request_duration_milliseconds', 'milliseconds', 'seconds'],
    ['x_uptime_minutes', 'minutes', 'seconds'],
    ['x_heap_megabytes', 'megabytes', 'bytes'],
    ['x_cpu_percent', 'percent', 'ratio'],
  ])('refuses the non-base unit in %s', (name, unit, base) => {
    expect(refusal({ ...gauge, name })).toBe(`metric family ${JSON.stringify(name)}: "${unit}" is not a base unit: use ${base}${base === 'ratio' ? ' (0-1)' : ''}`);
  });

  it('refuses an unknown type and an empty or multi-line help', () => {
    expect(refusal({ name: 'x_things', type: 'summary' as never, help: 'h' })).toContain('invalid type "summary": one of counter, gauge, histogram, info');
    expect(refusal({ name: 'x_things', type: 'gauge', help: '  ' })).toContain('"x_things": help must be a non-empty text');
    expect(refusal({ name: 'x_things', type: 'gauge', help: 'one\ntwo' })).toContain('help must be a single line');
  });

  it.each([
    ['service-name', 'invalid label name "service-name"'],
    ['0day', 'invalid label name "0day"'],
    ['', 'invalid label name ""'],
    ['__name__', 'label name "__name__" is reserved'],
    ['__proto__', 'label name "__proto__" is reserved'],
  ])('refuses the label name %j, naming it', (label, reason) => {
    expect(refusal({ ...gauge, name: 'x_things', labels: [label] })).toBe(`metric family "x_things": ${reason}${reason.startsWith('invalid') ? ': label names are [a-zA-Z_][a-zA-Z0-9_]*' : ': names starting with __ belong to Prometheus'}`);
  });

  it('refuses a label listed twice, and le on a histogram', () => {
    expect(refusal({ ...gauge, name: 'x_things', labels: ['service', 'service'] })).toContain('label name "service" is listed twice');
    expect(refusal({ name: 'x_wait_seconds', type: 'histogram', help: 'h', labels: ['le'] })).toContain('label name "le" is reserved for the buckets');
    expect(defineFamily({ ...gauge, name: 'x_things', labels: ['le'] }).labels).toEqual(['le']);
  });

  it('refuses buckets on a non-histogram and bucket lists that are empty, unordered or infinite', () => {
    expect(refusal({ ...gauge, name: 'x_things', buckets: [1] })).toContain('buckets are for histograms (this is a gauge)');
    const histogram = { name: 'x_wait_seconds', type: 'histogram', help: 'h' } as const;
    expect(refusal({ ...histogram, buckets: [] })).toContain('buckets must not be empty');
    expect(refusal({ ...histogram, buckets: [1, 5, 5] })).toContain('bucket 2 (5) must be above the one before it (5)');
    expect(refusal({ ...histogram, buckets: [1, Infinity] })).toContain('bucket 1 (Infinity) must be a finite number (+Inf is implied)');
  });
});

describe('the declared families', () => {
  it('are all named selfheal_*, and each name is declared once', () => {
    const names = METRIC_FAMILIES.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^selfheal_/);
    expect(METRIC_FAMILIES).toHaveLength(Object.keys(SCORE_FAMILIES).length + Object.keys(EXPORTER_FAMILIES).length + Object.keys(HEALING_FAMILIES).length);
  });

  it('keep the names the rules, the panel and docs/contracts.md use', () => {
    expect(SCORE_FAMILIES.anomalyScore.name).toBe('selfheal_anomaly_score');
    expect(SCORE_FAMILIES.topFeature).toMatchObject({ name: 'selfheal_anomaly_top_feature_info', type: 'info', labels: ['group', 'feature'], entityLabels: true });
    expect(HEALING_FAMILIES.actions).toMatchObject({ name: 'selfheal_healing_actions_total', type: 'counter', labels: ['service', 'action', 'outcome'] });
  });

  it('map series names back to their family, a histogram by its _bucket, _sum and _count series only', () => {
    expect(familyOfSeries('selfheal_anomaly_score')).toBe(SCORE_FAMILIES.anomalyScore);
    expect(familyOfSeries('selfheal_healing_recovery_seconds_bucket')).toBe(HEALING_FAMILIES.recovery);
    expect(familyOfSeries('selfheal_healing_recovery_seconds_count')).toBe(HEALING_FAMILIES.recovery);
    expect(familyOfSeries('selfheal_healing_recovery_seconds')).toBeUndefined();
    expect(familyOfSeries('selfheal_anomaly_score_sum')).toBeUndefined();
    expect(seriesNames(SCORE_FAMILIES.entities)).toEqual(['selfheal_entities']);
  });

  it('give prom-client its options and the text format its type', () => {
    expect(promClientOptions(HEALING_FAMILIES.recovery)).toEqual({
      name: 'selfheal_healing_recovery_seconds', help: 'Time from an alert starting to its resolution.', labelNames: ['service'],
      buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    });
    expect(promClientOptions(HEALING_FAMILIES.inFlight)).not.toHaveProperty('buckets');
    expect(expositionType(SCORE_FAMILIES.topFeature)).toBe('gauge');
    expect(expositionType(HEALING_FAMILIES.actions)).toBe('counter');
  });
});
