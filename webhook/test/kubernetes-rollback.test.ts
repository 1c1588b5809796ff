// The Kubernetes actuator's `rollback`, driven through the real @kubernetes/client-node against a local server that
// speaks the apiserver's wire contract (Deployments, ReplicaSets with their revision annotations and owner
// references, JSON patch, Argo Rollouts and Flagger Canaries as custom resources, Status errors). No Kubernetes API
// server can run here; what kubectl rollout undo and kubectl argo rollouts abort send is what is checked.
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesActionSchemas, kubernetesActuatorSchema } from '../src/actuators/kubernetes/config.js';
import { KubernetesActuator } from '../src/actuators/kubernetes/kubernetes-actuator.js';
import type { Actuator } from '../src/actuators/types.js';
import { templateVars } from '../src/policy/policy.js';
import { deployment, replicaSet, startFakeCluster, type FakeCluster, type Obj } from './support/kube-apiserver.js';
import { tempDir } from './support/harness.js';

let dir: string;
let cluster: FakeCluster | undefined;
beforeEach(() => { dir = tempDir(); });
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const WINDOW = 30 * 60;
// Revision 1 (checkout:1.0) from November; revision 2 (checkout:1.1) rolled out at 21:50; the anomaly begins at 22:00.
const STARTS_AT = '2026-11-23T22:00:00Z';

/** checkout at revision 2 (checkout:1.1), as the Deployment controller leaves it after a rollout. */
function rolledOut(extra: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): Obj {
  const d = deployment('shop', 'checkout', 3);
  const spec = d.spec as { template: { spec: { containers: { image: string }[] } } };
  spec.template.spec.containers[0]!.image = 'checkout:1.1';
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2', 'kubectl.kubernetes.io/last-applied-configuration': '{"kept":true}', ...extra.annotations };
  d.metadata.labels = { ...d.metadata.labels, ...extra.labels };
  return d;
}

const history = (): Obj[] => [
  replicaSet('shop', 'checkout', 1, 'checkout:1.0', '2026-11-01T00:00:00Z', '5d8f7c', { annotations: { 'kubernetes.io/change-cause': 'release 1.0' } }),
  replicaSet('shop', 'checkout', 2, 'checkout:1.1', '2026-11-23T21:50:00Z', '7b9c4d', { annotations: { 'kubernetes.io/change-cause': 'release 1.1' } }),
];

async function rollback(opts: { startsAt?: string; window?: number | null; gitops?: 'refuse' | 'act' } = {}) {
  const actuator: Actuator = new KubernetesActuator(kubernetesActuatorSchema.parse({ type: 'kubernetes', kubeconfig: cluster!.kubeconfig }));
  const vars = templateVars({ labels: { service: 'checkout' }, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: opts.startsAt ?? STARTS_AT }, []);
  return actuator.execute({
    action: 'rollback', targetName: 'checkout', target: { actuator: 'k8s', kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'checkout', gitops: opts.gitops ?? 'refuse' }, actions: {} },
    params: kubernetesActionSchemas.rollback.parse({}), vars, signal: new AbortController().signal,
    ...(opts.window === null ? {} : { changeWindow: opts.window ?? WINDOW }),
  });
}

const template = () => (cluster!.objects.get('deployments/shop/checkout')?.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } } }).template;

describe('rollback (Kubernetes wire contract, no API server)', () => {
  it('rolls a Deployment back like kubectl rollout undo: one JSON patch with the previous ReplicaSet\'s template (without pod-template-hash) and kubectl\'s annotations', async () => {
    // A ReplicaSet with the same labels but another owner (uid) and a higher revision is not this Deployment's.
    const foreign = replicaSet('shop', 'checkout', 9, 'evil:6.6', '2026-11-23T21:55:00Z', 'f0f0f0', { ownerUid: 'uid-someone-else' });
    cluster = await startFakeCluster(dir, [rolledOut(), ...history(), foreign]);
    const result = await rollback();
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { fromRevision: '2', toRevision: '1', rolledOutAt: '2026-11-23T21:50:00.000Z', fromImages: ['checkout:1.1'], toImages: ['checkout:1.0'] } });
    expect(result.reason).toBe('rolled Deployment/checkout in shop back from revision 2 (checkout:1.1) to revision 1 (checkout:1.0), as kubectl rollout undo; revision 2 was rolled out at 2026-11-23T21:50:00.000Z, 10m before the anomaly began');
    expect(cluster.patches).toHaveLength(1);
    const p = cluster.patches[0]!;
    expect(p).toMatchObject({ path: '/apis/apps/v1/namespaces/shop/deployments/checkout', contentType: 'application/json-patch+json', fieldManager: 'selfheal' });
    expect(p.body).toEqual([
      { op: 'replace', path: '/spec/template', value: { metadata: { labels: { app: 'checkout' }, annotations: {} }, spec: { containers: [{ name: 'checkout', image: 'checkout:1.0' }] } } },
      // kubectl keeps the Deployment's own revision and last-applied annotations and copies the rest from the ReplicaSet
      // (not its desired-replicas / max-replicas).
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '2', 'kubectl.kubernetes.io/last-applied-configuration': '{"kept":true}', 'kubernetes.io/change-cause': 'release 1.0' } },
    ]);
    expect(template().spec.containers[0]?.image).toBe('checkout:1.0');
    expect(template().metadata.labels['pod-template-hash']).toBeUndefined();
  });

  it('refuses with a clear reason when there is no previous revision, and changes nothing', async () => {
    cluster = await startFakeCluster(dir, [rolledOut(), history()[1]!]);
    const result = await rollback();
    expect(result).toMatchObject({ outcome: 'skipped', refusal: 'no_previous_revision' });
    expect(result.reason).toBe('Deployment/checkout in shop has no previous revision to roll back to (revision 2 is its only ReplicaSet; older ones may have been removed by revisionHistoryLimit); nothing was changed');
    expect(cluster.patches).toHaveLength(0);
  });

  it('refuses when the anomaly did not begin within changes.window of the last rollout, or began before it, or no window is configured', async () => {
    cluster = await startFakeCluster(dir, [rolledOut(), ...history()]);
    const late = await rollback({ startsAt: '2026-11-24T00:00:00Z' });
    expect(late).toMatchObject({ outcome: 'skipped', refusal: 'no_recent_change' });
    expect(late.reason).toBe('Deployment/checkout in shop: the anomaly began at 2026-11-24T00:00:00.000Z, 2h10m after its last rollout (revision 2 (checkout:1.1) rolled out at 2026-11-23T21:50:00.000Z), outside changes.window 30m; nothing was changed');
    const before = await rollback({ startsAt: '2026-11-23T21:40:00Z' });
    expect(before).toMatchObject({ outcome: 'skipped', refusal: 'no_recent_change', reason: expect.stringMatching(/after the anomaly began at 2026-11-23T21:40:00.000Z: not the change that caused it/) });
    const unset = await rollback({ window: null });
    expect(unset).toMatchObject({ outcome: 'skipped', refusal: 'no_recent_change', reason: expect.stringMatching(/needs changes.window/) });
    expect(cluster.patches).toHaveLength(0);
  });

  it('honours the selfheal.io/no-rollback annotation: "true" refuses, "false" acts, any other value is an error naming the object and value', async () => {
    cluster = await startFakeCluster(dir, [rolledOut({ annotations: { 'selfheal.io/no-rollback': 'true' } }), ...history()]);
    expect(await rollback()).toMatchObject({ outcome: 'skipped', refusal: 'rollback_opt_out', reason: expect.stringMatching(/^Deployment\/checkout in shop carries selfheal.io\/no-rollback: "true"/) });
    await cluster.close();
    cluster = await startFakeCluster(dir, [rolledOut({ annotations: { 'selfheal.io/no-rollback': 'yes' } }), ...history()]);
    const bad = await rollback();
    expect(bad.outcome).toBe('failed');
    expect(bad.reason).toBe('Deployment/checkout in shop: annotation selfheal.io/no-rollback has the value "yes"; write "true" (never roll it back) or "false"; nothing was changed');
    expect(bad.refusal).toBeUndefined();
    expect(cluster.patches).toHaveLength(0);
    await cluster.close();
    cluster = await startFakeCluster(dir, [rolledOut({ annotations: { 'selfheal.io/no-rollback': 'false' } }), ...history()]);
    expect((await rollback()).outcome).toBe('succeeded');
  });

  it('aborts an Argo Rollout that is mid-release through its status subresource, as kubectl argo rollouts abort does', async () => {
    const rollout: Obj = {
      kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1',
      metadata: { name: 'checkout', namespace: 'shop', uid: 'uid-ro', resourceVersion: '1' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' }, strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } } },
      status: { phase: 'Paused', currentPodHash: '7b9c4d', stableRS: '5d8f7c' },
    };
    cluster = await startFakeCluster(dir, [rolledOut(), ...history(), rollout]);
    const result = await rollback();
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { argoRollout: 'checkout', aborted: true, canary: '7b9c4d', stable: '5d8f7c' } });
    expect(result.reason).toMatch(/released by Argo Rollout shop\/checkout, mid-release .*aborted it as kubectl argo rollouts abort does/);
    expect(cluster.patches).toEqual([{ path: '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status', contentType: 'application/merge-patch+json', body: { status: { abort: true } }, fieldManager: 'selfheal' }]);
    expect((cluster.objects.get('rollouts/shop/checkout')?.status as { abort?: boolean }).abort).toBe(true);
    // Aborted now: nothing more to do through the Rollout; a person is needed (escalated refusal).
    const again = await rollback();
    expect(again).toMatchObject({ outcome: 'skipped', refusal: 'progressive_delivery', reason: expect.stringMatching(/already aborted: a person must undo the release through the Rollout/) });
    expect(cluster.patches).toHaveLength(1);
  });

  it('escalates instead of touching a Deployment an Argo Rollout has fully promoted, or one a Flagger Canary targets', async () => {
    const promoted: Obj = {
      kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1', metadata: { name: 'checkout-ro', namespace: 'shop' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' } }, status: { phase: 'Healthy', currentPodHash: '7b9c4d', stableRS: '7b9c4d' },
    };
    cluster = await startFakeCluster(dir, [rolledOut(), ...history(), promoted]);
    expect(await rollback()).toMatchObject({ outcome: 'skipped', refusal: 'progressive_delivery', reason: expect.stringMatching(/Argo Rollout shop\/checkout-ro, not mid-release/) });
    await cluster.close();
    const canary: Obj = {
      kind: 'Canary', apiVersion: 'flagger.app/v1beta1', metadata: { name: 'checkout', namespace: 'shop' },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' }, analysis: { interval: '1m', threshold: 5 } },
    };
    // Argo Rollouts' CRD is not installed here (404 on its list): only Flagger's is.
    cluster = await startFakeCluster(dir, [rolledOut(), ...history(), canary]);
    const flagger = await rollback();
    expect(flagger).toMatchObject({ outcome: 'skipped', refusal: 'progressive_delivery', detail: { flaggerCanary: 'checkout' } });
    expect(flagger.reason).toMatch(/^Deployment\/checkout in shop is the target of Flagger Canary shop\/checkout/);
    expect(cluster.patches).toHaveLength(0);
  });

  it('is refused under gitops: refuse for a Deployment Flux applies, and acts (recorded) under gitops: act', async () => {
    const flux = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
    cluster = await startFakeCluster(dir, [rolledOut({ labels: flux }), ...history()]);
    expect(await rollback()).toMatchObject({ outcome: 'skipped', refusal: 'gitops', reason: expect.stringMatching(/managed by Flux Kustomization flux-system\/apps; gitops: refuse/) });
    expect(cluster.patches).toHaveLength(0);
    const acted = await rollback({ gitops: 'act' });
    expect(acted).toMatchObject({ outcome: 'succeeded', detail: { gitops: 'acted' } });
    expect(acted.reason).toMatch(/acted anyway \(gitops: act\)/);
  });

  it('tells the last rollout at or before a time from the ReplicaSets (the kubernetes change source)', async () => {
    cluster = await startFakeCluster(dir, [rolledOut(), ...history()]);
    const actuator = new KubernetesActuator(kubernetesActuatorSchema.parse({ type: 'kubernetes', kubeconfig: cluster.kubeconfig }));
    const t = { namespace: 'shop', kind: 'Deployment' as const, name: 'checkout', gitops: 'refuse' as const };
    expect(await actuator.lastRollout(t, Date.parse(STARTS_AT) / 1000)).toEqual({ at: Date.parse('2026-11-23T21:50:00Z') / 1000, revision: '2' });
    expect(await actuator.lastRollout(t, Date.parse('2026-11-23T21:00:00Z') / 1000)).toEqual({ at: Date.parse('2026-11-01T00:00:00Z') / 1000, revision: '1' });
  });
});
