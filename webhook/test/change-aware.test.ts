// Change-aware healing in the service: one policy that rolls back right after a deploy and scales up otherwise,
// the change the decision relied on in the audit, the action rows and the read API, a refused rollback counted
// and audited, and the `changes:` config checked at start-up. Real HTTP and the real SQLite store; the Kubernetes
// side is the real @kubernetes/client-node against a local server speaking the apiserver's wire contract (no API
// server can run here).
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@selfheal/contracts';
import { parseConfig } from '../src/config/load.js';
import { Policy, templateVars } from '../src/policy/policy.js';
import { deployment, replicaSet, startFakeCluster, type FakeCluster, type Obj } from './support/kube-apiserver.js';
import { payload, startHealer, tempDir, type TestHealer } from './support/harness.js';

let dir: string;
let cluster: FakeCluster | undefined;
let svc: TestHealer | undefined;
beforeEach(() => { dir = tempDir(); });
afterEach(async () => {
  await svc?.close();
  svc = undefined;
  await cluster?.close();
  cluster = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** checkout at revision 2 (checkout:1.1, rolled out 2026-11-23 21:50), revision 1 (checkout:1.0) before it. */
function checkout(revisions: 1 | 2 = 2): Obj[] {
  const d = deployment('shop', 'checkout', 3);
  (d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image = revisions === 2 ? 'checkout:1.1' : 'checkout:1.0';
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': String(revisions) };
  const rs = [replicaSet('shop', 'checkout', 1, 'checkout:1.0', '2026-11-01T00:00:00Z', '5d8f7c')];
  if (revisions === 2) rs.push(replicaSet('shop', 'checkout', 2, 'checkout:1.1', '2026-11-23T21:50:00Z', '7b9c4d'));
  return [d, ...rs];
}

/** Right after a deploy: roll it back; otherwise: scale up. */
const POLICY = {
  changes: { window: '30m', source: { kubernetes: {} } },
  guardrails: { cooldown: 0 },
  targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'checkout' }, actions: { scale_up: { step: 1, maxReplicas: 10 } } } },
  rules: [
    { name: 'after-deploy', matchers: ['service = checkout'], target: 'checkout', when: 'recentChange', actions: ['rollback'] },
    { name: 'otherwise', matchers: ['service = checkout'], target: 'checkout', when: 'noRecentChange', actions: ['scale_up'] },
  ],
};

const alert = (fingerprint: string, startsAt: string) => payload([{ fingerprint, startsAt }]);
const spec = () => cluster!.objects.get('deployments/shop/checkout')?.spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };

// Two services, a fake API server and several incidents: seconds on a busy machine, beyond vitest's 5 s default.
describe('change-aware policy in the service (Kubernetes wire contract, no API server)', { timeout: 30_000 }, () => {
  it('right after a deploy rolls it back; otherwise scales up; the audit, the action rows and GET /api/v1/actions carry the change the decision relied on', async () => {
    cluster = await startFakeCluster(dir, checkout());
    svc = await startHealer({ ...POLICY, actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } } });
    const change = { at: '2026-11-23T21:50:00.000Z', revision: '2', source: 'kubernetes' };

    // The anomaly begins 10 minutes after revision 2 was rolled out: roll back.
    expect((await svc.post(alert('aaaa000000000001', '2026-11-23T22:00:00.000Z'))).status).toBe(200);
    await svc.healer.engine.idle();
    const store = svc.healer.sqlite!;
    const first = store.listActions({})[0]!;
    expect(first).toMatchObject({ action: 'rollback', rule: 'after-deploy', status: 'succeeded' });
    expect(JSON.parse(String(first.change))).toEqual(change);
    expect(spec().template.spec.containers[0]?.image).toBe('checkout:1.0');
    const matched = store.listAudit({}).find((r) => r.event === 'matched')!;
    expect(matched.reason).toBe('rule "after-deploy"; when: recentChange (last rollout of checkout at 2026-11-23T21:50:00.000Z (revision 2) from kubernetes: recent)');
    expect(JSON.parse(String(matched.change))).toEqual(change);
    expect(JSON.parse(String(store.listAudit({}).find((r) => r.event === 'applied')?.change))).toEqual(change);

    // Five hours later, nothing was rolled out since: scale up instead.
    expect((await svc.post(alert('aaaa000000000002', '2026-11-24T03:00:00.000Z'))).status).toBe(200);
    await svc.healer.engine.idle();
    const second = store.listActions({})[0]!;
    expect(second).toMatchObject({ action: 'scale_up', rule: 'otherwise', status: 'succeeded' });
    expect(JSON.parse(String(second.change))).toEqual(change);
    expect(spec().replicas).toBe(4);

    // What the panel reads: the read API parses it.
    const api = (await svc.get('/api/v1/actions')).body as { data: { action: string; change: unknown }[] };
    expect(api.data.map((a) => [a.action, a.change])).toEqual([['scale_up', change], ['rollback', change]]);
    const audit = (await svc.get('/api/v1/audit')).body as { data: { event: string; reason: string | null; change: unknown }[] };
    expect(audit.data.filter((r) => r.event === 'matched').map((r) => r.reason)).toEqual([
      'rule "otherwise"; when: noRecentChange (last rollout of checkout at 2026-11-23T21:50:00.000Z (revision 2) from kubernetes: not recent)',
      'rule "after-deploy"; when: recentChange (last rollout of checkout at 2026-11-23T21:50:00.000Z (revision 2) from kubernetes: recent)',
    ]);
    expect(audit.data.find((r) => r.event === 'received')?.change).toBeNull();
  });

  it('a rollback with no previous revision is refused: skipped with the reason, audited, counted under reason="no_previous_revision"; nothing changed', async () => {
    cluster = await startFakeCluster(dir, checkout(1));
    // Only one rule, so the refused rollback is what happens (its first and only step).
    svc = await startHealer({
      ...POLICY, actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } },
      rules: [{ name: 'rollback-anyway', matchers: ['service = checkout'], target: 'checkout', actions: ['rollback'] }],
    });
    expect((await svc.post(alert('bbbb000000000001', '2026-11-01T00:10:00.000Z'))).status).toBe(200);
    await svc.healer.engine.idle();
    const store = svc.healer.sqlite!;
    const reason = 'Deployment/checkout in shop has no previous revision to roll back to (revision 1 is its only ReplicaSet; older ones may have been removed by revisionHistoryLimit); nothing was changed';
    expect(store.listActions({})[0]).toMatchObject({ action: 'rollback', status: 'skipped', reason, change: null });
    expect(store.listAudit({}).find((r) => r.event === 'skipped')?.reason).toBe(reason);
    expect(((await svc.get('/api/v1/incidents')).body as { data: { result: string }[] }).data[0]?.result).toBe('skipped');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/selfheal_healing_guardrail_refusals_total\{reason="no_previous_revision",decision="skipped"\} 1/);
    expect(metrics).toMatch(/selfheal_healing_actions_total\{service="checkout",action="rollback",outcome="skipped"\} 1/);
    expect(cluster.patches).toEqual([]);
  });

  it('when the change source cannot answer, recentChange does not match (no rollback without evidence) and the audit says why', async () => {
    cluster = await startFakeCluster(dir, []); // the Deployment is not there: 404
    svc = await startHealer({ ...POLICY, actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } } });
    expect((await svc.post(alert('cccc000000000001', '2026-11-23T22:00:00.000Z'))).status).toBe(200);
    await svc.healer.engine.idle();
    const matched = svc.healer.sqlite!.listAudit({}).find((r) => r.event === 'matched')!;
    expect(matched.reason).toMatch(/^rule "otherwise"; when: noRecentChange \(the kubernetes change source could not say when checkout was last rolled out: Kubernetes API answered 404|HTTP-Code: 404/);
    expect(matched.change).toBeNull();
    expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ action: 'scale_up', rule: 'otherwise' });
  });
});

describe('changes: in the config', () => {
  const base = {
    auth: 'none',
    actuators: { cluster: { type: 'kubernetes' }, admin: { type: 'http' } },
    targets: {
      checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' } },
      db: { actuator: 'cluster', kubernetes: { namespace: 'shop', kind: 'StatefulSet', name: 'db' } },
      web: { actuator: 'admin', actions: { restart: { url: 'http://127.0.0.1:1/restart' } } },
    },
  };
  const problems = (raw: Record<string, unknown>): string[] => {
    try {
      parseConfig({ ...base, ...raw });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
  };

  it('accepts both sources, defaults the Prometheus query to kube-state-metrics\' and its label to owner_name', () => {
    expect(problems({ changes: { window: '30m', source: { kubernetes: {} } }, rules: [{ name: 'r', target: 'checkout', when: 'recentChange', actions: ['rollback'] }] })).toEqual([]);
    const cfg = parseConfig({ ...base, prometheus: { url: 'http://127.0.0.1:9090' }, changes: { window: '1h', source: { prometheus: {} } } });
    expect(cfg.changes).toEqual({ window: 3600, source: { prometheus: { query: expect.stringContaining('kube_replicaset_created * on (namespace, replicaset) group_left (owner_name) kube_replicaset_owner{owner_kind="Deployment"}'), targetLabel: 'owner_name' } } });
  });

  it('names the key of each mistake', () => {
    expect(problems({ rules: [{ name: 'r', target: 'checkout', when: 'recentChange', actions: ['scale_up'] }] }))
      .toEqual(['rules[0].when: when: recentChange needs changes: {window, source} (how soon after a rollout an anomaly counts as caused by it, and where rollouts are read)']);
    expect(problems({ rules: [{ name: 'r', target: 'checkout', actions: ['rollback'] }] }))
      .toEqual([expect.stringMatching(/^rules\[0\]\.actions\[0\]: rollback needs changes: \{window, source\}/)]);
    expect(problems({ changes: { window: '30m', source: { kubernetes: {} } }, rules: [{ name: 'r', target: 'checkout', when: 'soon' }] }))
      .toEqual(['rules[0].when: must be recentChange or noRecentChange']);
    expect(problems({ changes: { window: '0s', source: { kubernetes: {} } } })).toEqual([expect.stringMatching(/^changes\.window: must be more than 0s and at most 7d/)]);
    expect(problems({ changes: { window: '30m', source: { prometheus: {} } } })).toEqual(['changes.source.prometheus: needs prometheus.url: the rollout times are queried from Prometheus']);
    expect(problems({ changes: { window: '30m', source: { git: {} } } })).toEqual([expect.stringMatching(/^changes\.source: give either kubernetes: \{\} .* or prometheus: \{query, targetLabel\}/)]);
    expect(problems({ changes: { window: '30m', source: { kubernetes: {} } }, rules: [{ name: 'r', target: 'db', actions: ['rollback'] }] }))
      .toEqual(['rules[0].actions[0]: rollback rolls back Deployments; target "db" is a StatefulSet']);
    expect(problems({ changes: { window: '30m', source: { kubernetes: {} } }, rules: [{ name: 'r', target: 'web', when: 'noRecentChange' }] }))
      .toEqual([expect.stringMatching(/^rules\[0\]\.when: the kubernetes change source reads a Deployment's ReplicaSets; target "web" is not a Kubernetes target/)]);
    expect(problems({ changes: { window: '30m', source: { kubernetes: {} } }, targets: { ...base.targets, checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' }, actions: { rollback: { revertAfter: '1h' } } } } }))
      .toEqual([expect.stringMatching(/^targets\.checkout\.actions\.rollback\.revertAfter: /)]);
  });
});

describe('rules with when: (the policy, given what the change source said)', () => {
  const config = parseConfig({
    auth: 'none',
    changes: { window: '30m', source: { kubernetes: {} } },
    actuators: { cluster: { type: 'kubernetes' } },
    targets: {
      checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' } },
      search: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'search' } },
    },
    rules: [
      { name: 'after-deploy', matchers: ['service = checkout'], target: 'checkout', when: 'recentChange', actions: ['rollback'] },
      { name: 'search-quiet', matchers: ['service = checkout'], target: 'search', when: 'noRecentChange', actions: ['restart'] },
      { name: 'fallback', matchers: ['service = checkout'], target: 'checkout', actions: ['scale_up'] },
      { name: 'never-asked', matchers: ['service = checkout'], target: 'search', when: 'recentChange', actions: ['restart'] },
    ],
  });
  const policy = new Policy(config);
  const labels = { service: 'checkout' };
  const vars = templateVars({ labels, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
  const change = { at: '2026-11-23T21:50:00.000Z', revision: '2', source: 'kubernetes' as const };
  const rule = (d: ReturnType<Policy['decide']>) => (d.kind === 'plan' ? d.plan.rule.name : `skip: ${d.reason}`);

  it('asks the source about the targets of the when: rules up to the first rule without one, and is decided by the engine, not at ingest', () => {
    expect(policy.changeTargets(labels, vars).map((t) => t.targetName)).toEqual(['checkout', 'search']);
    expect(policy.needsChange(labels)).toBe(true);
    expect(policy.needsChange({ service: 'payments' })).toBe(false);
  });

  it('first match wins among the rules whose when: holds; a rule without when: either way; an unknown change counts as not recent', () => {
    const recent = new Map([['checkout', { recent: true, change }], ['search', { recent: false }]]);
    const d = policy.decide(labels, vars, { changes: recent });
    expect(rule(d)).toBe('after-deploy');
    expect(d.kind === 'plan' && d.plan.change).toEqual(change);
    expect(rule(policy.decide(labels, vars, { changes: new Map([['checkout', { recent: false, change }], ['search', { recent: false }]]) }))).toBe('search-quiet');
    expect(rule(policy.decide(labels, vars, { changes: new Map([['checkout', { recent: false }], ['search', { recent: true }]]) }))).toBe('fallback');
    const failed = policy.decide(labels, vars, { changes: new Map([['checkout', { recent: false, error: 'the kubernetes change source could not say ...' }]]) });
    expect(rule(failed)).toBe('search-quiet'); // search: nothing known, so not recent
    expect(rule(policy.decide(labels, vars))).toBe('search-quiet');
  });

  it('an incident decided before keeps its rule whatever the change says now (unless the config no longer has it)', () => {
    const notRecent = new Map([['checkout', { recent: false }], ['search', { recent: true }]]);
    expect(rule(policy.decide(labels, vars, { changes: notRecent, rule: 'after-deploy' }))).toBe('after-deploy');
    expect(rule(policy.decide(labels, vars, { changes: notRecent, rule: 'renamed-since' }))).toBe('fallback');
  });
});
