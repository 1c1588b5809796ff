// The Prometheus client against a real Prometheus (query shapes, chunking under the real 11,000-point
// limit, the real error envelope) and against a local HTTP server for faults Prometheus cannot be made
// to produce on demand (5xx bursts, hangs, garbage).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, freePort, type Stack } from '@selfheal/stack';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient, PrometheusError, type PrometheusClientOptions } from '../src/source/client.js';
import type { Endpoint, RequestOutcome } from '../src/source/types.js';
import { listenLoopback } from './helpers.js';

function client(url: string, extra: Partial<PrometheusClientOptions> = {}) {
  const calls: { endpoint: Endpoint; outcome: RequestOutcome }[] = [];
  const c = new PrometheusClient({
    url,
    timeoutSeconds: 5,
    retries: 2,
    retryBackoffSeconds: 0.01,
    acceptEncoding: 'identity',
    maxPointsPerRequest: 2_000_000,
    onRequest: (endpoint, outcome) => calls.push({ endpoint, outcome }),
    ...extra,
  });
  return { c, calls };
}

describe('PrometheusClient against a real Prometheus', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ withAlertmanager: false, includeShippedRules: false });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs an instant query and returns typed samples', async () => {
    const { c, calls } = client(stack.prometheusUrl);
    const now = Math.floor(Date.now() / 1000);
    const samples = await c.query('label_replace(vector(42), "service", "checkout", "", "")', now);
    expect(samples).toEqual([{ metric: { service: 'checkout' }, timestamp: now, value: 42 }]);
    expect(calls).toEqual([{ endpoint: 'query', outcome: 'success' }]);
  });

  it('splits a long range query under the 11,000 points per series limit and merges it', async () => {
    const { c, calls } = client(stack.prometheusUrl);
    const end = Math.floor(Date.now() / 1000);
    const start = end - 24_999;
    const [series, ...rest] = await c.queryRange('vector(time())', start, end, 1);
    expect(rest).toEqual([]);
    expect(series?.values.length).toBe(25_000);
    // vector(time()) evaluates to the step's own timestamp: every point is where it belongs.
    expect(series?.timestamps[0]).toBe(start);
    expect(series?.values[12_345]).toBe(start + 12_345);
    expect(series?.timestamps[24_999]).toBe(end);
    expect(calls.map((call) => call.outcome)).toEqual(['success', 'success', 'success']);
  });

  it('reads the same range answer with accept-encoding gzip (decompressed as it streams in) as with identity', async () => {
    const end = Math.floor(Date.now() / 1000);
    const promql = 'label_replace(vector(time() / 7), "s", "a", "", "") or label_replace(vector(-time() / 3), "s", "b", "", "")';
    const plain = await client(stack.prometheusUrl).c.queryRange(promql, end - 2999, end, 1, 2);
    const gzip = client(stack.prometheusUrl, { acceptEncoding: 'gzip' });
    const zipped = await gzip.c.queryRange(promql, end - 2999, end, 1, 2);
    expect(zipped.length).toBe(2);
    expect(zipped.map((s) => s.metric)).toEqual(plain.map((s) => s.metric));
    expect(zipped.map((s) => Array.from(s.values))).toEqual(plain.map((s) => Array.from(s.values)));
    expect(zipped[0]?.values[0]).toBe((end - 2999) / 7);
    expect(gzip.calls).toEqual([{ endpoint: 'query_range', outcome: 'success' }]);
  });

  it('splits by the memory budget: points per answer <= maxPointsPerRequest', async () => {
    const { c, calls } = client(stack.prometheusUrl, { maxPointsPerRequest: 300 });
    const end = Math.floor(Date.now() / 1000);
    const chunks: number[] = [];
    // 3 series x 100 points per answer at most.
    const promql = 'label_replace(vector(1), "s", "a", "", "") or label_replace(vector(2), "s", "b", "", "") or label_replace(vector(3), "s", "c", "", "")';
    await c.queryRangeChunks(promql, end - 999, end, 1, 3, (chunk) => {
      chunks.push(chunk.reduce((sum, s) => sum + s.values.length, 0));
    });
    expect(chunks).toEqual(Array(10).fill(300));
    expect(calls.length).toBe(10);
  });

  it('reports bad PromQL with the API error type and does not retry it', async () => {
    const { c, calls } = client(stack.prometheusUrl);
    const error = await c.query('sum(').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusError);
    expect((error as PrometheusError).errorType).toBe('bad_data');
    expect((error as PrometheusError).outcome).toBe('client_error');
    expect((error as PrometheusError).message).toMatch(/HTTP 400: bad_data: .*parse error/);
    expect(calls).toEqual([{ endpoint: 'query', outcome: 'client_error' }]);
  });

  it('rejects a feature query that is not an instant vector', async () => {
    const { c } = client(stack.prometheusUrl);
    await expect(c.query('scalar(vector(1))')).rejects.toThrow(/returned a scalar, expected an instant vector/);
  });
});

describe('PrometheusClient faults', () => {
  let server: Awaited<ReturnType<typeof listenLoopback>>;
  let url: string;
  let failuresLeft = 0;
  let lastHeaders: Record<string, string | string[] | undefined> = {};

  beforeAll(async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.post('/api/v1/query', (req, res) => {
      lastHeaders = req.headers;
      const query = String((req.body as Record<string, string>).query);
      if (query === 'flaky' && failuresLeft > 0) {
        failuresLeft--;
        res.status(503).json({ status: 'error', errorType: 'unavailable', error: 'overloaded' });
      } else if (query === 'hang') {
        setTimeout(() => res.json({ status: 'success', data: { resultType: 'vector', result: [] } }), 2000);
      } else if (query === 'garbage') {
        res.status(200).type('html').send('<html>proxy login</html>');
      } else {
        res.json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { service: 'a' }, value: [1000, '1.5'] }] } });
      }
    });
    // query_range answers the streaming scanner must decline or report: another key order (the envelope is not
    // recognised: read from the bytes already received), a native histogram series after a float one (recognised,
    // then declined: asked again as text), a 422 error, and an answer cut off mid-matrix.
    const series = { metric: { service: 'a' }, values: [[1000, '1.5'], [1060, '2.5']] };
    app.post('/api/v1/query_range', (req, res) => {
      const query = String((req.body as Record<string, string>).query);
      if (query === 'reordered') res.json({ data: { result: [series], resultType: 'matrix' }, status: 'success' });
      else if (query === 'histograms') {
        // Long enough to arrive in several chunks: the envelope is recognised (and dropped) before the histogram.
        const many = Array.from({ length: 5000 }, (_, i) => ({ metric: { service: `s${i}` }, values: series.values }));
        res.json({ status: 'success', data: { resultType: 'matrix', result: [...many, { metric: { service: 'b' }, histograms: [[1000, { count: '1', sum: '2' }]] }] } });
      } else if (query === 'invalid') res.status(422).json({ status: 'error', errorType: 'execution', error: 'too many samples' });
      else if (query === 'cut') res.type('json').send('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1000,"1"]');
      else res.json({ status: 'success', data: { resultType: 'matrix', result: [series] } });
    });
    server = await listenLoopback(app);
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it('retries 5xx with backoff and succeeds', async () => {
    failuresLeft = 2;
    const { c, calls } = client(url);
    const samples = await c.query('flaky');
    expect(samples[0]?.value).toBe(1.5);
    expect(calls.map((call) => call.outcome)).toEqual(['server_error', 'server_error', 'success']);
  });

  it('gives up after the configured retries with the last error', async () => {
    failuresLeft = 10;
    const { c, calls } = client(url, { retries: 1 });
    await expect(c.query('flaky')).rejects.toThrow(/HTTP 503: unavailable: overloaded/);
    expect(calls.length).toBe(2);
    failuresLeft = 0;
  });

  it('times out a hanging Prometheus', async () => {
    const { c, calls } = client(url, { timeoutSeconds: 0.2, retries: 0 });
    const error = (await c.query('hang').catch((e: unknown) => e)) as PrometheusError;
    expect(error.outcome).toBe('timeout');
    expect(error.message).toMatch(/no answer .* within 0.2s/);
    expect(calls).toEqual([{ endpoint: 'query', outcome: 'timeout' }]);
  });

  it('reports a non-API answer (e.g. a proxy page) without retrying', async () => {
    const { c, calls } = client(url);
    await expect(c.query('garbage')).rejects.toThrow(/not a Prometheus API answer \(HTTP 200\): <html>proxy login/);
    expect(calls.length).toBe(1);
  });

  it('reads range answers as they stream in, and the unusual ones the generic way', async () => {
    const { c, calls } = client(url);
    const read = async (query: string) => (await c.queryRange(query, 1000, 1060, 60)).map((s) => ({ metric: s.metric, values: Array.from(s.values) }));
    expect(await read('plain')).toEqual([{ metric: { service: 'a' }, values: [1.5, 2.5] }]);
    expect(calls.length).toBe(1);
    expect(await read('reordered')).toEqual([{ metric: { service: 'a' }, values: [1.5, 2.5] }]);
    expect(calls.length).toBe(2);
    // A series without float values: declined mid-answer, asked again as text, which reads the float series.
    const mixed = await read('histograms');
    expect(mixed.length).toBe(5001);
    expect(mixed[4999]).toEqual({ metric: { service: 's4999' }, values: [1.5, 2.5] });
    expect(mixed[5000]).toEqual({ metric: { service: 'b' }, values: [] });
    expect(calls.map((call) => call.outcome)).toEqual(['success', 'success', 'success', 'success']);
    const invalid = (await c.queryRange('invalid', 1000, 1060, 60).catch((e: unknown) => e)) as PrometheusError;
    expect(invalid.outcome).toBe('client_error');
    expect(invalid.message).toMatch(/HTTP 422: execution: too many samples/);
    const cut = (await c.queryRange('cut', 1000, 1060, 60).catch((e: unknown) => e)) as PrometheusError;
    expect(cut.outcome).toBe('invalid_response');
    expect(cut.message).toMatch(/ended before the matrix was complete/);
  });

  it('counts connection errors when Prometheus is down', async () => {
    const port = await freePort();
    const { c, calls } = client(`http://127.0.0.1:${port}`, { retries: 1 });
    const error = (await c.query('up').catch((e: unknown) => e)) as PrometheusError;
    expect(error.outcome).toBe('connection_error');
    expect(error.message).toMatch(/cannot reach .*ECONNREFUSED/);
    expect(calls.map((call) => call.outcome)).toEqual(['connection_error', 'connection_error']);
  });

  it('sends the bearer token from its file, extra headers, and the accept-encoding setting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-auth-'));
    writeFileSync(join(dir, 'token'), 's3cret\n');
    const { c } = client(url, { auth: { bearerTokenFile: join(dir, 'token') }, headers: { 'X-Scope-OrgID': 'team-a' } });
    await c.query('up');
    expect(lastHeaders.authorization).toBe('Bearer s3cret');
    expect(lastHeaders['x-scope-orgid']).toBe('team-a');
    expect(lastHeaders['accept-encoding']).toBe('identity');
    const gzip = client(url, { acceptEncoding: 'gzip', auth: { basic: { username: 'u', passwordFile: join(dir, 'token') } } });
    await gzip.c.query('up');
    expect(lastHeaders['accept-encoding']).toBe('gzip');
    expect(lastHeaders.authorization).toBe(`Basic ${Buffer.from('u:s3cret').toString('base64')}`);
  });
});

describe('PrometheusClient over TLS', () => {
  let server: https.Server;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'selfheal-tls-'));
  const caFile = join(dir, 'cert.pem');

  beforeAll(async () => {
    // A self-signed certificate for the name prometheus.test only (not for 127.0.0.1).
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=prometheus.test', '-addext', 'subjectAltName=DNS:prometheus.test', '-keyout', join(dir, 'key.pem'), '-out', caFile],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    const app = express();
    app.post('/api/v1/query', (_req, res) => {
      res.json({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '7'] }] } });
    });
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(caFile) }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses an unknown certificate, and a known one for another name', async () => {
    const unknown = (await client(url, { retries: 0 }).c.query('up').catch((e: unknown) => e)) as PrometheusError;
    expect(unknown.outcome).toBe('connection_error');
    expect(unknown.message).toMatch(/self[- ]signed/i);
    const otherName = (await client(url, { retries: 0, tls: { caFile, insecureSkipVerify: false } }).c.query('up').catch((e: unknown) => e)) as PrometheusError;
    expect(otherName.outcome).toBe('connection_error');
    expect(otherName.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|altnames/);
  });

  it('verifies with caFile and serverName, or skips verification when told', async () => {
    const verified = client(url, { tls: { caFile, serverName: 'prometheus.test', insecureSkipVerify: false } });
    expect((await verified.c.query('up'))[0]?.value).toBe(7);
    const skipped = client(url, { tls: { insecureSkipVerify: true } });
    expect((await skipped.c.query('up'))[0]?.value).toBe(7);
  });
});
