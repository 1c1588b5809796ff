// Sharding end-to-end: three exporter shards (0/3, 1/3, 2/3) and one unsharded exporter read the same real
// Prometheus (history backfilled with promtool) with the real detector, on the same fixed clock. The shards'
// entities must partition the single exporter's set, and their scores must equal its scores: sharding only
// selects entities, a detector's inputs (its own series, the same evaluation times, the same seed) and hence
// its verdicts do not depend on which other entities share its process, so the comparison is exact.
// Then one shard's saved models are restored under another shard count (re-partition, never fatal).
// The shard filter is pushed into PromQL (src/shard/pushdown.ts): each shard's training read must return only its
// own series; a feature whose PromQL cannot be filtered safely falls back to reading every series; an entity that
// appears after training is named in the next catch-up read and trained from its history like the single exporter's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '@selfheal/stack';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import type { ExporterConfig } from '../src/config/schema.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import type { EntityReport } from '../src/http/types.js';
import type { CycleResult } from '../src/runner/types.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { shardOf, type Shard } from '../src/shard/shard.js';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';
import { FIXTURE_FEATURES, FIXTURE_METRICS, backfillFixtureHistory } from './fixtures/fixture-target.js';

const SERVICES = ['checkout', 'cart', 'search', 'payments', 'catalog', 'auth', 'shipping', 'email', 'ads', 'reviews', 'currency', 'profile'];
const HISTORY_SECONDS = 20 * 60;
const STEP = 2;
/** A service whose series start after the training time (its history is backfilled as a second block). */
const LATE = 'late-arrival';
/** A feature whose PromQL cannot be filtered per entity (its right side reads every entity): never pushed down. */
const SHARE = `sum by (service) (${FIXTURE_METRICS.cpu}) / on() group_left sum(${FIXTURE_METRICS.cpu})`;

describe('three exporter shards against one real Prometheus (real detector, fixed clock)', () => {
  let stack: Stack;
  let work: string;
  let text: (shard: Shard | undefined, stateDir: string, extra?: Record<string, string>) => string;
  const factory = defaultDetectorFactory();
  const services: ExporterService[] = [];
  // Evaluation times inside the backfilled history, on the step grid.
  const historyEnd = Math.floor(Date.now() / 1000 / STEP) * STEP;
  const trainAt = historyEnd - 120;
  const clock = { now: trainAt };

  function exporter(shard: Shard | undefined, stateDir: string, extra?: Record<string, string>): ExporterService {
    const config: ExporterConfig = parseExporterConfig(text(shard, stateDir, extra), 'sharding.yml', factory);
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false, now: () => clock.now });
    services.push(service);
    return service;
  }

  /** Runs a training cycle and two scoring cycles at the same sample times for every exporter; the training results. */
  async function cycles(exporters: readonly ExporterService[]): Promise<CycleResult[]> {
    const training: CycleResult[] = [];
    for (const at of [trainAt, trainAt + STEP, trainAt + 2 * STEP]) {
      clock.now = at + 0.5;
      for (const e of exporters) {
        const results = await e.runCycles();
        for (const r of results) expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
        if (at === trainAt) training.push(...results);
      }
    }
    return training;
  }

  /** The entities' reports by name, for comparing a shard's with the single exporter's. */
  function expectSameScores(entities: readonly EntityReport[], reference: readonly EntityReport[]): void {
    const bySingle = new Map(reference.map((e) => [name(e), e]));
    for (const entity of entities) {
      const other = bySingle.get(name(entity));
      expect(entity.anomalyScore, name(entity)).toBe(other?.anomalyScore);
      expect(entity.healthScore).toBe(other?.healthScore);
      expect(entity.featureScores).toEqual(other?.featureScores);
      expect(entity.topFeature).toBe(other?.topFeature);
      expect(entity.trainingSamples).toBe(other?.trainingSamples);
      expect(entity.samplesSeen).toBe(other?.samplesSeen);
    }
  }

  const name = (e: EntityReport): string => e.entity.service ?? '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'selfheal-sharding-e2e-'));
    const dataDir = backfillFixtureHistory(work, SERVICES, HISTORY_SECONDS, { job: 'fixture', instance: '127.0.0.1:1' }, historyEnd);
    // LATE's series: from 20 s after the training time to the end of the history, a second block in the same TSDB.
    const lines: string[] = [];
    for (const [i, metric] of Object.values(FIXTURE_METRICS).entries()) {
      lines.push(`# TYPE ${metric} gauge`);
      for (let t = trainAt + 20; t < historyEnd; t++) lines.push(`${metric}{service="${LATE}",job="fixture",instance="127.0.0.1:1"} ${(i + 1) * (1 + 0.05 * Math.sin(t / 7))} ${t}`);
    }
    lines.push('# EOF');
    writeFileSync(join(work, 'late.om'), `${lines.join('\n')}\n`);
    const late = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', join(work, 'late.om'), dataDir], { encoding: 'utf8' });
    expect(late.status, `${late.stderr}${late.stdout}`).toBe(0);
    stack = await startStack({ scrapeTargets: {}, withAlertmanager: false, includeShippedRules: false, prometheusDataDir: dataDir });
    text = (shard, stateDir, extra = {}) => `
prometheus: { url: ${stack.prometheusUrl}, timeout: 5s, retries: 1 }
listen: 127.0.0.1:0
stateDir: ${stateDir}
${shard ? `shard: { index: ${shard.index}, count: ${shard.count} }` : ''}
groups:
  - name: services
    groupBy: [service]
    features:
${Object.entries({ ...FIXTURE_FEATURES, ...extra }).map(([feature, promql]) => `      ${feature}: '${promql}'`).join('\n')}
    schedule: { interval: ${STEP}s, trainWindow: ${HISTORY_SECONDS - 300}s, maxScoreAge: 1h, vanishGrace: 1h }
`;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('the shards partition the single exporter\'s entities and score them identically; no shard label on the scores', async () => {
    const single = exporter(undefined, join(work, 'single'));
    const shards = [0, 1, 2].map((index) => exporter({ index, count: 3 }, join(work, `shard-${index}`)));
    const [singleTraining, ...shardTraining] = await cycles([single, ...shards]);

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

    expectSameScores(perShard.flat(), all);

    // Pushdown: the unsharded training read every entity's 4 series; each shard's read returned only its own.
    const features = Object.keys(FIXTURE_FEATURES).length;
    expect(singleTraining?.breakdown?.series).toEqual({ read: features * SERVICES.length, owned: features * SERVICES.length, pushedDown: 0 });
    shardTraining.forEach((result, index) => {
      const owned = features * (perShard[index]?.length ?? 0);
      expect(result.breakdown?.series, `shard ${index}/3`).toEqual({ read: owned, owned, pushedDown: features });
    });
    expect(shardTraining.reduce((sum, r) => sum + (r.breakdown?.series.read ?? 0), 0)).toBe(singleTraining?.breakdown?.series.read);

    // The published series: the same names and labels as unsharded, no shard label; the info metric names the shard.
    const exposed = parseExposition(await shards[1]!.metricsText());
    const scores = series(exposed, 'selfheal_anomaly_score');
    expect(scores.map((s) => s.labels.service).sort()).toEqual(perShard[1]!.map(name).sort());
    for (const s of scores) expect(Object.keys(s.labels).sort()).toEqual(['group', 'service']);
    expect(series(exposed, 'selfheal_exporter_shard_info')).toEqual([expect.objectContaining({ labels: { index: '1', count: '3' }, value: 1 })]);
    expect(series(parseExposition(await single.metricsText()), 'selfheal_exporter_shard_info')[0]?.labels).toEqual({ index: '0', count: '1' });
    expect(series(exposed, 'selfheal_exporter_shard_pushdown').map((s) => [s.labels.feature, s.value]).sort()).toEqual(Object.keys(FIXTURE_FEATURES).sort().map((f) => [f, 1]));
    expect(series(parseExposition(await single.metricsText()), 'selfheal_exporter_shard_pushdown')).toEqual([]);

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

  it('a feature that cannot be filtered safely is read whole (and says so); the others are pushed down; the scores still equal', async () => {
    const single = exporter(undefined, join(work, 'mixed-single'), { share: SHARE });
    const shards = [0, 1].map((index) => exporter({ index, count: 2 }, join(work, `mixed-shard-${index}`), { share: SHARE }));
    const [singleTraining, ...shardTraining] = await cycles([single, ...shards]);
    const all = single.entities();
    const perShard = shards.map((s) => s.entities());
    expect(perShard.flat().map(name).sort()).toEqual(all.map(name).sort());
    expect(all.every((e) => e.state === 'ready' && e.featureScores && 'share' in e.featureScores)).toBe(true);
    expectSameScores(perShard.flat(), all);
    const pushed = Object.keys(FIXTURE_FEATURES).length;
    expect(singleTraining?.breakdown?.series.read).toBe((pushed + 1) * SERVICES.length);
    shardTraining.forEach((result, index) => {
      const owned = perShard[index]?.length ?? 0;
      // The pushed-down features return the shard's series; `share` every shard's.
      expect(result.breakdown?.series, `shard ${index}/2`).toEqual({ read: pushed * owned + SERVICES.length, owned: (pushed + 1) * owned, pushedDown: pushed });
    });
    const gauge = series(parseExposition(await shards[0]!.metricsText()), 'selfheal_exporter_shard_pushdown');
    expect(Object.fromEntries(gauge.map((s) => [s.labels.feature, s.value]))).toEqual({ ...Object.fromEntries(Object.keys(FIXTURE_FEATURES).map((f) => [f, 1])), share: 0 });
    expect(shards[0]!.groups[0]!.pushdownStates().find((s) => s.feature === 'share')?.reason).toMatch(/sum with no by/);
  }, 60_000);

  it('an entity that appears after training is named in the next catch-up read and trained from its history, as unsharded', async () => {
    const owner = shardOf('services', ['service'], { service: LATE }, 3);
    const single = exporter(undefined, join(work, 'late-single'));
    const shard = exporter({ index: owner, count: 3 }, join(work, 'late-shard'));
    clock.now = trainAt + 0.5;
    for (const e of [single, shard]) expect((await e.runCycles())[0]).toMatchObject({ ok: true, phase: 'train' });
    expect(shard.entities().map(name)).not.toContain(LATE);
    // A gap (as after an outage): the next cycle catches up over the missed span; LATE has ~45 samples in it.
    clock.now = historyEnd - 10 + 0.5;
    const [singleCatchUp] = await single.runCycles();
    const [shardCatchUp] = await shard.runCycles();
    expect(shardCatchUp).toMatchObject({ ok: true, phase: 'catch_up' });
    const owned = shard.entities();
    expect(owned.map(name).sort()).toEqual([...SERVICES.filter((s) => shardOf('services', ['service'], { service: s }, 3) === owner), LATE].sort());
    const late = owned.find((e) => name(e) === LATE);
    expect(late?.samplesSeen).toBeGreaterThan(40);
    expectSameScores(owned, single.entities());
    const features = Object.keys(FIXTURE_FEATURES).length;
    expect(shardCatchUp?.breakdown?.series).toEqual({ read: features * owned.length, owned: features * owned.length, pushedDown: features });
    expect(singleCatchUp?.breakdown?.series.read).toBe(features * (SERVICES.length + 1));
  }, 60_000);
});
