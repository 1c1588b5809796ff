// Verification and the blast-radius precondition against the REAL Prometheus (Debian binary, @selfheal/stack),
// not a stand-in for its API: the default verification query, rendered for an alert whose label values need
// escaping, must be parsed and evaluated by Prometheus itself. A small exposition endpoint serves
// selfheal_anomaly_score for two entities; Prometheus scrapes it every second.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payload, startHealer, startServer, type TestHealer, type TestServer } from './support/harness.js';

// A label value with a quote, a backslash and a non-ASCII letter: every escaping layer is exercised.
const WEIRD = 'pay"ments\\eu-é';
const scores = new Map<string, number>([['checkout', 2.5], [WEIRD, 2.5]]);
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

let exposition: Server;
let stack: Stack;
let admin: TestServer;
let svc: TestHealer;

beforeAll(async () => {
  exposition = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(['# TYPE selfheal_anomaly_score gauge', ...[...scores].map(([service, v]) => `selfheal_anomaly_score{group="shop",service="${escapeLabel(service)}"} ${v}`), ''].join('\n'));
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(exposition.address() as AddressInfo).port}`;
  stack = await startStack({ scrapeTargets: { scores: [address] }, scrapeInterval: '1s', evaluationInterval: '1s', withAlertmanager: false, includeShippedRules: false });
  await stack.waitForTargetsUp(['scores']);
  await waitFor(async () => (await stack.prometheusClient.query('selfheal_anomaly_score')).length === 2, { what: 'both scores in Prometheus', timeoutMs: 20_000 });
  admin = await startServer((_req, _body, res) => { res.end('ok'); });
  svc = await startHealer({
    prometheus: { url: stack.prometheusUrl },
    // The shipped default query (selfheal_anomaly_score{ {{ entity }} } < 1), polled every 200 ms.
    verify: { interval: '200ms', timeout: '20s' },
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { shop: { actuator: 'admin', actions: { restart: { url: `${admin.url}/restart` } } } },
    rules: [
      // The precondition puts a label value inside a PromQL string literal through a template.
      { name: 'shop', matchers: ['group = shop', 'service !~ stuck|broken'], target: 'shop', actions: ['restart'], precondition: 'count(selfheal_anomaly_score{service="{{ labels.service }}"} >= 0) == 1' },
      { name: 'stuck', matchers: ['service = stuck'], target: 'shop', actions: ['restart'], verify: { timeout: '1500ms' } },
      { name: 'broken', matchers: ['service = broken'], target: 'shop', actions: ['restart'], precondition: 'count(selfheal_anomaly_score{service="{{ labels.service }}"}' },
    ],
    guardrails: { cooldown: 0 },
  });
}, 90_000);

afterAll(async () => {
  await svc?.close();
  await admin?.close();
  await stack?.stop();
  await new Promise((r) => exposition?.close(r));
});

const alertOf = (service: string, fingerprint: string) => payload([{ fingerprint, labels: { alertname: 'SelfhealAnomaly', group: 'shop', service, feature: 'mem_rss', severity: 'warning' } }]);

describe('verification against a real Prometheus', () => {
  it('the default query, for an alert with label values to escape, is parsed by Prometheus and holds once the score drops', async () => {
    expect((await svc.post(alertOf(WEIRD, 'f00d01'))).status).toBe(200);
    // The precondition held (Prometheus parsed it and found the entity), the action ran, verification polls.
    await waitFor(() => svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d01')?.phase === 'verifying', { what: 'verification to start', timeoutMs: 10_000 });
    expect(admin.requests).toHaveLength(1);
    scores.set(WEIRD, 0.4);
    await svc.healer.engine.idle();
    const incident = svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d01');
    expect(incident).toMatchObject({ phase: 'done', result: 'healed' });
    const action = svc.healer.sqlite!.actionsOf(incident!.id)[0];
    expect(action?.status).toBe('succeeded');
    expect(action?.reason).toBe(`POST ${admin.url}/restart answered 200; verified: selfheal_anomaly_score{ group="shop",service=${JSON.stringify(WEIRD)} } < 1`);
  }, 30_000);

  it('a query Prometheus evaluates but that does not hold fails verification without any query error', async () => {
    scores.set('stuck', 3);
    await waitFor(async () => (await stack.prometheusClient.query('selfheal_anomaly_score{service="stuck"}')).length === 1, { what: 'the stuck score in Prometheus', timeoutMs: 10_000 });
    expect((await svc.post(alertOf('stuck', 'f00d02'))).status).toBe(200);
    await svc.healer.engine.idle();
    const incident = svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d02');
    expect(incident).toMatchObject({ result: 'escalated' });
    const reason = svc.healer.sqlite!.actionsOf(incident!.id)[0]?.reason ?? '';
    expect(reason).toMatch(/verification failed: selfheal_anomaly_score\{ group="shop",service="stuck" \} < 1 did not hold within 2s$/);
    expect(reason).not.toMatch(/last error/);
  }, 30_000);

  it('a precondition Prometheus cannot parse blocks the action, with Prometheus\'s own error', async () => {
    expect((await svc.post(alertOf('broken', 'f00d03'))).status).toBe(200);
    await svc.healer.engine.idle();
    const incident = svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d03');
    expect(incident).toMatchObject({ phase: 'done', result: 'skipped' });
    expect(incident?.reason).toMatch(/^blast-radius precondition could not be evaluated: Prometheus query failed \(HTTP 400\): .*parse error/);
    expect(admin.requests.map((r) => r.url)).toEqual(['/restart', '/restart']);
  }, 30_000);

  it("Prometheus's external labels (the shipped monitor: selfheal), which it adds to alerts but not to stored series, are left out of the entity selector", async () => {
    // As Prometheus sends the alert: with its external label. The scores Prometheus stores have no such label.
    const alert = payload([{ fingerprint: 'f00d04', labels: { alertname: 'SelfhealAnomaly', group: 'shop', service: 'checkout', feature: 'mem_rss', severity: 'warning', monitor: 'selfheal' } }]);
    expect((await svc.post(alert)).status).toBe(200);
    await waitFor(() => svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d04')?.phase === 'verifying', { what: 'verification to start', timeoutMs: 10_000 });
    scores.set('checkout', 0.4);
    await svc.healer.engine.idle();
    const incident = svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'f00d04');
    expect(incident).toMatchObject({ phase: 'done', result: 'healed' });
    expect(svc.healer.sqlite!.actionsOf(incident!.id)[0]?.reason).toBe(`POST ${admin.url}/restart answered 200; verified: selfheal_anomaly_score{ group="shop",service="checkout" } < 1`);
  }, 30_000);
});
