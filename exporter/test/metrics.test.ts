// The exposition of the exporter's metrics: parsed back, checked by promtool (Prometheus's own linter).
import { spawnSync } from 'node:child_process';
import { EXPORTER_FAMILIES, SCORE_FAMILIES, expositionType, familyOfSeries } from '@selfheal/contracts';
import { describe, expect, it } from 'vitest';
import { ExporterMetrics, ScoreMetrics, exposition, type EntitySnapshot } from '../src/metrics/registry.js';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';

const entities: EntitySnapshot[] = [
  {
    labels: { service: 'checkout' }, state: 'ready',
    scores: { anomalyScore: 2.5, healthScore: 13.8, featureScores: [0.1, 2.5], topFeature: 1, expected: { lower: [0.2, 0.05], upper: [0.6, 0.12] } },
    trainedAt: 1_700_000_000, trainingSamples: 354, values: [0.4, 0.9],
  },
  // Label values that need escaping in the text format.
  { labels: { service: 'we"ird\\name\nx' }, state: 'ready', scores: { anomalyScore: 0.2, healthScore: 96, featureScores: [0.2, 0.1], topFeature: -1 }, trainedAt: 1_700_000_000, trainingSamples: 10 },
  { labels: { service: 'new' }, state: 'warming', scores: undefined, trainedAt: undefined, trainingSamples: 0, values: [NaN, 1] },
  { labels: { service: 'gone' }, state: 'stale', scores: undefined, trainedAt: 1_600_000_000, trainingSamples: 354 },
];

describe('exporter metrics exposition', () => {
  const text = (): Promise<string> =>
    exposition(new ExporterMetrics({ processMetrics: true }), new ScoreMetrics(() => [{ group: 'services', featureNames: ['cpu', 'latency_p95'], entities }]));

  it('publishes scores for scored entities only, and exactly one top feature each', async () => {
    const samples = parseExposition(await text());
    expect(series(samples, 'selfheal_anomaly_score').map((s) => s.labels.service)).toEqual(['checkout', 'we"ird\\name\nx']);
    expect(series(samples, 'selfheal_anomaly_top_feature_info')).toEqual([
      { name: 'selfheal_anomaly_top_feature_info', labels: { group: 'services', service: 'checkout', feature: 'latency_p95' }, value: 1 },
      { name: 'selfheal_anomaly_top_feature_info', labels: { group: 'services', service: 'we"ird\\name\nx', feature: 'cpu' }, value: 1 },
    ]);
    expect(series(samples, 'selfheal_anomaly_feature_score', { service: 'checkout', feature: 'latency_p95' })[0]?.value).toBe(2.5);
    // The value and its expected band, where the detector gave one; no value where Prometheus had none (NaN).
    expect(series(samples, 'selfheal_feature_value', { service: 'checkout' }).map((x) => [x.labels.feature, x.value])).toEqual([['cpu', 0.4], ['latency_p95', 0.9]]);
    expect(series(samples, 'selfheal_feature_expected', { service: 'checkout', feature: 'latency_p95' }).map((x) => [x.labels.bound, x.value])).toEqual([['lower', 0.05], ['upper', 0.12]]);
    expect(series(samples, 'selfheal_feature_expected', { service: 'new' })).toEqual([]);
    expect(series(samples, 'selfheal_model_training_samples').map((s) => s.labels.service)).toEqual(['checkout', 'we"ird\\name\nx', 'gone']);
    expect(series(samples, 'selfheal_entities').map((s) => [s.labels.state, s.value])).toEqual([['warming', 1], ['ready', 2], ['stale', 1]]);
    expect(series(samples, 'selfheal_prometheus_requests_total').map((s) => s.labels.outcome)).toContain('connection_error');
  });

  it('exposes every declared exporter family with its declared help, type and fixed labels, and no undeclared selfheal_* one', async () => {
    const exposed = await text();
    const declared = [...Object.values(SCORE_FAMILIES), ...Object.values(EXPORTER_FAMILIES)];
    const help = new Map([...exposed.matchAll(/^# HELP (selfheal_\w+) (.*)$/gm)].map((m) => [m[1], m[2]]));
    const type = new Map([...exposed.matchAll(/^# TYPE (selfheal_\w+) (\w+)$/gm)].map((m) => [m[1], m[2]]));
    expect([...help.keys()].sort()).toEqual(declared.map((f) => f.name).sort());
    for (const family of declared) {
      expect(help.get(family.name), family.name).toBe(family.help);
      expect(type.get(family.name), family.name).toBe(expositionType(family));
    }
    for (const sample of parseExposition(exposed).filter((s) => s.name.startsWith('selfheal_'))) {
      const family = familyOfSeries(sample.name);
      expect(family, sample.name).toBeDefined();
      if (!family) continue;
      const names = Object.keys(sample.labels).filter((label) => !(family.type === 'histogram' && label === 'le'));
      expect(names, sample.name).toEqual(expect.arrayContaining([...family.labels]));
      if (!family.entityLabels) expect(names.sort(), sample.name).toEqual([...family.labels].sort());
    }
  });

  it('passes promtool check metrics', async () => {
    const result = spawnSync('promtool', ['check', 'metrics'], { input: await text(), encoding: 'utf8' });
    const problems = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      // prom-client's own Node.js gauges are named *_total; they are not ours to rename.
      .filter((line) => !/^nodejs_active_\w+_total non-counter metrics/.test(line));
    expect(problems).toEqual([]);
  });
});
