// The real Alertmanager (Debian binary, started by @selfheal/stack with the shipped alertmanager.yml)
// delivering to the healing service over HTTP with its bearer token: firing -> one action; repeated
// firing -> still one; resolved -> incident closed; 500 -> Alertmanager retries, and still one action.
import { startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealer, startServer, TOKEN, type TestHealer, type TestServer } from './support/harness.js';

let admin: TestServer;
let svc: TestHealer;
let stack: Stack;

beforeAll(async () => {
  admin = await startServer((_req, _body, res) => { res.end('ok'); });
  svc = await startHealer({
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: {
      checkout: { actuator: 'admin', actions: { scale_up: { url: `${admin.url}/scale/{{ labels.service }}` } } },
      flaky: { actuator: 'admin', actions: { scale_up: { url: `${admin.url}/scale/{{ labels.service }}` } } },
    },
    rules: [{ name: 'by-service', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}', actions: ['scale_up'] }],
    guardrails: { cooldown: 0 },
  });
  stack = await startStack({
    webhook: { url: `${svc.url}/api/v1/alerts`, token: TOKEN },
    alertmanager: { groupWait: '0s', groupInterval: '1s', repeatInterval: '2s' },
    includeShippedRules: false,
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await svc?.close();
  await admin?.close();
});

/** Pushes an alert into Alertmanager's API, the way Prometheus does (POST /api/v2/alerts). */
async function pushAlert(labels: Record<string, string>, startsAt: Date, endsAt: Date): Promise<void> {
  const res = await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels: { alertname: 'SelfhealAnomaly', severity: 'warning', group: 'shop', ...labels }, annotations: { summary: `Anomaly in ${labels.service}` }, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), generatorURL: 'http://127.0.0.1:9090/graph' }]),
  });
  expect(res.status).toBe(200);
}

const scaleCalls = (service: string) => admin.requests.filter((r) => r.url === `/scale/${service}`).length;
const incident = (service: string) => svc.healer.sqlite!.listIncidents({ service })[0];

describe('real Alertmanager delivering to the healing service', () => {
  it('firing -> one action; repeated firing -> still one; resolved -> incident closed', async () => {
    const startsAt = new Date(Date.now() - 5000);
    await pushAlert({ service: 'checkout', feature: 'cpu_usage' }, startsAt, new Date(Date.now() + 60_000));
    await waitFor(() => scaleCalls('checkout') === 1, { what: 'the scale_up action', timeoutMs: 20_000 });
    // Alertmanager re-sends the still-firing alert every repeat_interval (2 s); Prometheus would too re-push it.
    await waitFor(() => (incident('checkout')?.notifications ?? 0) >= 3, { what: 'repeated notifications', timeoutMs: 30_000 });
    await pushAlert({ service: 'checkout', feature: 'cpu_usage' }, startsAt, new Date(Date.now() + 60_000));
    expect(scaleCalls('checkout')).toBe(1);

    await pushAlert({ service: 'checkout', feature: 'cpu_usage' }, startsAt, new Date());
    const closed = await waitFor(() => { const i = incident('checkout'); return i?.resolved_at ? i : undefined; }, { what: 'the resolved notification', timeoutMs: 30_000 });
    expect(closed.recovery_seconds).toBeGreaterThan(4);
    expect(scaleCalls('checkout')).toBe(1);
    const events = svc.healer.sqlite!.listAudit({ incidentId: closed.id }).reverse().map((r) => r.event);
    expect(events).toEqual(['received', 'matched', 'started', 'applied', 'succeeded', 'resolved']);
    expect(await (await fetch(`${svc.url}/metrics`)).text()).toMatch(/selfheal_healing_recovery_seconds_count\{service="checkout"\} 1/);
  }, 90_000);

  it('500 -> Alertmanager retries, and the action still runs once', async () => {
    // A real failure to record: the store refuses this service's alerts until the trigger is dropped.
    svc.healer.sqlite!.db.exec(`CREATE TRIGGER refuse_flaky BEFORE INSERT ON incidents WHEN NEW.service = 'flaky' BEGIN SELECT RAISE(ABORT, 'disk trouble (simulated)'); END;`);
    const failuresBefore = await count500();
    await pushAlert({ service: 'flaky', feature: 'cpu_usage' }, new Date(Date.now() - 1000), new Date(Date.now() + 60_000));
    await waitFor(async () => (await count500()) >= failuresBefore + 2, { what: 'Alertmanager to retry after 500', timeoutMs: 30_000 });
    expect(scaleCalls('flaky')).toBe(0);
    svc.healer.sqlite!.db.exec('DROP TRIGGER refuse_flaky');
    await waitFor(() => scaleCalls('flaky') === 1, { what: 'the action after the retry succeeded', timeoutMs: 30_000 });
    await waitFor(() => (incident('flaky')?.notifications ?? 0) >= 2, { what: 'a later re-send', timeoutMs: 30_000 });
    expect(scaleCalls('flaky')).toBe(1);
  }, 90_000);
});

async function count500(): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  return Number(/selfheal_webhook_requests_total\{code="500"\} (\d+)/.exec(text)?.[1] ?? 0);
}
