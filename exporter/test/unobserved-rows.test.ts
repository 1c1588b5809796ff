// Rows Prometheus did not observe are missing, not data (src/source/sample-age.ts). Prometheus writes no
// staleness markers when it stops, so over a gap in scrapes every query returns the last samples again (lookback
// 5 min). A real Prometheus serves a history written with promtool (1 s samples) that has such gaps: an outage
// (no sample of any series for 60 s) and two series that alone went unscraped for 60 s (one of them without the
// groupBy label, read by a feature through label_replace). The exporter runs real cycles on a fixed clock with the
// real detector, wrapped to record every row it is fed: rows in the gaps are not fed (or carry NaN for the features
// whose samples are old), a real flat line stays data, no verdict is published from the gap, and the scores come
// back with the first observed row. A backend that refuses the query degrades to the old behaviour, with a warning.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startStack, type Stack } from '@selfheal/stack';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamingDetector } from '../src/detector/types.js';
import { summarizeExporterConfig } from '../src/config/check.js';
import { parseExporterConfig } from '../src/config/load.js';
import { checkableSelectors, planSampleAgeCheck, sampleAgeLimit, unobservedQuery } from '../src/source/sample-age.js';
import type { DetectorFactory } from '../src/detector/factory.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';
import { listenLoopback } from './helpers.js';

describe('the selectors whose sample age is checked', () => {
  it('every selector, also inside range selectors and subqueries; not under offset or @, nor inside absent(); each once', () => {
    expect(checkableSelectors('sum by (service) (rate(http_requests_total{job="demo", code=~"5.."}[1m])) / sum by (service) (rate(http_requests_total{job="demo"}[1m]))'))
      .toEqual(['http_requests_total{job="demo", code=~"5.."}', 'http_requests_total{job="demo"}']);
    expect(checkableSelectors('max_over_time(rate(a[1m])[10m:1m]) + on (service) b - a')).toEqual(['a', 'b']);
    expect(checkableSelectors('a - a offset 1d')).toEqual(['a']);
    expect(checkableSelectors('a - b - c offset 1d')).toEqual(['a', 'b']);
    expect(checkableSelectors('a * b @ 1700000000 + c')).toEqual(['a', 'c']);
    expect(checkableSelectors('rate(a[5m] offset 1h) + b @ 1700000000 + absent(c) + absent_over_time(d[5m])')).toEqual([]);
    expect(checkableSelectors('{__name__=~"x|y", job="j"}')).toEqual(['{__name__=~"x|y", job="j"}']);
    expect(checkableSelectors('vector(1)')).toEqual([]);
    expect(checkableSelectors('sum by (service) (x{')).toEqual([]);
  });

  it('one spacing query and one query of unobserved values for the group; features without a checkable selector are named', () => {
    const plan = planSampleAgeCheck({ cpu: 'sum by (service) (rate(cpu[1m]))', ratio: 'sum by (service) (err) / sum by (service) (cpu)', constant: 'vector(1)' }, ['service']);
    expect(plan.selectors).toEqual(['cpu', 'err']);
    expect(plan.selectorFeatures).toEqual([[0, 1], [1]]);
    expect(plan.unchecked).toEqual(['constant']);
    expect(plan.spacingQuery).toContain('label_replace(max(min by (service) (600 / count_over_time(cpu[600s]) and cpu offset 600s)), "selfheal_selector", "0", "", "")');
    // Twice the larger of the step and the spacing; a selector without a known spacing is left out.
    expect(sampleAgeLimit(15, 1)).toBe(30);
    expect(sampleAgeLimit(15, 60)).toBe(120);
    expect(unobservedQuery(plan, ['service'], [30, undefined])).toBe(
      'label_replace(max by (service) (cpu) unless max by (service) (count_over_time(cpu[30000ms])), "selfheal_selector", "0", "", "")',
    );
    expect(unobservedQuery(plan, ['service'], [undefined, undefined])).toBeUndefined();
    expect(planSampleAgeCheck({ a: 'x' }, ['selfheal_selector']).tagLabel).toBe('selfheal_selector_');
    expect(planSampleAgeCheck({ a: 'vector(1)' }, ['service']).spacingQuery).toBeUndefined();
    // `selfheal check-config` names the features that cannot be checked.
    const config = (features: string) => parseExporterConfig(`
prometheus: { url: 'http://127.0.0.1:9090' }
groups: [{ name: g, groupBy: [service], features: ${features} }]
`, 'exporter.yml', defaultDetectorFactory());
    expect(summarizeExporterConfig(config("{ cpu: 'sum by (service) (rate(cpu[1m]))', last_week: 'sum by (service) (cpu offset 1w)' }")))
      .toContain('the sample age of g/last_week cannot be checked (no selector outside offset, @ or absent())');
    expect(summarizeExporterConfig(config("{ cpu: 'sum by (service) (rate(cpu[1m]))' }"))).not.toContain('sample age');
    // A comment inside the selector's braces does not swallow the rest of the query.
    const commented = planSampleAgeCheck({ a: 'x{job="j", # the job\n}' }, ['service']);
    expect(commented.spacingQuery).toContain('count_over_time(x{job="j", # the job\n}\n[600s])');
    expect(unobservedQuery(commented, ['service'], [2])).toContain('max by (service) (x{job="j", # the job\n}\n)');
  });
});

/** One fed row: sample time and the feature values (NaN = missing). */
type Row = [number, ...number[]];

/** The real detector, recording every row it is fed (one list per created or restored detector). */
function recordingFactory(rows: Row[][]): DetectorFactory {
  const real = defaultDetectorFactory();
  const wrap = (detector: StreamingDetector): StreamingDetector => {
    const fed: Row[] = [];
    rows.push(fed);
    const d = detector.featureNames.length;
    return {
      get featureNames() { return detector.featureNames; },
      get state() { return detector.state; },
      get samplesSeen() { return detector.samplesSeen; },
      get trainedAt() { return detector.trainedAt; },
      get trainingSamples() { return detector.trainingSamples; },
      update(ts, values) {
        fed.push([ts, ...Array.from(values)]);
        return detector.update(ts, values);
      },
      updateBatch(timestamps, values) {
        for (let i = 0; i < timestamps.length; i++) fed.push([timestamps[i] as number, ...Array.from(values.subarray(i * d, (i + 1) * d))]);
        return detector.updateBatch(timestamps, values);
      },
      serialize: () => detector.serialize(),
    };
  };
  return { ...real, create: (names, options) => wrap(real.create(names, options)), restore: (bytes) => wrap(real.restore(bytes)) };
}

const FEATURES = {
  value: 'max by (service) (probe_value)',
  flat: 'max by (service) (probe_flat)',
  partial: 'max by (service) (probe_partial)',
  // Its series carries no service label: its sample age concerns every entity.
  shared: 'label_replace(max(probe_shared), "service", "a", "", "")',
};
const COLUMN = { value: 1, flat: 2, partial: 3, shared: 4 } as const;

describe('rows Prometheus did not observe, against a real Prometheus (history with gaps written by promtool, fixed clock)', () => {
  let stack: Stack;
  const t0 = Math.floor(Date.now() / 1000) - 2400;
  /** Gaps: [from, to) without samples, each with a full 10 min of history before it (the spacing window). */
  const PARTIAL_GAP = [t0 + 700, t0 + 760];
  const SHARED_GAP = [t0 + 1000, t0 + 1060];
  const OUTAGE = [t0 + 1400, t0 + 1460];
  const END = t0 + 1800;
  const inGap = (t: number, [from, to]: number[]): boolean => t >= (from as number) && t < (to as number);

  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), 'selfheal-unobserved-'));
    const lines: string[] = [];
    const metric = (name: string, labels: string, value: (t: number) => number, gaps: number[][]): void => {
      lines.push(`# TYPE ${name} gauge`);
      for (let t = t0; t <= END; t++) if (!gaps.some((gap) => inGap(t, gap))) lines.push(`${name}${labels} ${value(t)} ${t}`);
    };
    metric('probe_value', '{service="a"}', (t) => 1 + ((t * 7) % 10) / 10, [OUTAGE]);
    metric('probe_flat', '{service="a"}', () => 5, [OUTAGE]);
    metric('probe_partial', '{service="a"}', (t) => 3 + ((t * 3) % 10) / 10, [OUTAGE, PARTIAL_GAP]);
    metric('probe_shared', '', (t) => 2 + (t % 3) / 100, [OUTAGE, SHARED_GAP]);
    lines.push('# EOF');
    writeFileSync(join(work, 'history.om'), `${lines.join('\n')}\n`);
    const result = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', join(work, 'history.om'), join(work, 'tsdb')], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`promtool create-blocks-from failed: ${result.stderr}${result.stdout}`);
    stack = await startStack({ scrapeTargets: {}, withAlertmanager: false, includeShippedRules: false, prometheusDataDir: join(work, 'tsdb') });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  function exporter(clock: { now: number }, rows: Row[][], trainWindow = 1800) {
    const factory = recordingFactory(rows);
    const text = `
prometheus: { url: '${stack.prometheusUrl}', retries: 0 }
groups:
  - name: probes
    groupBy: [service]
    features:
${Object.entries(FEATURES).map(([name, promql]) => `      ${name}: '${promql.replaceAll("'", "''")}'`).join('\n')}
    schedule: { interval: 1s, trainWindow: ${trainWindow}s, maxScoreAge: 3s }
`;
    return new ExporterService({ config: parseExporterConfig(text, 'probes.yml', factory), factory, logger: pino({ level: 'silent' }), processMetrics: false, now: () => clock.now });
  }

  it('training over the history: rows in the outage are not fed, a stale series is fed as missing, a real flat line stays data', async () => {
    const clock = { now: END + 0.5 };
    const rows: Row[][] = [];
    const svc = exporter(clock, rows);
    const [train] = await svc.runCycles();
    expect(train).toMatchObject({ ok: true, phase: 'train', entities: 1 });
    expect(rows).toHaveLength(1);
    const fed = rows[0] as Row[];
    const at = new Map(fed.map((row) => [row[0], row]));
    // The outage: the last samples are at OUTAGE[0] - 1; a row is missing once they are older than twice their spacing (1 s).
    const [outageFrom, outageTo] = OUTAGE as [number, number];
    const fedInOutage = fed.filter((row) => inGap(row[0], OUTAGE)).map((row) => row[0] - outageFrom);
    expect(fedInOutage, 'rows fed during the outage (seconds after its start)').toEqual([0, 1]);
    expect(at.has(outageTo)).toBe(true);
    // Everything else is fed (the detector's stagger may skip a few rows at the very start).
    expect(fed.filter((row) => row[0] >= t0 + 250).length).toBe(END - (t0 + 250) + 1 - (outageTo - outageFrom - 2));
    // A series that alone went unscraped: its feature is missing (NaN) in the rows of its gap, the others are data.
    for (const [gap, column] of [[PARTIAL_GAP, COLUMN.partial], [SHARED_GAP, COLUMN.shared]] as const) {
      const [from, to] = gap as [number, number];
      for (let t = from; t < to; t++) {
        const row = at.get(t);
        expect(row, `row ${t - t0}`).toBeDefined();
        const observed = t - from < 2;
        expect(Number.isNaN(row?.[column]), `feature ${column} at ${t - t0}: ${row?.[column]}`).toBe(!observed);
        expect(row?.[COLUMN.value]).toBe(1 + ((t * 7) % 10) / 10);
      }
      expect(at.get(to)?.[column]).not.toBeNaN();
    }
    // The real flat line (a gauge that never moves, scraped every second) is data in every fed row.
    expect(fed.filter((row) => row[0] >= t0 + 250).every((row) => row[COLUMN.flat] === 5)).toBe(true);
    const unobserved = series(parseExposition(await svc.metricsText()), 'selfheal_exporter_unobserved_values_total', { group: 'probes' })[0]?.value;
    // Outage: 58 rows x 4 features; the two single-series gaps: 58 rows each.
    expect(unobserved).toBe(58 * 4 + 58 + 58);
    expect(train?.breakdown?.unobservedValues).toBe(unobserved);
  }, 60_000);

  it('scoring through the outage: no row fed and no score published from the gap, scores again with the first observed row', async () => {
    const clock = { now: OUTAGE[0] as number - 10 + 0.5 };
    const rows: Row[][] = [];
    const svc = exporter(clock, rows, 590);
    expect((await svc.runCycles())[0]).toMatchObject({ ok: true, phase: 'train' });
    const fed = rows[0] as Row[];
    const timeline: string[] = [];
    for (let t = (OUTAGE[0] as number) - 9; t <= (OUTAGE[1] as number) + 5; t++) {
      clock.now = t + 0.5;
      const [cycle] = await svc.runCycles();
      expect(cycle).toMatchObject({ ok: true, phase: 'score' });
      const entity = svc.entities()[0];
      timeline.push(`${t - (OUTAGE[0] as number)}:${fed.at(-1)?.[0] === t ? 'fed' : '-'}/${entity?.state}/${entity?.published ? 'published' : 'withheld'}`);
    }
    const state = (offset: number): string | undefined => timeline.find((entry) => entry.startsWith(`${offset}:`));
    // Fed up to the second row after the last samples, then nothing until the samples are back.
    expect(state(1)).toMatch(/^1:fed\/ready\/published$/);
    for (let offset = 2; offset < 60; offset++) expect(state(offset), timeline.join(' ')).toMatch(/^-?\d+:-\//);
    // The last verdict ages: stale after two intervals, withheld after maxScoreAge (3 s), until the outage ends.
    for (let offset = 6; offset < 60; offset++) expect(state(offset), timeline.join(' ')).toMatch(/\/stale\/withheld$/);
    expect(state(60)).toMatch(/^60:fed\/ready\/published$/);
    const unobserved = series(parseExposition(await svc.metricsText()), 'selfheal_exporter_unobserved_values_total', { group: 'probes' })[0]?.value;
    // The outage's rows, and those of the single-series gap inside the training read.
    expect(unobserved).toBe(58 * 4 + 58);
  }, 60_000);

  it('catching up over the outage: the rows of the gap are not fed, the scores after it are fresh', async () => {
    const clock = { now: OUTAGE[0] as number - 10 + 0.5 };
    const rows: Row[][] = [];
    const svc = exporter(clock, rows, 590);
    await svc.runCycles();
    clock.now = (OUTAGE[1] as number) + 40.5;
    const [catchUp] = await svc.runCycles();
    expect(catchUp).toMatchObject({ ok: true, phase: 'catch_up' });
    const fed = (rows[0] as Row[]).filter((row) => row[0] > (OUTAGE[0] as number) - 10).map((row) => row[0] - (OUTAGE[0] as number));
    const expected = [];
    for (let offset = -9; offset <= 100; offset++) if (offset < 2 || offset >= 60) expected.push(offset);
    expect(fed).toEqual(expected);
    expect(svc.entities()[0]).toMatchObject({ state: 'ready', published: true });
  }, 60_000);
});

describe('a backend that refuses the sample-age query (real HTTP server)', () => {
  it('the cycles still succeed, values are taken as observed, and a warning says so once', async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    const refused: string[] = [];
    app.post(['/api/v1/query', '/api/v1/query_range'], (req, res) => {
      const body = req.body as Record<string, string>;
      if (body.query?.includes('selfheal_selector')) {
        refused.push(req.path);
        res.status(422).json({ status: 'error', errorType: 'execution', error: 'unknown function count_over_time' });
        return;
      }
      if (req.path.endsWith('query_range')) {
        const values: [number, string][] = [];
        for (let t = Number(body.start); t <= Number(body.end); t += Number(body.step)) values.push([t, String(1 + (t % 7) / 10)]);
        res.json({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { service: 'a' }, values }] } });
      } else {
        res.json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { service: 'a' }, value: [Number(body.time), '1.2'] }] } });
      }
    });
    const server = await listenLoopback(app);
    try {
      const logs: { msg: string; error?: string }[] = [];
      const logger = pino({ level: 'warn' }, new Writable({ write(chunk: Buffer, _e, done) { logs.push(JSON.parse(chunk.toString()) as { msg: string }); done(); } }));
      const factory = defaultDetectorFactory();
      const text = `
prometheus: { url: '${server.url}', retries: 0 }
groups:
  - name: services
    groupBy: [service]
    features: { cpu: 'sum by (service) (rate(cpu_seconds_total[1m]))' }
    schedule: { interval: 15s, trainWindow: 1h }
`;
      let now = 1_700_000_000;
      const svc = new ExporterService({ config: parseExporterConfig(text, 'refusing.yml', factory), factory, logger, processMetrics: false, now: () => now });
      expect((await svc.runCycles())[0]).toMatchObject({ ok: true, phase: 'train', entities: 1 });
      now += 15;
      expect((await svc.runCycles())[0]).toMatchObject({ ok: true, phase: 'score' });
      const trained = svc.entities()[0]?.samplesSeen ?? 0;
      expect(trained).toBeGreaterThan(0);
      now += 15;
      expect((await svc.runCycles())[0]).toMatchObject({ ok: true, phase: 'score' });
      expect(svc.entities()[0]?.samplesSeen).toBe(trained + 1);
      // The spacing of samples at both ends of the training read; then nothing to ask until it is measured again.
      expect(refused).toEqual(['/api/v1/query', '/api/v1/query']);
      const warnings = logs.filter((l) => l.msg.startsWith('Prometheus refused the query telling the rows it did not observe'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.error).toMatch(/unknown function count_over_time/);
    } finally {
      await server.close();
    }
  }, 30_000);
});
