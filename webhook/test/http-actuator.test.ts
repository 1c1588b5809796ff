// The HTTP actuator against a real local HTTP server: templating, encoding, retries (through the engine's retry
// stage, as the engine calls it), timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import { HttpActuator } from '../src/actuators/http/http-actuator.js';
import { httpActuatorSchema, httpCallSchema } from '../src/actuators/http/config.js';
import { executeWithRetry } from '../src/engine/retry.js';
import { templateVars } from '../src/policy/policy.js';
import { payload, startHealer, startServer, type TestServer } from './support/harness.js';

let server: TestServer | undefined;
afterEach(async () => { await server?.close(); server = undefined; });

const vars = templateVars({ labels: { service: 'check out?&#%', from: 'check out/../admin', feature: 'error_ratio' }, annotations: { summary: 'He said "stop"' }, fingerprint: 'f00', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);

function request(url: string, body?: unknown, extra: Record<string, unknown> = {}, labels?: Record<string, string>) {
  const v = labels ? templateVars({ labels, annotations: {}, fingerprint: 'f00', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []) : vars;
  return { action: 'open_circuit_breaker' as const, targetName: 'payments', target: { actuator: 'a', actions: {} }, params: httpCallSchema.parse({ url, body, ...extra }), vars: v, signal: new AbortController().signal };
}

describe('HttpActuator', () => {
  it('URL-encodes label values and keeps the JSON body structure whatever the values', async () => {
    server = await startServer((_req, _b, res) => { res.end('done'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', headers: { 'x-team': 'sre' } }));
    const result = await actuator.execute(request(`${server.url}/circuit/{{ labels.service }}?fp={{ fingerprint }}&from={{ labels.from }}`, { state: 'open', why: '{{ annotations.summary }}', n: 3 }));
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { status: 200, attempt: 1, response: 'done' } });
    const req = server.requests[0]!;
    // In the query a value may hold anything (encoded); in the path see the next test.
    expect(req.url).toBe('/circuit/check%20out%3F%26%23%25?fp=f00&from=check%20out%2F..%2Fadmin');
    expect(JSON.parse(req.body)).toEqual({ state: 'open', why: 'He said "stop"', n: 3 });
    expect(req.headers['x-team']).toBe('sre');
    expect(req.headers['content-type']).toMatch(/application\/json/);
  });

  it('refuses a path value that is . or .., empty, or holds a path separator after decoding; nothing is requested', async () => {
    server = await startServer((_req, _b, res) => { res.end('done'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 0 }));
    // `..` would make /restart/../now a request for /now (URLs are normalised before they are sent).
    for (const instance of ['..', '.', '', 'a/b', 'a\\b', '%2e%2e', '.%2E', '%2F', '..%2f..%2fadmin', '%252e%252e', '%255c']) {
      const req = request(`${server.url}/restart/{{ labels.instance }}/now`, undefined, {}, { instance });
      const result = await actuator.execute(req);
      expect(result.outcome, JSON.stringify(instance)).toBe('failed');
      expect(result.reason, JSON.stringify(instance)).toMatch(/cannot prepare the call: the value of labels\.instance \(.*\) may not be used in a URL path/);
      expect(actuator.describe(req)).toMatch(/^cannot prepare the call: /);
    }
    expect(server.requests).toHaveLength(0);
    // Dots inside a value are fine, and a value in the query may hold separators (it is encoded).
    expect((await actuator.execute(request(`${server.url}/restart/{{ labels.instance }}/now?from={{ labels.from }}`, undefined, {}, { instance: 'host-1..b.example:9100', from: '../x' }))).outcome).toBe('succeeded');
    expect(server.requests.map((r) => r.url)).toEqual(['/restart/host-1..b.example%3A9100/now?from=..%2Fx']);
  });

  it('reports (and describes) the URL it actually requested, normalised', async () => {
    server = await startServer((_req, _b, res) => { res.end('done'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 0 }));
    const req = request(`${server.url}/restart/./{{ labels.instance }}/x/../now`, undefined, {}, { instance: 'i-1' });
    expect(actuator.describe(req)).toBe(`POST ${server.url}/restart/i-1/now`);
    const result = await actuator.execute(req);
    expect(server.requests.map((r) => r.url)).toEqual(['/restart/i-1/now']);
    expect(result.reason).toBe(`POST ${server.url}/restart/i-1/now answered 200`);
  });

  it('through the service: a `..` label never reaches the admin API, and the audit holds the URL requested', async () => {
    server = await startServer((_req, _b, res) => { res.end('done'); });
    const svc = await startHealer({
      actuators: { admin: { type: 'http', retries: 0 } },
      targets: { checkout: { actuator: 'admin', actions: { restart: { url: `${server.url}/restart/{{ labels.instance }}/./now` } } } },
      rules: [{ name: 'r', matchers: ['service = checkout'], target: 'checkout', actions: ['restart'] }],
      guardrails: { cooldown: 0 },
    });
    try {
      const labels = (instance: string) => ({ alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'mem', instance });
      expect((await svc.post(payload([{ fingerprint: 'aa01', labels: labels('..') }]))).status).toBe(200);
      expect((await svc.post(payload([{ fingerprint: 'aa02', labels: labels('i-2') }]))).status).toBe(200);
      await svc.healer.engine.idle();
      expect(server.requests.map((r) => r.url)).toEqual(['/restart/i-2/now']);
      const audit = svc.healer.sqlite!.listAudit({}).reverse();
      const of = (fp: string, event: string) => audit.find((r) => r.fingerprint === fp && r.event === event)?.reason;
      expect(of('aa01', 'failed')).toMatch(/the value of labels\.instance \("\.\."\) may not be used in a URL path/);
      expect(of('aa02', 'started')).toBe(`POST ${server.url}/restart/i-2/now`);
      expect(of('aa02', 'applied')).toBe(`POST ${server.url}/restart/i-2/now answered 200`);
    } finally {
      await svc.close();
    }
  });

  it('retries 5xx with backoff, then succeeds', async () => {
    let calls = 0;
    server = await startServer((_req, _b, res) => { calls++; res.statusCode = calls < 3 ? 503 : 204; res.end(); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '10ms' }));
    const result = await executeWithRetry(actuator, request(`${server.url}/x`));
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { status: 204, attempt: 3 } });
  });

  it('waits retryBackoff, doubling, between attempts (through the retry stage; injected sleep: no wall-clock wait)', async () => {
    server = await startServer((_req, _b, res) => { res.statusCode = 502; res.end('bad gateway'); });
    const waits: number[] = [];
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '1m' }));
    const result = await executeWithRetry(actuator, request(`${server.url}/x`), async (ms) => { waits.push(ms); });
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/answered 502: bad gateway \(after 4 attempts\)/);
    expect(waits).toEqual([60_000, 120_000, 240_000]);
    expect(server.requests).toHaveLength(4);
  });

  it('does not retry a 4xx and reports it', async () => {
    server = await startServer((_req, _b, res) => { res.statusCode = 404; res.end('no such service'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '10ms' }));
    const result = await executeWithRetry(actuator, request(`${server.url}/x`));
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/answered 404: no such service/);
    expect(server.requests).toHaveLength(1);
  });

  it('records an answer listed in refusedStatus as a refusal: skipped, nothing changed, not retried, not a failure', async () => {
    server = await startServer((_req, _b, res) => { res.statusCode = 409; res.end('{"error":"no previous revision"}'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '10ms' }));
    const result = await executeWithRetry(actuator, request(`${server.url}/rollback`, {}, { refusedStatus: [409] }));
    expect(result).toMatchObject({ outcome: 'skipped', detail: { status: 409, attempt: 1 } });
    expect(result.reason).toMatch(/answered 409: \{"error":"no previous revision"\}; refused, nothing was changed/);
    expect(server.requests).toHaveLength(1);
    // without it, the same answer is a failure
    expect((await actuator.execute(request(`${server.url}/rollback`, {}))).outcome).toBe('failed');
  });

  it('checks refusedStatus: 4xx only, and never also a success', () => {
    expect(() => httpCallSchema.parse({ url: 'http://x/', refusedStatus: [503] })).toThrow(/a refusal is a 4xx answer/);
    expect(() => httpCallSchema.parse({ url: 'http://x/', expectStatus: [200, 409], refusedStatus: [409] })).toThrow(/both in expectStatus and in refusedStatus/);
  });

  it('through the service: a refused action is audited as skipped and nobody is paged', async () => {
    server = await startServer((_req, _b, res) => { res.statusCode = 409; res.end('the last healthy instance is not taken out'); });
    const svc = await startHealer({
      actuators: { admin: { type: 'http', retries: 0 } },
      targets: { checkout: { actuator: 'admin', actions: { quarantine: { url: `${server.url}/quarantine`, body: {}, refusedStatus: [409] } } } },
      rules: [{ name: 'r', matchers: ['service = checkout'], target: 'checkout', actions: ['quarantine'], verify: false }],
      guardrails: { cooldown: 0 },
    });
    try {
      expect((await svc.post(payload([{ fingerprint: 'bb01', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'errors' } }]))).status).toBe(200);
      await svc.healer.engine.idle();
      const events = svc.healer.sqlite!.listAudit({}).reverse().filter((r) => r.fingerprint === 'bb01').map((r) => r.event);
      expect(events).toContain('skipped');
      expect(events).not.toContain('failed');
      expect(events).not.toContain('escalated');
      expect(server.requests).toHaveLength(1);
    } finally {
      await svc.close();
    }
  });

  it('times out a hanging server and gives up after the retries', async () => {
    server = await startServer(() => { /* never answers */ });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', timeout: '100ms', retries: 1, retryBackoff: '10ms' }));
    const result = await executeWithRetry(actuator, request(`${server.url}/slow`));
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/timeout.*after 2 attempts/);
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('fails cleanly when a template names a missing label', async () => {
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http' }));
    const result = await actuator.execute(request('http://127.0.0.1:9/{{ labels.pod }}'));
    expect(result).toMatchObject({ outcome: 'failed' });
    expect(result.reason).toMatch(/no label "pod"/);
  });
});
