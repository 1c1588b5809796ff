// Sharding end-to-end: three exporter shards (0/3, 1/3, 2/3) and one unsharded exporter read the same real
// Prometheus (history backfilled with promtool) with the real detector, on the same fixed clock. The shards'
// entities must partition the single exporter's set, and their scores must equal its scores: sharding only
// selects entities, a detector's inputs (its own series, the same evaluation times, the same seed) and hence
// its verdicts do not depend on which other entities share its process, so the comparison is exact.
// Then one shard's saved models are restored under another shard count (re-partition, never fatal).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '@selfheal/stack';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import type { ExporterConfig } from '../src/config/schema.js';
import { ExporterService } from '../src/service/exporter-service.js';
import type { EntityReport } from '../src/service/group-runner.js';
import { defaultDetectorFactory } from '../src/service/real-detector.js';
import { shardOf, type Shard } from '../src/shard/shard.js';
import { parseExposition, series } from './fixtures/exposition.js';
import { FIXTURE_FEATURES, backfillFixtureHistory } from './fixtures/fixture-target.js';

const SERVICES = ['checkout', 'cart', 'search', 'payments', 'catalog', 'auth', 'shipping', 'email', 'ads', 'reviews', 'currency', 'profile'];
const HISTORY_SECONDS = 20 * 60;
const STEP = 2;

describe('three exporter shards against one real Prometheus (real detector, fixed clock)', () => {
  let stack: Stack;
  let work: string;
  let text: (shard: Shard | undefined, stateDir: string) => string;
  const factory = defaultDetectorFactory();
  const services: ExporterService[] = [];
  // Evaluation times inside the backfilled history, on the step grid.
  const historyEnd = Math.floor(Date.now() / 1000 / STEP) * STEP;
  const trainAt = historyEnd - 120;
  const clock = { now: trainAt };

  function exporter(shard: Shard | undefined, stateDir: string): ExporterService {
    const config: ExporterConfig = parseExporterConfig(text(shard, stateDir), 'sharding.yml', factory);
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false, now: () => clock.now });
    services.push(service);
    return service;
  }

  /** Runs a training cycle and two scoring cycles at the same sample times for every exporter. */
  async function cycles(exporters: readonly ExporterService[]): Promise<void> {
    for (const at of [trainAt, trainAt + STEP, trainAt + 2 * STEP]) {
      clock.now = at + 0.5;
      for (const e of exporters) {
        const results = await e.runCycles();
        for (const r of results) expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
      }
    }
  }

  const name = (e: EntityReport): string => e.entity.service ?? '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'selfheal-sharding-e2e-'));
    const dataDir = backfillFixtureHistory(work, SERVICES, HISTORY_SECONDS, { job: 'fixture', instance: '127.0.0.1:1' }, historyEnd);
    stack = await startStack({ scrapeTargets: {}, withAlertmanager: false, includeShippedRules: false, prometheusDataDir: dataDir });
    text = (shard, stateDir) => `
prometheus: { url: ${stack.prometheusUrl}, timeout: 5s, retries: 1 }
listen: 127.0.0.1:0
stateDir: ${stateDir}
${shard ? `shard: { index: ${shard.index}, count: ${shard.count} }` : ''}
groups:
  - name: services
    groupBy: [service]
    features:
${Object.entries(FIXTURE_FEATURES).map(([feature, promql]) => `      ${feature}: '${promql}'`).join('\n')}
    schedule: { interval: ${STEP}s, trainWindow: ${HISTORY_SECONDS - 300}s, maxScoreAge: 1h, vanishGrace: 1h }
`;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('the shards partition the single exporter\'s entities and score them identically; no shard label on the scores', async () => {
    const single = exporter(undefined, join(work, 'single'));
    const shards = [0, 1, 2].map((index) => exporter({ index, count: 3 }, join(work, `shard-${index}`)));
    await cycles([single, ...shards]);

    const all = single.entities();
    expect(all.map(name).sort()).toEqual([...SERVICES].sort());
    expect(all.every((e) => e.state === 'ready' && e.anomalyScore !== null)).toBe(true);

    const perShard = shards.map((s) => s.entities());
    const union = perShard.flat().map(name);
    expect(new Set(union).size, 'no entity is scored by two shards').toBe(union.length);
    expect([...union].sort()).toEqual([...SERVICES].sort());
    // Each shard holds exactly the entities the documented hashmod formula assigns to it, and none is empty here.
    perShard.forEach((entities, index) => {
      expect(entities.map(name).sort()).toEqual(SERVICES.filter((s) => shardOf('services', ['service'], { service: s }, 3) === index).sort());
      expect(entities.length).toBeGreaterThan(0);
    });

    const bySingle = new Map(all.map((e) => [name(e), e]));
    for (const entity of perShard.flat()) {
      const reference = bySingle.get(name(entity));
      expect(entity.anomalyScore, name(entity)).toBe(reference?.anomalyScore);
      expect(entity.healthScore).toBe(reference?.healthScore);
      expect(entity.featureScores).toEqual(reference?.featureScores);
      expect(entity.topFeature).toBe(reference?.topFeature);
      expect(entity.trainingSamples).toBe(reference?.trainingSamples);
    }

    // The published series: the same names and labels as unsharded, no shard label; the info metric names the shard.
    const exposed = parseExposition(await shards[1]!.metricsText());
    const scores = series(exposed, 'selfheal_anomaly_score');
    expect(scores.map((s) => s.labels.service).sort()).toEqual(perShard[1]!.map(name).sort());
    for (const s of scores) expect(Object.keys(s.labels).sort()).toEqual(['group', 'service']);
    expect(series(exposed, 'selfheal_exporter_shard_info')).toEqual([expect.objectContaining({ labels: { index: '1', count: '3' }, value: 1 })]);
    expect(series(parseExposition(await single.metricsText()), 'selfheal_exporter_shard_info')[0]?.labels).toEqual({ index: '0', count: '1' });

    await Promise.all([single, ...shards].map((s) => s.saveAll()));
  }, 60_000);

  it('a shard restored under another shard count keeps the models it still owns and trains the newly owned ones', async () => {
    // Shard 0/3's state directory, now run as shard 0/2.
    const moved = exporter({ index: 0, count: 2 }, join(work, 'shard-0'));
    const restored = await Promise.all(moved.groups.map((g) => g.restore()));
    const owned3 = SERVICES.filter((s) => shardOf('services', ['service'], { service: s }, 3) === 0);
    const owned2 = SERVICES.filter((s) => shardOf('services', ['service'], { service: s }, 2) === 0);
    const kept = owned3.filter((s) => owned2.includes(s));
    expect(restored).toEqual([kept.length]);
    clock.now = trainAt + 3 * STEP + 0.5;
    const [result] = await moved.runCycles();
    expect(result).toMatchObject({ ok: true, phase: 'catch_up' });
    const entities = moved.entities();
    expect(entities.map(name).sort()).toEqual([...owned2].sort());
    expect(entities.every((e) => e.state === 'ready' && e.anomalyScore !== null)).toBe(true);
    // Restored models continue (more samples seen than the newly trained ones, which start at the window).
    const seen = new Map(entities.map((e) => [name(e), e.samplesSeen]));
    for (const s of kept) for (const n of owned2.filter((x) => !kept.includes(x))) expect(seen.get(s)).toBeGreaterThan(seen.get(n) ?? Infinity);
  }, 60_000);
});
