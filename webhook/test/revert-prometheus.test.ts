// A fix that undoes itself against the REAL Prometheus (Debian binary, @selfheal/stack) scraping a score endpoint
// every second: the revert condition (max_over_time of the entity's score over revertAfter below 1) is parsed and
// evaluated by Prometheus itself, so a flare-up of the score keeps the revert waiting until the score has stayed
// below 1 for revertAfter; and a score back above 1 after the revert (the re-trigger query) puts the fix back.
// The service runs on the wall clock here (Prometheus's own time); every wait is for an observable event.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payload, startHealer, startServer, type TestHealer, type TestServer } from './support/harness.js';

let score = 2.5;
let exposition: Server;
let stack: Stack;
let admin: TestServer;
let svc: TestHealer;

beforeAll(async () => {
  exposition = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    // The feature that drove the alert scores like the entity (the re-trigger watches the feature's own score).
    res.end(`# TYPE selfheal_anomaly_score gauge\nselfheal_anomaly_score{group="shop",service="checkout"} ${score}\n`
      + `# TYPE selfheal_anomaly_feature_score gauge\nselfheal_anomaly_feature_score{group="shop",service="checkout",feature="latency_p99"} ${score}\n`);
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(exposition.address() as AddressInfo).port}`;
  stack = await startStack({ scrapeTargets: { scores: [address] }, scrapeInterval: '1s', evaluationInterval: '1s', withAlertmanager: false, includeShippedRules: false });
  await stack.waitForTargetsUp(['scores']);
  await waitFor(async () => (await stack.prometheusClient.query('selfheal_anomaly_score')).length === 1, { what: 'the score in Prometheus', timeoutMs: 20_000 });
  admin = await startServer((_req, _body, res) => { res.end('ok'); });
  svc = await startHealer({
    prometheus: { url: stack.prometheusUrl },
    verify: { interval: '200ms', timeout: '15s' },
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { enable_cache: { url: `${admin.url}/cache/on`, revertAfter: '4s', revert: { url: `${admin.url}/cache/off` } } } } },
    rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['enable_cache'] }],
    guardrails: { cooldown: 0 },
  });
}, 90_000);

afterAll(async () => {
  await svc?.close();
  await admin?.close();
  await stack?.stop();
  await new Promise((r) => exposition?.close(r));
});

const now = () => Date.now() / 1000;
const revertRow = () => svc.healer.sqlite!.listReverts({})[0];
const auditRow = (event: string) => svc.healer.sqlite!.listAudit({}).find((r) => r.event === event);

describe('a revert against a real Prometheus', () => {
  it('waits until the score stayed below 1 for revertAfter (a flare-up restarts the wait), runs once, and puts the fix back when the anomaly returns', async () => {
    expect((await svc.post(payload([{ fingerprint: 'rv01', labels: { alertname: 'SelfhealAnomaly', group: 'shop', service: 'checkout', feature: 'latency_p99' } }]))).status).toBe(200);
    await waitFor(() => admin.requests.length === 1, { what: 'the fix', timeoutMs: 10_000 });
    score = 0.4;
    await waitFor(() => revertRow()?.status === 'waiting', { what: 'the fix verified and its revert armed', timeoutMs: 15_000 });

    // A flare-up right after the fix: the revert must wait until 4s past the last sample at 1.8.
    score = 1.8;
    // Until Prometheus holds 2.5s of samples at 1.8 (the sample at 0.4 out of that range).
    await waitFor(async () => (await stack.prometheusClient.query('min_over_time(selfheal_anomaly_score[2500ms]) >= 1')).length === 1, { what: 'the flare-up in Prometheus', timeoutMs: 10_000 });
    const flareEnd = now();
    score = 0.3;
    await waitFor(() => revertRow()?.status === 'verifying', { what: 'the revert', timeoutMs: 20_000 });
    const started = auditRow('revert_started');
    expect(started?.reason).toBe(`revert enable_cache: POST ${admin.url}/cache/off: the anomaly score stayed below 1 for 4s (max_over_time(selfheal_anomaly_score{ group="shop",service="checkout" }[4s]) < 1)`);
    // The last sample at 1.8 was scraped at most 1s before the flare-up ended: 4s after it at the earliest.
    expect(started!.ts).toBeGreaterThanOrEqual(flareEnd + 2.9);
    expect(admin.requests.map((r) => r.url)).toEqual(['/cache/on', '/cache/off']);

    // The anomaly returns within the verification window: the fix is put back, reverting stops for the target.
    score = 2.2;
    await waitFor(() => revertRow()?.status === 'reapplied', { what: 'the fix put back', timeoutMs: 15_000 });
    expect(auditRow('revert_retriggered')?.reason).toBe('the anomaly came back after the revert of enable_cache (selfheal_anomaly_feature_score{ group="shop",service="checkout",feature="latency_p99" } >= 1): putting the fix back');
    expect(admin.requests.map((r) => r.url)).toEqual(['/cache/on', '/cache/off', '/cache/on']);
    expect(svc.healer.sqlite!.getSetting('reverts-stopped:checkout')).toMatch(/"reason":"the revert of enable_cache \(incident \d+\) re-triggered it"/);
  }, 60_000);
});
