// Releases of the demo workload over real HTTP with real child processes: the bad_release fault rolls a service to
// a new version (new processes, a new revision, a version that fails requests), the rollback the healing service
// calls brings back the previous one, a rollback with nowhere to go is refused with nothing changed, and the
// releases are exported as kube-state-metrics' ReplicaSet series.
import { describe, expect, it } from 'vitest';
import { matchingSamples, sampleValue, scrapeMetrics } from '@selfheal/contracts';
import type { ServiceState } from '../src/index.js';
import { callAdmin, type AdminAnswer } from './support/admin.js';
import { useWorkload } from './support/workload.js';

const SERVICES = [{ name: 'shop', dependency: 'payments', replicas: 3, maxReplicas: 6, rps: 5, cpuMsPerRequest: 1 }];

const workload = useWorkload(SERVICES);

const admin = (path: string, body?: unknown, method = 'POST'): Promise<AdminAnswer> => callAdmin(workload().url, path, body, method);

async function codes(n: number): Promise<{ status: number; instance: string }[]> {
  const out: { status: number; instance: string }[] = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${workload().url}/svc/shop/items/${i % 5}`);
    await response.arrayBuffer();
    out.push({ status: response.status, instance: response.headers.get('x-instance') ?? '?' });
  }
  return out;
}

const shop = (): ServiceState => {
  const s = workload().state().find((x) => x.service === 'shop');
  if (!s) throw new Error('no shop');
  return s;
};

describe('demo workload releases', () => {
  it('bad_release rolls out a new version on new instances that fails requests; the rollback brings back the previous one', async () => {
    const before = shop().instances.map((i) => i.instance);
    const injected = await admin('/services/shop/faults/bad_release', {});
    expect(injected.status, JSON.stringify(injected.json)).toBe(200);
    expect(injected.json).toMatchObject({ kind: 'bad_release', errorRatio: 0.5, fromRevision: 1, fromVersion: '1.0.0', toRevision: 2, toVersion: '1.1.0' });
    expect((injected.json.replaced as string[]).sort()).toEqual([...before].sort());
    const released = shop();
    expect(released).toMatchObject({ revision: 2, version: '1.1.0', replicas: 3 });
    expect(released.faults.bad_release).toEqual({ revision: 2, version: '1.1.0', errorRatio: 0.5, latencyMs: 0 });
    expect(released.instances.every((i) => i.revision === 2 && !before.includes(i.instance))).toBe(true);
    const bad = await codes(60);
    const failed = bad.filter((a) => a.status === 500).length;
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(50);

    const rolledBack = await admin('/services/shop/rollback', {});
    expect(rolledBack.status, JSON.stringify(rolledBack.json)).toBe(200);
    expect(rolledBack.json).toMatchObject({ fromRevision: 2, fromVersion: '1.1.0', toRevision: 1, toVersion: '1.0.0' });
    const after = shop();
    expect(after).toMatchObject({ revision: 1, version: '1.0.0', replicas: 3, faults: {} });
    expect(after.instances.every((i) => i.revision === 1 && !released.instances.some((r) => r.instance === i.instance))).toBe(true);
    expect(after.revisions.map((r) => [r.revision, r.status])).toEqual([[1, 'current'], [2, 'rolled_back']]);
    expect((await codes(30)).every((a) => a.status === 200)).toBe(true);

    // Nowhere further back: refused, and nothing changed (same processes, same revision).
    const again = await admin('/services/shop/rollback', {});
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('shop has no previous revision to roll back to (no revision before 1 (1.0.0) that was not rolled back; rolled back: 2 (1.1.0)); nothing was changed');
    expect(shop().instances.map((i) => i.instance)).toEqual(after.instances.map((i) => i.instance));
    expect(shop().revision).toBe(1);
  });

  it('a rollback of a service that was never released is refused with nothing changed', async () => {
    const before = shop().instances.map((i) => i.pid);
    const refused = await admin('/services/shop/rollback', {});
    expect(refused.status).toBe(409);
    expect(refused.json.error).toBe('shop has no previous revision to roll back to (revision 1 (1.0.0) is its only revision); nothing was changed');
    expect(shop().instances.map((i) => i.pid)).toEqual(before);
    expect((await admin('/services/nope/rollback', {})).json.error).toMatch(/unknown service "nope"; known: shop/);
  });

  it('names what is wrong with a release request', async () => {
    const good = await admin('/services/shop/faults/bad_release', { errorRatio: 0 });
    expect(good.status).toBe(400);
    expect(good.json.error).toMatch(/^invalid body for fault bad_release on shop: body: a bad release fails requests \(errorRatio > 0\) or slows them/);
    const version = await admin('/services/shop/faults/bad_release', { version: 'two words' });
    expect(version.status).toBe(400);
    expect(version.json.error).toMatch(/version: must be 1 to 64 letters/);
    const same = await admin('/services/shop/rollout', { version: '1.0.0' });
    expect(same.status).toBe(409);
    expect(same.json.error).toBe('shop already has version 1.0.0 (revision 1, current); roll out a new version, or roll back');
    expect((await admin('/services/shop/rollback', { to: 1 })).status).toBe(400);
    expect(shop().revisions).toHaveLength(1);
  });

  it('exports each revision as a kube-state-metrics ReplicaSet of the service\'s Deployment, and the version of each instance', async () => {
    await admin('/services/shop/faults/bad_release', { version: '2.0.0', latencyMs: 200 });
    const families = await scrapeMetrics(`${workload().url}/metrics`);
    const created = matchingSamples(families, 'kube_replicaset_created');
    const owners = matchingSamples(families, 'kube_replicaset_owner');
    const revisions = shop().revisions;
    expect(created.map((s) => s.labels.replicaset).sort()).toEqual(revisions.map((r) => r.replicaset).sort());
    for (const r of revisions) {
      expect(sampleValue(families, 'kube_replicaset_created', { namespace: 'demo', replicaset: r.replicaset })).toBe(r.createdAt / 1000);
      expect(owners.find((s) => s.labels.replicaset === r.replicaset)?.labels).toMatchObject({ namespace: 'demo', owner_kind: 'Deployment', owner_name: 'shop' });
    }
    expect(sampleValue(families, 'kube_replicaset_spec_replicas', { replicaset: revisions[1]?.replicaset ?? '' })).toBe(3);
    expect(sampleValue(families, 'kube_replicaset_spec_replicas', { replicaset: revisions[0]?.replicaset ?? '' })).toBe(0);
    expect(sampleValue(families, 'demo_service_revision', { service: 'shop', version: '2.0.0' })).toBe(2);
    expect(sampleValue(families, 'demo_fault_active', { service: 'shop', kind: 'bad_release' })).toBe(1);
    const builds = matchingSamples(families, 'demo_build_info');
    expect(builds.map((s) => s.labels.version)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    // The slow release: its lookups take the added latency.
    const started = performance.now();
    await codes(3);
    expect(performance.now() - started).toBeGreaterThan(3 * 200);

    // A reset forgets the release: back to revision 1, its ReplicaSet series gone.
    await admin('/reset');
    const reset = await scrapeMetrics(`${workload().url}/metrics`);
    expect(matchingSamples(reset, 'kube_replicaset_created')).toHaveLength(1);
    expect(matchingSamples(reset, 'demo_build_info').map((s) => s.labels.version)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
  });
});
