// GitOps and ownership awareness of the Kubernetes actuator, driven through the real @kubernetes/client-node
// against a local server that answers with apiserver-shaped objects carrying the markers Argo CD, Flux and Helm
// document (no Kubernetes API server, Argo CD or Flux can run here).
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActionName, ConfigError } from '@selfheal/contracts';
import { kubernetesActionSchemas, kubernetesActuatorSchema } from '../src/actuators/kubernetes/config.js';
import { KubernetesActuator } from '../src/actuators/kubernetes/kubernetes-actuator.js';
import type { Actuator } from '../src/actuators/types.js';
import { parseConfig } from '../src/config/load.js';
import { templateVars } from '../src/policy/policy.js';
import { configMap, deployment, hpa, startFakeCluster, type FakeCluster } from './support/kube-apiserver.js';
import { payload, startHealer, startServer, tempDir, type TestServer } from './support/harness.js';

type Obj = ReturnType<typeof deployment>;

/** The object with labels and annotations added to its metadata (as the controller that applied it left them). */
function managed(obj: Obj, labels: Record<string, string>, annotations: Record<string, string> = {}): Obj {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, ...labels }, annotations: { ...obj.metadata.annotations, ...annotations } } };
}

// The markers as each tool writes them (Argo CD resource tracking docs, Flux kustomize-/helm-controller, Helm 3).
const ARGOCD_ANNOTATION = { 'argocd.argoproj.io/tracking-id': 'shop-apps:apps/Deployment:shop/checkout' };
const FLUX_KUSTOMIZATION = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
const FLUX_HELMRELEASE = { 'helm.toolkit.fluxcd.io/name': 'checkout', 'helm.toolkit.fluxcd.io/namespace': 'shop' };
const HELM_LABELS = { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'checkout' };
const HELM_ANNOTATIONS = { 'meta.helm.sh/release-name': 'checkout', 'meta.helm.sh/release-namespace': 'shop' };

let dir: string;
let cluster: FakeCluster | undefined;
beforeEach(() => { dir = tempDir(); });
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function act(action: ActionName, params: Record<string, unknown>, gitops?: 'refuse' | 'act', actuatorConfig: Record<string, unknown> = {}) {
  const actuator: Actuator = new KubernetesActuator(kubernetesActuatorSchema.parse({ type: 'kubernetes', kubeconfig: cluster!.kubeconfig, ...actuatorConfig }));
  const vars = templateVars({ labels: { service: 'checkout' }, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
  // The target as the config schema makes it (so an omitted `gitops` gets the default).
  const config = parseConfig({ auth: 'none', actuators: { k8s: { type: 'kubernetes' } }, targets: { checkout: { actuator: 'k8s', kubernetes: { namespace: 'shop', name: 'checkout', ...(gitops ? { gitops } : {}) } } } });
  return actuator.execute({
    action, targetName: 'checkout', target: config.targets.checkout!, params: kubernetesActionSchemas[action].parse(params), vars, signal: new AbortController().signal,
  });
}

const replicas = () => (cluster!.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas;

describe('Kubernetes actuator GitOps awareness (Kubernetes wire contract, no API server)', () => {
  it('refuses by default to scale a Deployment Argo CD tracks by its tracking-id annotation, naming the Application', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), {}, ARGOCD_ANNOTATION)]);
    const result = await act('scale_up', {});
    expect(result).toMatchObject({ outcome: 'skipped', refusal: 'gitops', detail: { gitops: 'refused', managedBy: [{ kind: 'argocd', name: 'shop-apps', marker: 'argocd.argoproj.io/tracking-id' }] } });
    expect(result.reason).toBe('Deployment/checkout in shop is managed by Argo CD Application shop-apps; gitops: refuse, so nothing was changed: a person must change it in Git (or set gitops: act)');
    expect(cluster.patches).toEqual([]);
    expect(replicas()).toBe(2);
  });

  it('refuses to restart a Deployment applied by a Flux Kustomization (kustomize.toolkit.fluxcd.io labels)', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), FLUX_KUSTOMIZATION)]);
    const result = await act('restart', {}, 'refuse');
    expect(result).toMatchObject({ outcome: 'skipped', refusal: 'gitops', detail: { managedBy: [{ kind: 'flux-kustomization', name: 'flux-system/apps' }] } });
    expect(result.reason).toMatch(/^Deployment\/checkout in shop is managed by Flux Kustomization flux-system\/apps; gitops: refuse/);
    expect(cluster.patches).toEqual([]);
  });

  it('refuses a Flux HelmRelease\'s Deployment and names both the HelmRelease and the Helm release', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), { ...FLUX_HELMRELEASE, ...HELM_LABELS }, HELM_ANNOTATIONS)]);
    const result = await act('open_circuit_breaker', { annotation: { key: 'selfheal.io/circuit-breaker', value: 'open' } });
    expect(result).toMatchObject({ outcome: 'skipped', refusal: 'gitops' });
    expect(result.reason).toMatch(/managed by Flux HelmRelease shop\/checkout and Helm release shop\/checkout; gitops: refuse/);
    expect(cluster.patches).toEqual([]);
  });

  it('with gitops: act, scales anyway and records the manager and that the controller may revert it', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), FLUX_KUSTOMIZATION)]);
    const result = await act('scale_up', { step: 1 }, 'act');
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { from: 2, to: 3, gitops: 'acted', managedBy: [{ kind: 'flux-kustomization', name: 'flux-system/apps' }] } });
    expect(result.refusal).toBeUndefined();
    expect(result.reason).toBe('scaled Deployment/checkout in shop from 2 to 3 replicas; managed by Flux Kustomization flux-system/apps; acted anyway (gitops: act): the controller may revert this');
    expect(replicas()).toBe(3);
  });

  it('with gitops: act, restarts an Argo CD Deployment and says so', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), {}, ARGOCD_ANNOTATION)]);
    const result = await act('restart', {}, 'act');
    expect(result.outcome).toBe('succeeded');
    expect(result.reason).toMatch(/^rollout restart of Deployment\/checkout in shop; managed by Argo CD Application shop-apps; acted anyway/);
    expect(cluster.patches).toHaveLength(1);
  });

  it('treats app.kubernetes.io/instance alone as a Helm chart\'s label, not Argo CD, unless argocdTrackingLabel names it', async () => {
    // A plain Helm install: instance + managed-by labels and Helm's release annotations. Acted on, the release noted.
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), HELM_LABELS, HELM_ANNOTATIONS)]);
    const helm = await act('scale_up', {});
    expect(helm).toMatchObject({ outcome: 'succeeded', detail: { gitops: 'not-reconciled', managedBy: [{ kind: 'helm', name: 'shop/checkout', marker: 'meta.helm.sh/release-name' }] } });
    expect(helm.reason).toBe('scaled Deployment/checkout in shop from 2 to 3 replicas; managed by Helm release shop/checkout: a later helm upgrade may overwrite this');
    // The same object where Argo CD tracks by label (argocd-cm application.instanceLabelKey): Argo CD's.
    const argo = await act('scale_up', {}, undefined, { argocdTrackingLabel: 'app.kubernetes.io/instance' });
    expect(argo).toMatchObject({ outcome: 'skipped', refusal: 'gitops', detail: { managedBy: [{ kind: 'argocd', name: 'checkout', marker: 'app.kubernetes.io/instance' }, { kind: 'helm' }] } });
    expect(replicas()).toBe(3);
  });

  it('recognises Helm by app.kubernetes.io/managed-by: Helm alone too', async () => {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), { 'app.kubernetes.io/managed-by': 'Helm' })]);
    const result = await act('restart', {});
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { managedBy: [{ kind: 'helm', marker: 'app.kubernetes.io/managed-by' }] } });
  });

  it('acts on an unmanaged Deployment with nothing added to the record', async () => {
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 2)]);
    const result = await act('scale_up', {});
    expect(result).toEqual({ outcome: 'succeeded', reason: 'scaled Deployment/checkout in shop from 2 to 3 replicas', detail: { from: 2, to: 3 } });
  });

  it('checks the HPA it would change for hpa: raise-min, and the ConfigMap it would change for a toggle', async () => {
    const managedHpa = managed(hpa('shop', 'checkout-hpa', 'Deployment', 'checkout', 2, 6, 2), FLUX_KUSTOMIZATION);
    cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 2), managedHpa, managed(configMap('shop', 'checkout-flags', { CACHE_ENABLED: 'false' }), {}, { 'argocd.argoproj.io/tracking-id': 'shop-apps:/ConfigMap:shop/checkout-flags' })]);
    const refused = await act('scale_up', { hpa: 'raise-min' });
    expect(refused).toMatchObject({ outcome: 'skipped', refusal: 'gitops' });
    expect(refused.reason).toMatch(/^HorizontalPodAutoscaler\/checkout-hpa in shop is managed by Flux Kustomization flux-system\/apps/);
    const toggle = await act('enable_cache', { configMap: { name: 'checkout-flags', key: 'CACHE_ENABLED', value: 'true' } });
    expect(toggle.reason).toMatch(/^ConfigMap\/checkout-flags in shop is managed by Argo CD Application shop-apps/);
    expect(cluster.patches).toEqual([]);
    const raised = await act('scale_up', { hpa: 'raise-min' }, 'act');
    expect(raised).toMatchObject({ outcome: 'succeeded', detail: { hpa: 'checkout-hpa', from: 2, to: 3, gitops: 'acted' } });
    expect(raised.reason).toMatch(/^raised minReplicas of HorizontalPodAutoscaler checkout-hpa from 2 to 3; managed by Flux Kustomization/);
  });
});

describe('GitOps refusal in the service (real HTTP, SQLite store; Kubernetes wire contract, no API server)', () => {
  let slack: TestServer | undefined;
  afterEach(async () => { await slack?.close(); slack = undefined; });

  async function run(gitops: 'refuse' | 'act' | undefined) {
    cluster = await startFakeCluster(dir, [managed(deployment('shop', 'checkout', 2), FLUX_KUSTOMIZATION)]);
    slack = await startServer((_req, _body, res) => { res.end('ok'); });
    return startHealer({
      actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } },
      targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout', ...(gitops ? { gitops } : {}) } } },
      rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['scale_up'] }],
      escalation: { notify: { url: slack.url } },
    });
  }

  it('records a refusal as skipped with its reason, escalates to people, and counts it under reason="gitops"', async () => {
    const svc = await run(undefined);
    try {
      expect((await svc.post(payload([{}]))).status).toBe(200);
      await svc.healer.engine.idle();
      const store = svc.healer.sqlite!;
      expect(store.listActions({})[0]).toMatchObject({ action: 'scale_up', status: 'skipped', reason: expect.stringMatching(/managed by Flux Kustomization flux-system\/apps; gitops: refuse/) });
      const audit = store.listAudit({});
      expect(audit.map((r) => r.event)).toEqual(expect.arrayContaining(['started', 'skipped', 'escalated']));
      const skipped = audit.find((r) => r.event === 'skipped');
      expect(skipped?.reason).toMatch(/^Deployment\/checkout in shop is managed by Flux Kustomization flux-system\/apps/);
      expect(JSON.parse(String(skipped?.detail))).toEqual({ gitops: 'refused', managedBy: [{ kind: 'flux-kustomization', name: 'flux-system/apps', marker: 'kustomize.toolkit.fluxcd.io/name' }] });
      expect(audit.find((r) => r.event === 'escalated')?.reason).toMatch(/scale_up was refused: Deployment\/checkout in shop is managed by Flux Kustomization flux-system\/apps.*; notification sent$/);
      const incident = (await svc.get('/api/v1/incidents')).body as { data: { result: string }[] };
      expect(incident.data[0]?.result).toBe('escalated');
      expect(slack!.requests).toHaveLength(1);
      expect((JSON.parse(slack!.requests[0]!.body) as { text: string }).text).toMatch(/could not heal checkout: scale_up was refused: .*a person must change it in Git/);
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      expect(metrics).toMatch(/selfheal_healing_guardrail_refusals_total\{reason="gitops",decision="escalated"\} 1/);
      expect(metrics).toMatch(/selfheal_healing_actions_total\{service="checkout",action="scale_up",outcome="skipped"\} 1/);
      expect(cluster!.patches).toEqual([]);
    } finally {
      await svc.close();
    }
  });

  it('with gitops: act, acts and records in the audit that the controller may revert it; nobody is paged', async () => {
    const svc = await run('act');
    try {
      await svc.post(payload([{}]));
      await svc.healer.engine.idle();
      const applied = svc.healer.sqlite!.listAudit({}).find((r) => r.event === 'applied');
      expect(applied?.reason).toBe('scaled Deployment/checkout in shop from 2 to 3 replicas; managed by Flux Kustomization flux-system/apps; acted anyway (gitops: act): the controller may revert this');
      expect(JSON.parse(String(applied?.detail))).toMatchObject({ from: 2, to: 3, gitops: 'acted', managedBy: [{ kind: 'flux-kustomization', name: 'flux-system/apps' }] });
      expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ status: 'succeeded' });
      expect(slack!.requests).toHaveLength(0);
      expect(replicas()).toBe(3);
      expect(await (await fetch(`${svc.url}/metrics`)).text()).toMatch(/selfheal_healing_guardrail_refusals_total\{reason="gitops",decision="escalated"\} 0/);
    } finally {
      await svc.close();
    }
  });
});

describe('GitOps settings in the config', () => {
  const errors = (raw: Record<string, unknown>) => { try { parseConfig({ auth: 'none', ...raw }); return []; } catch (e) { return (e as ConfigError).errors; } };
  const target = (kubernetes: Record<string, unknown>) => ({ actuators: { c: { type: 'kubernetes' } }, targets: { t: { actuator: 'c', kubernetes: { namespace: 'shop', name: 'checkout', ...kubernetes } } } });

  it('defaults gitops to refuse and accepts act', () => {
    expect(parseConfig({ auth: 'none', ...target({}) }).targets.t?.kubernetes?.gitops).toBe('refuse');
    expect(parseConfig({ auth: 'none', ...target({ gitops: 'act' }) }).targets.t?.kubernetes?.gitops).toBe('act');
  });

  it('names the key of a bad gitops value or Argo CD tracking label', () => {
    expect(errors(target({ gitops: 'ignore' }))).toEqual(['targets.t.kubernetes.gitops: must be refuse (skip and tell a person) or act (act anyway; the controller may revert it)']);
    expect(errors({ actuators: { c: { type: 'kubernetes', argocdTrackingLabel: 'not a label!' } } })).toEqual(['actuators.c.argocdTrackingLabel: must be a Kubernetes label key, e.g. app.kubernetes.io/instance']);
    expect(errors({ actuators: { c: { type: 'kubernetes', argocdTrackingLabel: 'argocd.argoproj.io/instance' } } })).toEqual([]);
  });
});
