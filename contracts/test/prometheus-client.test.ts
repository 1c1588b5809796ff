// The client against Prometheus's documented HTTP API wire contract (answers copied from
// https://prometheus.io/docs/prometheus/latest/querying/api/), served by a real HTTP server on 127.0.0.1.
// The client against a real Prometheus: stack/test/prometheus-client.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient, PrometheusError } from '../src/prometheus/client.js';
import type { PrometheusRetry } from '../src/prometheus/client.js';

interface Seen {
  method: string;
  path: string;
  body: string;
}
type Handler = (req: Seen) => { status: number; body: string };

let server: Server;
let url: string;
let handler: Handler;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
      seen.push(request);
      const answer = handler(request);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  seen.length = 0;
  waits.length = 0;
});

/** Up to `attempts` attempts through the contracts' retry with backoff; the waits are recorded, not slept. */
const waits: number[] = [];
const upTo = (attempts: number): PrometheusRetry => ({ retries: attempts - 1, backoffSeconds: 0.5, sleep: async (ms) => { waits.push(ms); } });

const ok = (data: unknown) => ({ status: 200, body: JSON.stringify({ status: 'success', data }) });

describe('PrometheusClient (documented wire contract)', () => {
  it('instant query: POSTs the form and returns the vector with numbers', async () => {
    handler = () => ok({ resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'prometheus' }, value: [1435781451.781, '1'] }] });
    const samples = await new PrometheusClient(`${url}/`).query('up{job="prometheus"}', 1435781451);
    expect(samples).toEqual([{ metric: { __name__: 'up', job: 'prometheus' }, timestamp: 1435781451.781, value: 1 }]);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/api/v1/query' });
    expect(new URLSearchParams(seen[0]?.body).get('query')).toBe('up{job="prometheus"}');
    expect(new URLSearchParams(seen[0]?.body).get('time')).toBe('1435781451');
  });

  it('instant query of a scalar is an error naming the query', async () => {
    handler = () => ok({ resultType: 'scalar', result: [1435781451.781, '1'] });
    await expect(new PrometheusClient(url).query('1 + 1')).rejects.toThrow(/query 1 \+ 1 returned a scalar, expected a vector/);
  });

  it('instant() also takes a scalar (as verification conditions may evaluate to one)', async () => {
    handler = () => ok({ resultType: 'scalar', result: [1435781451.781, '2'] });
    expect(await new PrometheusClient(url, { queryMethod: 'GET' }).instant('1 + 1', { time: 1435781451 })).toEqual({ resultType: 'scalar', value: 2, timestamp: 1435781451.781 });
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/api/v1/query?query=1%20%2B%201&time=1435781451' });
    handler = () => ok({ resultType: 'string', result: [1435781451.781, 'x'] });
    await expect(new PrometheusClient(url).instant('"x"')).rejects.toThrow(/query "x" returned a string, expected a vector or a scalar/);
  });

  it("an error answer keeps Prometheus's own error text apart (for audit reasons)", async () => {
    handler = () => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unexpected "}"' }) });
    const failure = await new PrometheusClient(url).instant('up{}}').catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 400, errorType: 'bad_data', prometheusError: '1:5: parse error: unexpected "}"' });
  });

  it("a call the caller aborts ends at once and is not tried again, whatever the retry policy", async () => {
    // The server holds the answer back; the caller gives up after 50 ms.
    handler = () => ({ status: 200, body: '' });
    const slow = createServer(() => undefined);
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      const failure = await new PrometheusClient(slowUrl, { retry: upTo(3) }).instant('up', { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(PrometheusError);
      expect((failure as PrometheusError).message).toMatch(/no answer: .*abort/i);
      expect(waits).toEqual([]);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('range query returns each series with numeric values', async () => {
    handler = () => ok({ resultType: 'matrix', result: [{ metric: { job: 'node' }, values: [[1435781430.781, '1'], [1435781445.781, 'NaN']] }] });
    const series = await new PrometheusClient(url).queryRange('up', { start: 1435781430, end: new Date(1435781460_000), stepSeconds: 15 });
    expect(series).toEqual([{ metric: { job: 'node' }, values: [[1435781430.781, 1], [1435781445.781, Number.NaN]] }]);
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body))).toEqual({ query: 'up', start: '1435781430', end: '1435781460', step: '15' });
  });

  it('series sends every matcher', async () => {
    handler = () => ok([{ __name__: 'up', job: 'prometheus', instance: 'localhost:9090' }]);
    expect(await new PrometheusClient(url).series(['up', 'process_start_time_seconds{job="prometheus"}'], { start: 10 })).toEqual([
      { __name__: 'up', job: 'prometheus', instance: 'localhost:9090' },
    ]);
    expect(new URLSearchParams(seen[0]?.body).getAll('match[]')).toEqual(['up', 'process_start_time_seconds{job="prometheus"}']);
  });

  it('alerts and targets are GETs', async () => {
    handler = (req) =>
      req.path.startsWith('/api/v1/alerts')
        ? ok({ alerts: [{ activeAt: '2018-07-04T20:27:12.60602144+02:00', annotations: {}, labels: { alertname: 'my-alert' }, state: 'firing', value: '1e+00' }] })
        : ok({ activeTargets: [{ labels: { job: 'prometheus' }, scrapeUrl: 'http://127.0.0.1:9090/metrics', health: 'up', lastError: '', extra: 1 }], droppedTargets: [] });
    const client = new PrometheusClient(url);
    expect((await client.alerts())[0]).toMatchObject({ labels: { alertname: 'my-alert' }, state: 'firing' });
    expect(await client.targets()).toEqual([{ labels: { job: 'prometheus' }, scrapeUrl: 'http://127.0.0.1:9090/metrics', health: 'up', lastError: '' }]);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /api/v1/alerts', 'GET /api/v1/targets?state=active']);
  });

  it("an error answer names the URL, the query and Prometheus's errorType and error; 4xx is not retried", async () => {
    handler = () => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:5: parse error: unexpected "}"' }) });
    const failure = await new PrometheusClient(url, { retry: upTo(3) }).query('up{}}').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PrometheusError);
    expect((failure as PrometheusError).message).toBe(
      `Prometheus ${url}/api/v1/query: POST ${url}/api/v1/query (query up{}}): HTTP 400: bad_data: invalid parameter "query": 1:5: parse error: unexpected "}"`,
    );
    expect(failure).toMatchObject({ status: 400, errorType: 'bad_data', retryable: false });
    expect(seen.length).toBe(1);
    expect(waits).toEqual([]);
  });

  it('an answer of the wrong shape is an error naming the field', async () => {
    handler = () => ok({ resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1, 2] }] });
    await expect(new PrometheusClient(url).query('up')).rejects.toThrow(/unexpected answer: data\.result\.0\.value\.1: /);
    handler = () => ({ status: 200, body: '{"state":"ok"}' });
    await expect(new PrometheusClient(url).alerts()).rejects.toThrow(/HTTP 200, not an API answer \(status: /);
  });

  it('retries a busy Prometheus (503 unavailable) with backoff (the contracts\' retryWithBackoff), then succeeds', async () => {
    let calls = 0;
    handler = () => (++calls < 3 ? { status: 503, body: JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'not ready' }) } : ok({ alerts: [] }));
    expect(await new PrometheusClient(url, { retry: upTo(5) }).alerts()).toEqual([]);
    expect(seen.length).toBe(3);
    expect(waits).toEqual([500, 1000]);
  });

  it('gives up when the retries are used up, with the last error', async () => {
    handler = () => ({ status: 503, body: JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'not ready' }) });
    await expect(new PrometheusClient(url, { retry: upTo(2) }).alerts()).rejects.toThrow(/GET .*\/api\/v1\/alerts: HTTP 503: unavailable: not ready/);
    expect(seen.length).toBe(2);
  });

  it('tries once by default', async () => {
    handler = () => ({ status: 503, body: JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'not ready' }) });
    await expect(new PrometheusClient(url).alerts()).rejects.toThrow(PrometheusError);
    expect(seen.length).toBe(1);
  });

  it('no answer (nothing listening) is a retryable error naming the URL; no retry by default', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await new PrometheusClient(`http://127.0.0.1:${port}`).alerts().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PrometheusError);
    expect((failure as PrometheusError).message).toMatch(new RegExp(`^Prometheus http://127.0.0.1:${port}/api/v1/alerts: GET .*: no answer: `));
    expect((failure as PrometheusError).retryable).toBe(true);
  });
});
