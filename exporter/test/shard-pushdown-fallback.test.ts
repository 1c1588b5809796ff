// When Prometheus (or a compatible API with its own limits) rejects a query carrying the shard's entity matchers,
// the shard reads that feature unfiltered, from then on, and says so — the cycle does not fail. A real local HTTP
// server on 127.0.0.1 answers like Prometheus and rejects any query_range with a regex matcher (as Prometheus does
// a regex over Go's size limit: HTTP 400, errorType bad_data); the exporter runs real cycles through the real client.
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { shardOf } from '../src/shard/shard.js';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';
import { listenLoopback } from './helpers.js';

const SERVICES = ['a', 'b', 'c', 'd', 'e', 'f'];

describe('a filtered query that Prometheus rejects is read unfiltered (real HTTP server)', () => {
  let server: Awaited<ReturnType<typeof listenLoopback>>;
  let base: string;
  const rangeQueries: string[] = [];

  beforeAll(async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false, limit: '10mb' }));
    app.post('/api/v1/query_range', (req, res) => {
      const body = req.body as Record<string, string>;
      // The sample-age check (src/source/sample-age.ts): every value observed, an empty answer, as Prometheus's.
      if (body.query?.includes('selfheal_selector')) {
        res.json({ status: 'success', data: { resultType: 'matrix', result: [] } });
        return;
      }
      rangeQueries.push(body.query ?? '');
      if (body.query?.includes('=~')) {
        res.status(400).json({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": error parsing regexp: expression too large' });
        return;
      }
      const [start, end, step] = [Number(body.start), Number(body.end), Number(body.step)];
      const result = SERVICES.map((service, i) => {
        const values: [number, string][] = [];
        for (let t = start; t <= end; t += step) values.push([t, String(1 + i + ((t / step) % 7) / 10)]);
        return { metric: { service }, values };
      });
      res.json({ status: 'success', data: { resultType: 'matrix', result } });
    });
    app.post('/api/v1/query', (req, res) => {
      if ((req.body as Record<string, string>).query?.includes('selfheal_selector')) {
        // The spacing of samples: unknown (no answer), so no query of unobserved values follows.
        res.json({ status: 'success', data: { resultType: 'vector', result: [] } });
        return;
      }
      const time = Number((req.body as Record<string, string>).time);
      res.json({ status: 'success', data: { resultType: 'vector', result: SERVICES.map((service) => ({ metric: { service }, value: [time, '1.2'] })) } });
    });
    server = await listenLoopback(app);
    base = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('trains from the unfiltered read, sets the pushdown gauge to 0 with the reason, and does not try the filter again', async () => {
    const factory = defaultDetectorFactory();
    const text = `
prometheus: { url: ${base}, retries: 0 }
shard: { index: 0, count: 2 }
groups:
  - name: services
    groupBy: [service]
    features:
      cpu: sum by (service) (rate(process_cpu_seconds_total[1m]))
    schedule: { interval: 15s, trainWindow: 1h }
`;
    let now = 1_700_000_000;
    const service = new ExporterService({ config: parseExporterConfig(text, 'shard.yml', factory), factory, logger: pino({ level: 'silent' }), processMetrics: false, now: () => now });
    expect(series(parseExposition(await service.metricsText()), 'selfheal_exporter_shard_pushdown')).toEqual([expect.objectContaining({ labels: { group: 'services', feature: 'cpu' }, value: 1 })]);
    const owned = SERVICES.filter((s) => shardOf('services', ['service'], { service: s }, 2) === 0);
    expect(owned.length).toBeGreaterThan(0);

    const [train] = await service.runCycles();
    expect(train).toMatchObject({ ok: true, phase: 'train', entities: owned.length });
    expect(train?.breakdown?.series).toEqual({ read: SERVICES.length, owned: owned.length, pushedDown: 0 });
    expect(rangeQueries).toHaveLength(2);
    expect(rangeQueries[0]).toContain(`service=~"${[...owned].sort().join('|')}"`);
    expect(rangeQueries[1]).toBe('sum by (service) (rate(process_cpu_seconds_total[1m]))');
    expect(service.entities().map((e) => e.entity.service).sort()).toEqual(owned);
    expect(series(parseExposition(await service.metricsText()), 'selfheal_exporter_shard_pushdown')).toEqual([expect.objectContaining({ value: 0 })]);
    expect(service.groups[0]?.pushdownStates()).toEqual([{ group: 'services', feature: 'cpu', pushedDown: false, reason: expect.stringMatching(/Prometheus rejected the filtered query: .*expression too large/) }]);

    // A gap: the catch-up read goes unfiltered straight away.
    now += 600;
    const [catchUp] = await service.runCycles();
    expect(catchUp).toMatchObject({ ok: true, phase: 'catch_up' });
    expect(rangeQueries).toHaveLength(3);
    expect(rangeQueries[2]).not.toContain('=~');
  });
});
