// Prometheus-compatible query APIs behind a path prefix and a tenant header (Mimir/Cortex `X-Scope-OrgID`,
// VictoriaMetrics cluster `/select/<tenant>/prometheus`, Thanos Query behind a proxy): a real local HTTP server on
// 127.0.0.1 that, like Mimir, refuses requests without the tenant header, and the exporter service configured
// from YAML (prometheus.url with the prefix, prometheus.headers) running real training and scoring cycles.
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { listenLoopback } from './helpers.js';

interface Seen {
  path: string;
  tenant: string | undefined;
  custom: string | undefined;
  /** What the query is: the feature's, or one of the sample-age check's (src/source/sample-age.ts). */
  kind: QueryKind;
}

type QueryKind = 'feature' | 'spacing' | 'unobserved';
/** The sample-age check's queries carry its tag label: the spacing of samples, and the values not observed. */
function queryKind(body: unknown): QueryKind {
  const query = String((body as Record<string, string>).query ?? '');
  if (!query.includes('selfheal_selector')) return 'feature';
  return query.includes(' unless ') ? 'unobserved' : 'spacing';
}

describe('a Prometheus-compatible API with a path prefix and a tenant header (real HTTP server)', () => {
  let server: Awaited<ReturnType<typeof listenLoopback>>;
  let base: string;
  const seen: Seen[] = [];
  const PREFIX = '/select/0/prometheus';

  beforeAll(async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use((req, res, next) => {
      seen.push({ path: req.path, tenant: req.header('x-scope-orgid'), custom: req.header('x-selfheal-test'), kind: queryKind(req.body) });
      // What Mimir answers without a tenant.
      if (req.header('x-scope-orgid') !== 'tenant-1') res.status(401).type('text/plain').send('no org id\n');
      else next();
    });
    // The sample-age check as Prometheus answers it while targets are scraped: a spacing of 15 s, every value observed.
    app.post(`${PREFIX}/api/v1/query_range`, (req, res, next) => {
      if (queryKind(req.body) === 'unobserved') res.json({ status: 'success', data: { resultType: 'matrix', result: [] } });
      else next();
    });
    app.post(`${PREFIX}/api/v1/query`, (req, res, next) => {
      const time = Number((req.body as Record<string, string>).time);
      const kind = queryKind(req.body);
      if (kind === 'spacing') res.json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { selfheal_selector: '0' }, value: [time, '15'] }] } });
      else if (kind === 'unobserved') res.json({ status: 'success', data: { resultType: 'vector', result: [] } });
      else next();
    });
    app.post(`${PREFIX}/api/v1/query_range`, (req, res) => {
      const body = req.body as Record<string, string>;
      const [start, end, step] = [Number(body.start), Number(body.end), Number(body.step)];
      const values: [number, string][] = [];
      for (let t = start; t <= end; t += step) values.push([t, String(1 + (t % 7) / 10)]);
      res.json({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { service: 'a' }, values }] } });
    });
    app.post(`${PREFIX}/api/v1/query`, (req, res) => {
      const time = Number((req.body as Record<string, string>).time);
      res.json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { service: 'a' }, value: [time, '1.2'] }] } });
    });
    server = await listenLoopback(app);
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  const config = (headers: string) => `
prometheus:
  url: ${base}${PREFIX}/
  retries: 0
${headers}
groups:
  - name: services
    groupBy: [service]
    features:
      cpu: sum by (service) (rate(process_cpu_seconds_total[1m]))
    schedule: { interval: 15s, trainWindow: 1h }
`;

  it('sends the configured headers on every query_range and query, under the base URL\'s path prefix', async () => {
    const factory = defaultDetectorFactory();
    const parsed = parseExporterConfig(config('  headers: { X-Scope-OrgID: tenant-1, X-Selfheal-Test: "yes" }'), 'mimir.yml', factory);
    let now = 1_700_000_000;
    const service = new ExporterService({ config: parsed, factory, logger: pino({ level: 'silent' }), processMetrics: false, now: () => now });
    seen.length = 0;
    expect((await service.runCycles())[0]).toMatchObject({ ok: true, phase: 'train', entities: 1 });
    now += 15;
    expect((await service.runCycles())[0]).toMatchObject({ ok: true, phase: 'score', entities: 1 });
    // Training: the feature's query_range, the spacing of samples at both ends, the unobserved values over the range;
    // scoring: the feature's and the unobserved values' instant queries.
    expect(seen.map((s) => `${s.path} ${s.kind}`).sort()).toEqual([
      `${PREFIX}/api/v1/query feature`,
      `${PREFIX}/api/v1/query spacing`,
      `${PREFIX}/api/v1/query spacing`,
      `${PREFIX}/api/v1/query unobserved`,
      `${PREFIX}/api/v1/query_range feature`,
      `${PREFIX}/api/v1/query_range unobserved`,
    ]);
    for (const s of seen) expect(s).toMatchObject({ tenant: 'tenant-1', custom: 'yes' });
    expect(service.entities().map((e) => e.entity)).toEqual([{ service: 'a' }]);
  });

  it('without the tenant header the API refuses, and the cycle fails with the status (not silently empty)', async () => {
    const factory = defaultDetectorFactory();
    const service = new ExporterService({ config: parseExporterConfig(config(''), 'mimir.yml', factory), factory, logger: pino({ level: 'silent' }), processMetrics: false });
    seen.length = 0;
    const [result] = await service.runCycles();
    expect(result?.ok).toBe(false);
    expect(result?.error).toMatch(/401/);
    expect(seen[0]).toMatchObject({ path: `${PREFIX}/api/v1/query_range`, tenant: undefined });
  });
});
