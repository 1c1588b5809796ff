// Test support: a healing service on a free loopback port with a temporary store and token, and small real
// HTTP servers standing in for the things it talks to (Prometheus query API, notification webhook, admin APIs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createHealer, type Healer, type HealerOptions } from '../../src/app.js';

export const TOKEN = 'test-token-0123456789abcdef';

export interface TestHealer {
  healer: Healer;
  url: string;
  dir: string;
  config: Config;
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Stops the service but keeps the directory (restart tests). */
  stop(): Promise<void>;
  /** Stops and removes the directory. */
  close(): Promise<void>;
}

export function tempDir(prefix = 'selfheal-webhook-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Builds a config from a partial raw object; auth and store default to a bearer token and `dir`. */
export function testConfig(dir: string, raw: Record<string, unknown>): Config {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  return parseConfig({ auth: { type: 'bearer', tokenFile: join(dir, 'token') }, store: { path: join(dir, 'healer.db') }, ...raw });
}

export async function startHealer(raw: Record<string, unknown>, opts: HealerOptions & { dir?: string } = {}): Promise<TestHealer> {
  const dir = opts.dir ?? tempDir();
  const config = testConfig(dir, raw);
  const healer = createHealer(config, { logger: pino({ level: process.env.SELFHEAL_TEST_LOG ?? 'silent' }), defaultMetrics: false, ...opts });
  const url = await healer.listen(0, '127.0.0.1');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await healer.close();
  };
  return {
    healer, url, dir, config,
    async post(body, headers = {}) {
      const res = await fetch(`${url}/api/v1/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async get(path) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One HTTP request through node:http, with exactly the headers given (fetch adds a Content-Type of its own to
 * string bodies, which hides what a sender without one gets).
 */
export function rawRequest(url: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface Alert {
  status?: 'firing' | 'resolved';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  fingerprint?: string;
}

/** An Alertmanager v4 webhook payload shaped like the captured ones in test/fixtures. */
export function payload(alerts: Alert[], status?: 'firing' | 'resolved'): Record<string, unknown> {
  const full = alerts.map((a) => ({
    status: a.status ?? 'firing',
    labels: a.labels ?? { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu_usage', group: 'shop', severity: 'warning' },
    annotations: a.annotations ?? { summary: 'Anomaly in checkout' },
    startsAt: a.startsAt ?? '2026-11-23T22:00:00.000Z',
    endsAt: a.endsAt ?? (a.status === 'resolved' ? '2026-11-23T22:05:00.000Z' : '0001-01-01T00:00:00Z'),
    generatorURL: 'http://127.0.0.1:9090/graph',
    ...(a.fingerprint === undefined ? { fingerprint: 'a1b2c3d4e5f60718' } : a.fingerprint ? { fingerprint: a.fingerprint } : {}),
  }));
  return {
    receiver: 'selfheal-healer', status: status ?? (full.some((a) => a.status === 'firing') ? 'firing' : 'resolved'), alerts: full,
    groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093', version: '4', groupKey: '{}:{}', truncatedAlerts: 0,
  };
}

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

/** A real HTTP server on a free loopback port that records requests. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(handler(req, body, res)).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/**
 * Prometheus's instant-query API (GET /api/v1/query), answering from `answer(query)`: the response shape is
 * Prometheus's documented one ({status, data: {resultType: "vector", result}}).
 */
export function prometheusApi(answer: (query: string) => { metric: Record<string, string>; value: number }[] | Error): Handler {
  return (req, _body, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (u.pathname !== '/api/v1/query') {
      res.statusCode = 404;
      res.end('{"status":"error","errorType":"not_found","error":"not found"}');
      return;
    }
    const result = answer(u.searchParams.get('query') ?? '');
    if (result instanceof Error) {
      res.statusCode = 400;
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: result.message }));
      return;
    }
    const now = Date.now() / 1000;
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: result.map((s) => ({ metric: s.metric, value: [now, String(s.value)] })) } }));
  };
}

export async function eventually<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
