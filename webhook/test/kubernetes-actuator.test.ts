// The Kubernetes actuator driven through the real @kubernetes/client-node against a local server that speaks
// the apiserver's wire contract (no Kubernetes API server can run here).
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesActionSchemas, kubernetesActuatorSchema } from '../src/actuators/kubernetes/config.js';
import type { Actuator } from '../src/actuators/types.js';
import { KubernetesActuator } from '../src/actuators/kubernetes/kubernetes-actuator.js';
import type { ActionName } from '@selfheal/contracts';
import { templateVars } from '../src/policy/policy.js';
import { configMap, deployment, hpa, pod, startFakeCluster, type FakeCluster } from './support/kube-apiserver.js';
import { payload, prometheusApi, startHealer, startServer, tempDir } from './support/harness.js';
import { PrometheusQueries } from '../src/verify/prometheus.js';

let dir: string;
let cluster: FakeCluster | undefined;
beforeEach(() => { dir = tempDir(); });
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function act(action: ActionName, params: Record<string, unknown> = {}, labels: Record<string, string> = { service: 'checkout' }, kind: 'Deployment' | 'StatefulSet' = 'Deployment', prometheus?: PrometheusQueries, gitops: 'refuse' | 'act' = 'refuse', actuatorConfig: Record<string, unknown> = {}) {
  // As the engine holds it: parameters validated by the actuator's call schema for the action.
  const actuator: Actuator = new KubernetesActuator(kubernetesActuatorSchema.parse({ type: 'kubernetes', kubeconfig: cluster!.kubeconfig, ...actuatorConfig }));
  const vars = templateVars({ labels, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
  return actuator.execute({
    action, targetName: 'checkout', target: { actuator: 'k8s', kubernetes: { namespace: 'shop', kind, name: 'checkout', gitops }, actions: {} },
    params: kubernetesActionSchemas[action].parse(params), vars, signal: new AbortController().signal, prometheus,
  });
}

describe('KubernetesActuator (Kubernetes wire contract, no API server)', () => {
  it('scales a Deployment through the scale subresource with a merge patch, bounded by maxReplicas', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3)]);
    const result = await act('scale_up', { step: 2, maxReplicas: 4 });
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { from: 3, to: 4 } });
    expect(cluster.patches).toEqual([{ path: '/apis/apps/v1/namespaces/shop/deployments/checkout/scale', contentType: 'application/merge-patch+json', body: { spec: { replicas: 4 } }, fieldManager: 'selfheal' }]);
    expect((cluster.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas).toBe(4);
    const again = await act('scale_up', { step: 2, maxReplicas: 4 });
    expect(again.outcome).toBe('skipped');
    expect(again.reason).toMatch(/already has 4 replicas \(max 4\)/);
  });

  it('scales a StatefulSet the same way', async () => {
    const sts = { ...deployment('shop', 'checkout', 1), kind: 'StatefulSet' };
    cluster = await startFakeCluster(dir, [sts]);
    const result = await act('scale_up', {}, undefined, 'StatefulSet');
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { from: 1, to: 2 } });
    expect(cluster.patches[0]?.path).toBe('/apis/apps/v1/namespaces/shop/statefulsets/checkout/scale');
  });

  it('raises the minReplicas of an owning HPA instead of fighting it, or refuses', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), hpa('shop', 'checkout-hpa', 'Deployment', 'checkout', 2, 6, 3)]);
    const raised = await act('scale_up', { step: 2, maxReplicas: 10, hpa: 'raise-min' });
    expect(raised).toMatchObject({ outcome: 'succeeded', detail: { hpa: 'checkout-hpa', from: 2, to: 5 } });
    expect(cluster.patches).toEqual([{ path: '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/checkout-hpa', contentType: 'application/merge-patch+json', body: { spec: { minReplicas: 5 } }, fieldManager: 'selfheal' }]);
    const refused = await act('scale_up', { hpa: 'refuse' });
    expect(refused.outcome).toBe('skipped');
    expect(refused.reason).toMatch(/HorizontalPodAutoscaler checkout-hpa; policy says refuse/);
    expect(cluster.patches).toHaveLength(1);
  });

  it('restarts like `kubectl rollout restart`: a restartedAt pod-template annotation, strategic merge patch', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3)]);
    const result = await act('restart');
    expect(result.outcome).toBe('succeeded');
    const p = cluster.patches[0]!;
    expect(p).toMatchObject({ path: '/apis/apps/v1/namespaces/shop/deployments/checkout', contentType: 'application/strategic-merge-patch+json' });
    const at = (p.body as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'];
    expect(Date.parse(at ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('quarantines the alert\'s pod by relabelling it out of the Service selector', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), pod('shop', 'checkout-7d9f-abcde', { app: 'checkout', 'pod-template-hash': '7d9f' })]);
    const result = await act('quarantine', {}, { service: 'checkout', pod: 'checkout-7d9f-abcde' });
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { pod: 'checkout-7d9f-abcde' } });
    const labels = cluster.objects.get('pods/shop/checkout-7d9f-abcde')?.metadata.labels;
    expect(labels).toMatchObject({ app: 'checkout-quarantined', 'selfheal.io/quarantined': 'true', 'pod-template-hash': '7d9f' });
    expect(cluster.patches[0]?.contentType).toBe('application/merge-patch+json');
  });

  it('refuses to quarantine a pod that does not belong to the policy\'s target (no label injection)', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), pod('shop', 'payments-1-xyz', { app: 'payments' })]);
    const result = await act('quarantine', {}, { service: 'checkout', pod: 'payments-1-xyz' });
    expect(result.outcome).toBe('skipped');
    expect(result.reason).toMatch(/does not belong to Deployment\/checkout/);
    const weird = await act('quarantine', {}, { service: 'checkout', pod: '../../nodes/x' });
    expect(weird).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/not a pod name/) });
    expect(cluster.patches).toHaveLength(0);
  });

  it('toggles a cache through a ConfigMap key and a circuit breaker through an annotation', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), configMap('shop', 'checkout-flags', { CACHE_ENABLED: 'false', OTHER: 'kept' })]);
    expect((await act('enable_cache', { configMap: { name: 'checkout-flags', key: 'CACHE_ENABLED', value: 'true' } })).outcome).toBe('succeeded');
    expect(cluster.objects.get('configmaps/shop/checkout-flags')?.data).toEqual({ CACHE_ENABLED: 'true', OTHER: 'kept' });
    expect((await act('open_circuit_breaker', { annotation: { key: 'selfheal.io/circuit-breaker', value: 'open' } })).outcome).toBe('succeeded');
    const tpl = (cluster.objects.get('deployments/shop/checkout')?.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
    expect(tpl.metadata.annotations['selfheal.io/circuit-breaker']).toBe('open');
  });

  it('finds the worst instance with a PromQL query when the alert names no pod', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), pod('shop', 'checkout-7d9f-aaaaa', { app: 'checkout' }), pod('shop', 'checkout-7d9f-bbbbb', { app: 'checkout' })]);
    const queries: string[] = [];
    const prom = await startServer(prometheusApi((q) => { queries.push(q); return [{ metric: { pod: 'checkout-7d9f-aaaaa' }, value: 0.4 }, { metric: { pod: 'checkout-7d9f-bbbbb' }, value: 3.2 }]; }));
    try {
      const result = await act('quarantine', { worstInstanceQuery: 'selfheal_anomaly_feature_score{service="{{ labels.service }}", feature="instance_outlier"}' }, { service: 'checkout' }, 'Deployment', new PrometheusQueries(prom.url));
      expect(result).toMatchObject({ outcome: 'succeeded', detail: { pod: 'checkout-7d9f-bbbbb' } });
      expect(queries).toEqual(['selfheal_anomaly_feature_score{service="checkout", feature="instance_outlier"}']);
      expect(cluster.objects.get('pods/shop/checkout-7d9f-aaaaa')?.metadata.labels?.app).toBe('checkout');
    } finally {
      await prom.close();
    }
  });

  it('runs from the service config (kubeconfig file, lazily loaded client) on a real alert', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 2)]);
    const svc = await startHealer({
      actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } },
      targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'checkout' }, actions: { scale_up: { step: 3, maxReplicas: 4 } } } },
      rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout' }],
    });
    try {
      expect((await svc.post(payload([{}]))).status).toBe(200);
      await svc.healer.engine.idle();
      expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ action: 'scale_up', status: 'succeeded' });
      expect(svc.healer.sqlite!.listAudit({}).find((r) => r.event === 'applied')?.reason).toBe('scaled Deployment/checkout in shop from 2 to 4 replicas');
      expect((cluster.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas).toBe(4);
    } finally {
      await svc.close();
    }
  });

  it('reports the apiserver\'s Status message on errors', async () => {
    cluster = await startFakeCluster(dir, []);
    const result = await act('restart');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/Kubernetes API answered 404: deployments.apps "checkout" not found/);
  });

  describe('reverts a fix from the value it recorded, while the object still holds what the fix set (no API server here)', () => {
    async function revert(action: ActionName, fixDetail: Record<string, unknown>, params: Record<string, unknown> = {}) {
      const actuator: Actuator = new KubernetesActuator(kubernetesActuatorSchema.parse({ type: 'kubernetes', kubeconfig: cluster!.kubeconfig }));
      const vars = templateVars({ labels: { service: 'checkout' }, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
      return actuator.revert!({
        action, targetName: 'checkout', target: { actuator: 'k8s', kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'checkout', gitops: 'refuse' }, actions: {} },
        params: kubernetesActionSchemas[action].parse(params), vars, signal: new AbortController().signal, fixDetail,
      });
    }
    const replicas = () => (cluster!.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas;

    it('scale_up: back to the previous replica count through the scale subresource; a count changed since is left alone', async () => {
      cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 2)]);
      const fix = await act('scale_up', { step: 3, maxReplicas: 10 });
      expect(fix).toMatchObject({ outcome: 'succeeded', detail: { from: 2, to: 5 } });
      const undone = await revert('scale_up', fix.detail!, { step: 3, maxReplicas: 10 });
      expect(undone).toMatchObject({ outcome: 'succeeded', reason: 'scaled Deployment/checkout in shop back from 5 to 2 replicas', detail: { from: 5, to: 2 } });
      expect(cluster.patches.at(-1)).toEqual({ path: '/apis/apps/v1/namespaces/shop/deployments/checkout/scale', contentType: 'application/merge-patch+json', body: { spec: { replicas: 2 } }, fieldManager: 'selfheal' });
      expect(replicas()).toBe(2);
      // Someone scaled it since (to 7): not the fix's count any more, so the revert leaves it.
      const again = await act('scale_up', { step: 3, maxReplicas: 10 });
      (cluster.objects.get('deployments/shop/checkout')!.spec as { replicas: number }).replicas = 7;
      const patches = cluster.patches.length;
      expect(await revert('scale_up', again.detail!)).toMatchObject({ outcome: 'skipped', reason: 'Deployment/checkout in shop has 7 replicas, not the 5 the fix set: changed since the fix, left alone' });
      expect(cluster.patches).toHaveLength(patches);
      expect(replicas()).toBe(7);
    });

    it('scale_up with hpa: raise-min: the HPA\'s minReplicas back to what it was', async () => {
      cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), hpa('shop', 'checkout-hpa', 'Deployment', 'checkout', 2, 6, 3)]);
      const fix = await act('scale_up', { step: 2, maxReplicas: 10, hpa: 'raise-min' });
      expect(fix).toMatchObject({ outcome: 'succeeded', detail: { hpa: 'checkout-hpa', from: 2, to: 5 } });
      const undone = await revert('scale_up', fix.detail!);
      expect(undone).toMatchObject({ outcome: 'succeeded', reason: 'lowered minReplicas of HorizontalPodAutoscaler checkout-hpa back from 5 to 2' });
      expect(cluster.patches.at(-1)).toEqual({ path: '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/checkout-hpa', contentType: 'application/merge-patch+json', body: { spec: { minReplicas: 2 } }, fieldManager: 'selfheal' });
      expect((cluster.objects.get('horizontalpodautoscalers/shop/checkout-hpa')?.spec as { minReplicas: number }).minReplicas).toBe(2);
      expect(replicas()).toBe(3);
    });

    it('enable_cache and open_circuit_breaker: the ConfigMap key and the annotation back to their previous values (removed when they were absent)', async () => {
      cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), configMap('shop', 'checkout-flags', { CACHE_ENABLED: 'false', OTHER: 'kept' })]);
      const cacheParams = { configMap: { name: 'checkout-flags', key: 'CACHE_ENABLED', value: 'true' } };
      const cache = await act('enable_cache', cacheParams);
      expect(cache.detail).toMatchObject({ configMap: 'checkout-flags', key: 'CACHE_ENABLED', value: 'true', previous: 'false' });
      expect(await revert('enable_cache', cache.detail!, cacheParams)).toMatchObject({ outcome: 'succeeded', reason: 'set CACHE_ENABLED=false in ConfigMap checkout-flags again' });
      expect(cluster.objects.get('configmaps/shop/checkout-flags')?.data).toEqual({ CACHE_ENABLED: 'false', OTHER: 'kept' });
      const breakerParams = { annotation: { key: 'selfheal.io/circuit-breaker', value: 'open' } };
      const breaker = await act('open_circuit_breaker', breakerParams);
      expect(breaker.detail).toMatchObject({ annotation: 'selfheal.io/circuit-breaker', value: 'open', previous: null });
      expect(await revert('open_circuit_breaker', breaker.detail!, breakerParams)).toMatchObject({ outcome: 'succeeded', reason: 'removed the pod-template annotation selfheal.io/circuit-breaker of Deployment/checkout (absent before the fix)' });
      expect(cluster.patches.at(-1)).toMatchObject({ contentType: 'application/strategic-merge-patch+json', body: { spec: { template: { metadata: { annotations: { 'selfheal.io/circuit-breaker': null } } } } } });
      const tpl = (cluster.objects.get('deployments/shop/checkout')?.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
      expect(tpl.metadata.annotations).not.toHaveProperty('selfheal.io/circuit-breaker');
    });

    it('quarantine: the pod is put back into its Service\'s selector, its quarantine markers removed; a deleted pod is nothing to put back', async () => {
      cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 3), pod('shop', 'checkout-7d9f-abcde', { app: 'checkout', 'pod-template-hash': '7d9f' })]);
      const fix = await act('quarantine', {}, { service: 'checkout', pod: 'checkout-7d9f-abcde' });
      expect(fix.detail).toEqual({ pod: 'checkout-7d9f-abcde', selectorLabel: 'app', previous: 'checkout', value: 'checkout-quarantined' });
      expect(await revert('quarantine', fix.detail!)).toMatchObject({ outcome: 'succeeded', reason: 'put pod checkout-7d9f-abcde back: app=checkout-quarantined -> checkout' });
      const meta = cluster.objects.get('pods/shop/checkout-7d9f-abcde')?.metadata;
      expect(meta?.labels).toEqual({ app: 'checkout', 'pod-template-hash': '7d9f' });
      expect(meta?.annotations ?? {}).toEqual({});
      cluster.objects.delete('pods/shop/checkout-7d9f-abcde');
      expect(await revert('quarantine', fix.detail!)).toMatchObject({ outcome: 'skipped', reason: 'pod checkout-7d9f-abcde is gone (deleted since its quarantine); nothing to put back' });
    });
  });
});
