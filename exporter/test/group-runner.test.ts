// The group runner's entity life cycle against a real Prometheus scraping the fixture target, with the
// real detector: entities appear (warming), vanish (stale, then removed), are bounded by maxEntities;
// badly aggregated feature queries are reported; a corrupt state file is reported and skipped.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startStack, waitFor, type Stack } from '@selfheal/stack';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { stateFile } from '../src/state/store.js';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';
import { FIXTURE_FEATURES, FIXTURE_METRICS, startFixtureTarget, type FixtureTarget } from './fixtures/fixture-target.js';

describe('group runner entity life cycle', () => {
  let fixture: FixtureTarget;
  let stack: Stack;
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const factory = defaultDetectorFactory();
  const stateDir = mkdtempSync(join(tmpdir(), 'selfheal-runner-'));

  beforeAll(async () => {
    fixture = await startFixtureTarget(['alpha', 'beta', 'gamma']);
    fixture.setPresent('gamma', false);
    stack = await startStack({ scrapeTargets: { fixture: [fixture.address] }, withAlertmanager: false, includeShippedRules: false });
    await stack.waitForTargetsUp(['fixture']);
    // A few scrapes of history, so that the first range read (on whole seconds) has points.
    await waitFor(
      async () => {
        const counts = await stack.prometheusClient.query(`count_over_time(${FIXTURE_METRICS.cpu}[1m])`);
        return counts.length === 2 && counts.every((sample) => sample.value >= 3);
      },
      { what: 'three scrapes of the fixture in Prometheus', timeoutMs: 30_000, intervalMs: 200 },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await fixture?.stop();
  });

  function service(extraGroups = '', clock?: { now: number }) {
    const config = parseExporterConfig(
      `
prometheus: { url: '${stack.prometheusUrl}', timeout: 2s, retries: 0 }
stateDir: ${stateDir}
groups:
  - name: services
    groupBy: [service]
    features: { cpu: '${FIXTURE_FEATURES.cpu}', latency_p95: '${FIXTURE_FEATURES.latency_p95}' }
    schedule: { interval: 1s, trainWindow: 1m, vanishGrace: 8s }
${extraGroups}`,
      'runner.yml',
      factory,
    );
    return new ExporterService({ config, factory, logger, processMetrics: false, ...(clock ? { now: () => clock.now } : {}) });
  }

  it('follows entities as their series appear and vanish', async () => {
    const svc = service();
    const [first] = await svc.runCycles();
    expect(first).toMatchObject({ phase: 'train', ok: true, entities: 2 });
    expect(svc.entities().map((e) => e.entity.service).sort()).toEqual(['alpha', 'beta']);

    fixture.setPresent('gamma', true);
    await waitFor(
      async () => {
        await svc.runCycles();
        return svc.entities().some((e) => e.entity.service === 'gamma');
      },
      { what: 'gamma to appear', timeoutMs: 30_000, intervalMs: 1000 },
    );
    const gamma = svc.entities().find((e) => e.entity.service === 'gamma');
    // A new entity warms up: no score is published for it yet.
    expect(gamma).toMatchObject({ state: 'warming', published: false, anomalyScore: null });

    fixture.setPresent('beta', false);
    await waitFor(
      async () => {
        await svc.runCycles();
        return svc.entities().find((e) => e.entity.service === 'beta')?.state === 'stale';
      },
      { what: 'beta to go stale', timeoutMs: 30_000, intervalMs: 250 },
    );
    const samples = parseExposition(await svc.metricsText());
    expect(series(samples, 'selfheal_entities', { group: 'services', state: 'stale' })[0]?.value).toBe(1);
    await waitFor(
      async () => {
        await svc.runCycles();
        return !svc.entities().some((e) => e.entity.service === 'beta');
      },
      { what: 'beta to be removed after vanishGrace', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(logs.some((l) => l.msg === 'entity vanished from Prometheus; its series are removed')).toBe(true);
    const after = parseExposition(await svc.metricsText());
    expect(series(after, 'selfheal_model_training_samples', { service: 'beta' })).toEqual([]);
    fixture.setPresent('beta', true);
  }, 120_000);

  it('bounds entities by maxEntities and reports feature queries that are not aggregated per entity', async () => {
    const clock = { now: Math.floor(Date.now() / 1000) - 1.5 };
    const svc = service(`
  - name: capped
    groupBy: [service]
    maxEntities: 1
    features: { cpu: '${FIXTURE_FEATURES.cpu}' }
    schedule: { interval: 1s, trainWindow: 1m }
  - name: unaggregated
    groupBy: [service]
    features: { cpu: 'fixture_cpu_usage_ratio or label_replace(fixture_cpu_usage_ratio, "copy", "1", "", "")' }
    schedule: { interval: 1s, trainWindow: 1m }
`, clock);
    // A training cycle, then a scoring cycle one step later: on an injected clock, a second behind real time so that
    // Prometheus holds the samples of both evaluation times.
    expect((await svc.runCycles()).map((r) => r.phase)).toEqual(['train', 'train', 'train']);
    clock.now += 1;
    expect((await svc.runCycles()).map((r) => r.phase)).toEqual(['score', 'score', 'score']);
    expect(svc.entities('capped')).toHaveLength(1);
    expect(logs.some((l) => String(l.msg).startsWith('group has reached maxEntities (1)'))).toBe(true);
    expect(svc.entities('unaggregated').map((e) => e.entity.service).sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(logs.some((l) => String(l.msg).includes('feature "cpu" returns several series for one entity; aggregate it, e.g. "sum by (service) (...)"'))).toBe(true);
  }, 30_000);

  it('reports a corrupt state file and trains instead, never failing', async () => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(stateFile(stateDir, 'services'), 'garbage that is not a state file');
    const svc = service();
    const restored = await Promise.all(svc.groups.map((g) => g.restore()));
    expect(restored).toEqual([0]);
    expect(logs.some((l) => l.msg === 'model state not restored' && /not a Selfheal exporter state file; ignored/.test(String(l.problem)))).toBe(true);
    const samples = parseExposition(await svc.metricsText());
    expect(series(samples, 'selfheal_exporter_state_errors_total', { operation: 'load' })[0]?.value).toBe(1);
    const [cycle] = await svc.runCycles();
    expect(cycle).toMatchObject({ phase: 'train', ok: true });
    // And the next save replaces the corrupt file with a valid one.
    await svc.saveAll();
    const again = service();
    const trained = svc.entities().filter((e) => e.samplesSeen > 0).length;
    expect(trained).toBeGreaterThanOrEqual(2);
    expect(await Promise.all(again.groups.map((g) => g.restore()))).toEqual([trained]);
  }, 30_000);
});
