// The prometheus change source against the REAL Prometheus (Debian binary, @selfheal/stack): the default query
// (kube-state-metrics' kube_replicaset_created joined with kube_replicaset_owner) parsed and evaluated by Prometheus
// itself, at the moment the anomaly began, over series shaped as kube-state-metrics exposes them (served by a small
// local target that Prometheus scrapes every second). Then the service end to end with that source.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHANGE_QUERY, DEFAULT_TARGET_LABEL, PrometheusChangeSource, changeVerdict } from '../src/changes/index.js';
import { PrometheusQueries } from '../src/verify/prometheus.js';
import { payload, startHealer, startServer, type TestServer } from './support/harness.js';

const now = Math.floor(Date.now() / 1000);
// checkout: revision 2 rolled out 10 minutes ago (revision 1 a week ago); payments: last rolled out 3 hours ago;
// checkout in another namespace (staging) 1 minute ago, which must not be taken for shop's.
const replicaSets = [
  { namespace: 'shop', replicaset: 'checkout-5d8f7c', owner: 'checkout', created: now - 7 * 86400 },
  { namespace: 'shop', replicaset: 'checkout-7b9c4d', owner: 'checkout', created: now - 600 },
  { namespace: 'shop', replicaset: 'payments-1a2b3c', owner: 'payments', created: now - 3 * 3600 },
  { namespace: 'staging', replicaset: 'checkout-9e8d7c', owner: 'checkout', created: now - 60 },
];

let exposition: Server;
let stack: Stack;
let seen: number;

beforeAll(async () => {
  exposition = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end([
      '# HELP kube_replicaset_created Unix creation timestamp',
      '# TYPE kube_replicaset_created gauge',
      ...replicaSets.map((r) => `kube_replicaset_created{namespace="${r.namespace}",replicaset="${r.replicaset}"} ${r.created}`),
      '# HELP kube_replicaset_owner Information about the ReplicaSet\'s owner.',
      '# TYPE kube_replicaset_owner gauge',
      ...replicaSets.map((r) => `kube_replicaset_owner{namespace="${r.namespace}",replicaset="${r.replicaset}",owner_kind="Deployment",owner_name="${r.owner}",owner_is_controller="true"} 1`),
      '',
    ].join('\n'));
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(exposition.address() as AddressInfo).port}`;
  stack = await startStack({ scrapeTargets: { 'kube-state-metrics': [address] }, scrapeInterval: '1s', evaluationInterval: '1s', withAlertmanager: false, includeShippedRules: false });
  await stack.waitForTargetsUp(['kube-state-metrics']);
  await waitFor(async () => (await stack.prometheusClient.query('kube_replicaset_owner')).length === replicaSets.length, { what: 'the ReplicaSet series in Prometheus', timeoutMs: 20_000 });
  // The anomaly "begins" after the series were first scraped (an instant query sees samples at or before its time).
  seen = Math.ceil(Date.now() / 1000) + 1;
  await waitFor(async () => Date.now() / 1000 > seen + 0.5 && (await stack.prometheusClient.query('kube_replicaset_created', seen)).length === replicaSets.length, { what: 'the series at the anomaly\'s start', timeoutMs: 20_000 });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((r) => exposition?.close(r));
});

const target = (name: string) => ({ actuator: 'cluster', kubernetes: { namespace: 'shop', kind: 'Deployment' as const, name, gitops: 'refuse' as const } });

describe('prometheus change source against a real Prometheus (kube-state-metrics-shaped series)', () => {
  it('evaluates the default query at the anomaly\'s start: checkout was rolled out 10 minutes before (recent), payments 3 hours before (not)', async () => {
    const source = new PrometheusChangeSource(new PrometheusQueries(stack.prometheusUrl), DEFAULT_CHANGE_QUERY, DEFAULT_TARGET_LABEL);
    const checkout = await changeVerdict(source, 1800, 'checkout', target('checkout'), seen);
    expect(checkout).toEqual({ recent: true, change: { at: new Date((now - 600) * 1000).toISOString(), source: 'prometheus' } });
    const payments = await changeVerdict(source, 1800, 'payments', target('payments'), seen);
    expect(payments).toEqual({ recent: false, change: { at: new Date((now - 3 * 3600) * 1000).toISOString(), source: 'prometheus' } });
    const unknown = await changeVerdict(source, 1800, 'search', target('search'), seen);
    expect(unknown).toEqual({ recent: false });
  });

  it('names Prometheus\'s own error for a query it cannot parse', async () => {
    const source = new PrometheusChangeSource(new PrometheusQueries(stack.prometheusUrl), 'max by (owner_name) (kube_replicaset_created', 'owner_name');
    const verdict = await changeVerdict(source, 1800, 'checkout', target('checkout'), seen);
    expect(verdict.recent).toBe(false);
    expect(verdict.error).toMatch(/^the prometheus change source could not say when checkout was last rolled out: Prometheus query failed \(HTTP 400\): .*parse error/);
  });

  it('in the service, with a query of its own: one policy rolls back (an admin call here) right after a deploy and scales up otherwise', async () => {
    let admin: TestServer | undefined;
    const svc = await (async () => {
      admin = await startServer((_req, _body, res) => { res.end('ok'); });
      return startHealer({
        prometheus: { url: stack.prometheusUrl },
        // An http target has no namespace to match: the query is scoped to shop (staging's checkout is newer).
        changes: { window: '30m', source: { prometheus: { query: 'max by (owner_name) (kube_replicaset_created{namespace="shop"} * on (namespace, replicaset) group_left (owner_name) kube_replicaset_owner{owner_kind="Deployment"})' } } },
        guardrails: { cooldown: 0 },
        actuators: { admin: { type: 'http', retries: 0 } },
        targets: {
          checkout: { actuator: 'admin', actions: { rollback: { url: `${admin.url}/checkout/rollback` }, scale_up: { url: `${admin.url}/checkout/scale` } } },
          payments: { actuator: 'admin', actions: { rollback: { url: `${admin.url}/payments/rollback` }, scale_up: { url: `${admin.url}/payments/scale` } } },
        },
        rules: [
          { name: 'after-deploy', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}', when: 'recentChange', actions: ['rollback'], verify: false },
          { name: 'otherwise', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}', actions: ['scale_up'], verify: false },
        ],
      });
    })();
    try {
      const startsAt = new Date(seen * 1000).toISOString();
      const alertOf = (service: string, fingerprint: string) => payload([{ fingerprint, startsAt, labels: { alertname: 'SelfhealAnomaly', service, feature: 'cpu_usage', severity: 'warning' } }]);
      expect((await svc.post(alertOf('checkout', 'dddd000000000001'))).status).toBe(200);
      expect((await svc.post(alertOf('payments', 'dddd000000000002'))).status).toBe(200);
      await svc.healer.engine.idle();
      expect(admin!.requests.map((r) => r.url).sort()).toEqual(['/checkout/rollback', '/payments/scale']);
      const rows = ((await svc.get('/api/v1/actions')).body as { data: { target: string; action: string; rule: string; change: unknown }[] }).data;
      expect(rows.find((r) => r.target === 'checkout')).toMatchObject({ action: 'rollback', rule: 'after-deploy', change: { at: new Date((now - 600) * 1000).toISOString(), source: 'prometheus' } });
      // payments was decided by the rule without `when:` after the recentChange rule did not hold: no change relied on.
      expect(rows.find((r) => r.target === 'payments')).toMatchObject({ action: 'scale_up', rule: 'otherwise', change: null });
    } finally {
      await svc.close();
      await admin?.close();
    }
  });
});
