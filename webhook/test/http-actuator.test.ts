// The HTTP actuator against a real local HTTP server: templating, encoding, retries, timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import { HttpActuator } from '../src/actuators/http/http-actuator.js';
import { httpActuatorSchema, httpCallSchema } from '../src/actuators/http/config.js';
import { templateVars } from '../src/policy/policy.js';
import { startServer, type TestServer } from './support/harness.js';

let server: TestServer | undefined;
afterEach(async () => { await server?.close(); server = undefined; });

const vars = templateVars({ labels: { service: 'check out/../admin', feature: 'error_ratio' }, annotations: { summary: 'He said "stop"' }, fingerprint: 'f00', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);

function request(url: string, body?: unknown, extra: Record<string, unknown> = {}) {
  return { action: 'open_circuit_breaker' as const, targetName: 'payments', target: { actuator: 'a', actions: {} }, params: httpCallSchema.parse({ url, body, ...extra }), vars, signal: new AbortController().signal };
}

describe('HttpActuator', () => {
  it('URL-encodes label values and keeps the JSON body structure whatever the values', async () => {
    server = await startServer((_req, _b, res) => { res.end('done'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', headers: { 'x-team': 'sre' } }));
    const result = await actuator.execute(request(`${server.url}/circuit/{{ labels.service }}?fp={{ fingerprint }}`, { state: 'open', why: '{{ annotations.summary }}', n: 3 }));
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { status: 200, attempt: 1, response: 'done' } });
    const req = server.requests[0]!;
    expect(req.url).toBe('/circuit/check%20out%2F..%2Fadmin?fp=f00');
    expect(JSON.parse(req.body)).toEqual({ state: 'open', why: 'He said "stop"', n: 3 });
    expect(req.headers['x-team']).toBe('sre');
    expect(req.headers['content-type']).toMatch(/application\/json/);
  });

  it('retries 5xx with backoff, then succeeds', async () => {
    let calls = 0;
    server = await startServer((_req, _b, res) => { calls++; res.statusCode = calls < 3 ? 503 : 204; res.end(); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '10ms' }));
    const result = await actuator.execute(request(`${server.url}/x`));
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { status: 204, attempt: 3 } });
  });

  it('does not retry a 4xx and reports it', async () => {
    server = await startServer((_req, _b, res) => { res.statusCode = 404; res.end('no such service'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', retries: 3, retryBackoff: '10ms' }));
    const result = await actuator.execute(request(`${server.url}/x`));
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/answered 404: no such service/);
    expect(server.requests).toHaveLength(1);
  });

  it('times out a hanging server and gives up after the retries', async () => {
    server = await startServer(() => { /* never answers */ });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', timeout: '100ms', retries: 1, retryBackoff: '10ms' }));
    const result = await actuator.execute(request(`${server.url}/slow`));
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
