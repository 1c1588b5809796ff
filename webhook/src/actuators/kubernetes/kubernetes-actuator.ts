// Acts on Kubernetes through @kubernetes/client-node, the way kubectl does:
//  scale_up            -> scale subresource (GET, then merge-PATCH spec.replicas), or the owning HPA's minReplicas
//  restart             -> pod-template annotation kubectl.kubernetes.io/restartedAt (= `kubectl rollout restart`)
//  quarantine          -> relabel the bad pod out of its Service's selector (its ReplicaSet replaces it; the pod is kept for debugging)
//  enable_cache / open_circuit_breaker -> patch a ConfigMap key or a pod-template annotation
//  rollback            -> the previous revision's pod template (= `kubectl rollout undo`), only right after a rollout (rollback.ts)
// Each fix records the value it replaced in its detail; `revert` (revert.ts) puts it back.
// Before changing an object it reads who manages it (ownership.ts): an Argo CD or Flux object is left alone
// (`gitops: refuse`, escalated) or changed with that recorded (`gitops: act`). Quarantine changes only a pod, which
// no GitOps controller reconciles (its ReplicaSet made it), so it is not checked.
import {
  AppsV1Api, AutoscalingV2Api, CoreV1Api, CustomObjectsApi, KubeConfig,
  type V1ObjectMeta, type V1Pod, type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { z } from 'zod';
import { promqlEscape } from '../../util/promql.js';
import { render } from '../../util/template.js';
import { type ActionRequest, type ActionResult, type Actuator, type DescribeRequest, type RevertRequest } from '../types.js';
import { describeKubernetesAction } from './describe.js';
import { kubeError } from './errors.js';
import { revertKubernetesFix } from './revert.js';
import { revisionsOf } from './history.js';
import { rollback } from './rollback.js';
import { describeManagers, managersOf, reconciles } from './ownership.js';
import type { KubernetesActuatorConfig, KubernetesCall, KubernetesTarget, kubernetesActionSchemas } from './config.js';
import { mergePatch, strategicMergePatch } from './patch.js';

type Params<A extends keyof typeof kubernetesActionSchemas> = z.infer<(typeof kubernetesActionSchemas)[A]>;
type Toggle = Params<'enable_cache'>;

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** What the ownership check decided: refuse (the result to return), or act, with what to add to the result. */
type Ownership = { refused: ActionResult } | { note?: string; detail?: Record<string, unknown> };

/** The result of an action with the ownership check's note appended to its reason and its managers to its detail. */
function noted(result: ActionResult, o: Ownership): ActionResult {
  if ('refused' in o || !o.note) return result;
  return { ...result, reason: `${result.reason}; ${o.note}`, detail: { ...result.detail, ...o.detail } };
}

export { kubeError };

export function loadKubeConfig(config: KubernetesActuatorConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.inCluster) kc.loadFromCluster();
  else if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  if (config.context) kc.setCurrentContext(config.context);
  return kc;
}

export class KubernetesActuator implements Actuator<KubernetesCall> {
  readonly type = 'kubernetes' as const;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly custom: CustomObjectsApi;

  constructor(private readonly config: KubernetesActuatorConfig, kc: KubeConfig = loadKubeConfig(config)) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * The workload's last rollout at or before `before` (seconds): the creation of its newest ReplicaSet revision
   * created by then (the change source `kubernetes`). Undefined for a StatefulSet or a Deployment without revisions.
   */
  async lastRollout(t: KubernetesTarget, before: number): Promise<{ at: number; revision: string } | undefined> {
    if (t.kind !== 'Deployment') return undefined;
    const deployment = await this.apps.readNamespacedDeployment({ name: t.name, namespace: t.namespace });
    const revisions = (await revisionsOf(this.apps, deployment)).filter((r) => r.createdAt <= before);
    const newest = revisions.sort((a, b) => b.createdAt - a.createdAt || b.revision - a.revision)[0];
    return newest ? { at: newest.createdAt, revision: String(newest.revision) } : undefined;
  }

  describe(req: DescribeRequest<KubernetesCall>): string {
    return describeKubernetesAction(req);
  }

  /** Puts back the value the fix replaced (recorded in its detail), if the object still holds what the fix set. */
  revert(req: RevertRequest<KubernetesCall>): Promise<ActionResult> {
    return revertKubernetesFix({ apps: this.apps, core: this.core, autoscaling: this.autoscaling, fieldManager: this.config.fieldManager }, req);
  }

  async execute(req: ActionRequest<KubernetesCall>): Promise<ActionResult> {
    const target = req.target.kubernetes;
    if (!target) return { outcome: 'failed', reason: `target "${req.targetName}" has no kubernetes settings` };
    try {
      switch (req.action) {
        case 'scale_up':
          return await this.scaleUp(target, req.params);
        case 'restart':
          return await this.restart(target);
        case 'quarantine':
          return await this.quarantine(target, req.params, req);
        case 'enable_cache':
        case 'open_circuit_breaker':
          return await this.toggle(target, req.params);
        case 'rollback':
          return await rollback({ apps: this.apps, custom: this.custom, fieldManager: this.config.fieldManager, ownership: (object, meta) => this.ownership(target, object, meta) }, target, req);
      }
    } catch (err) {
      return { outcome: 'failed', reason: kubeError(err) };
    }
  }

  /**
   * Who manages the object about to change. A GitOps controller (Argo CD, Flux): refused when the target says
   * `gitops: refuse`, else noted ("acted anyway"). Helm alone is noted only (see ownership.ts).
   */
  private ownership(t: KubernetesTarget, object: string, meta: V1ObjectMeta | undefined): Ownership {
    const managers = managersOf(meta, { argocdTrackingLabel: this.config.argocdTrackingLabel });
    if (managers.length === 0) return {};
    const detail = { managedBy: managers.map((m) => ({ kind: m.kind, name: m.name, marker: m.marker })) };
    const controllers = managers.filter(reconciles);
    if (controllers.length === 0) {
      return { note: `managed by ${describeManagers(managers)}: a later helm upgrade may overwrite this`, detail: { ...detail, gitops: 'not-reconciled' } };
    }
    if (t.gitops === 'refuse') {
      return { refused: {
        outcome: 'skipped', refusal: 'gitops',
        reason: `${object} is managed by ${describeManagers(managers)}; gitops: refuse, so nothing was changed: a person must change it in Git (or set gitops: act)`,
        detail: { ...detail, gitops: 'refused' },
      } };
    }
    return { note: `managed by ${describeManagers(managers)}; acted anyway (gitops: act): the controller may revert this`, detail: { ...detail, gitops: 'acted' } };
  }

  private async readWorkload(t: KubernetesTarget) {
    const args = { name: t.name, namespace: t.namespace };
    return t.kind === 'Deployment' ? await this.apps.readNamespacedDeployment(args) : await this.apps.readNamespacedStatefulSet(args);
  }

  private async workloadOwnership(t: KubernetesTarget, read?: Awaited<ReturnType<KubernetesActuator['readWorkload']>>): Promise<Ownership> {
    const obj = read ?? await this.readWorkload(t);
    return this.ownership(t, `${t.kind}/${t.name} in ${t.namespace}`, obj.metadata);
  }

  private async owningHpa(t: KubernetesTarget): Promise<V2HorizontalPodAutoscaler | undefined> {
    const list = await this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: t.namespace });
    return list.items.find((h) => h.spec?.scaleTargetRef.kind === t.kind && h.spec.scaleTargetRef.name === t.name);
  }

  private async scaleUp(t: KubernetesTarget, p: Params<'scale_up'>): Promise<ActionResult> {
    const ref = `${t.kind}/${t.name} in ${t.namespace}`;
    const hpa = await this.owningHpa(t);
    if (hpa) {
      // Fighting the HPA is pointless: it would scale straight back. Raise its floor instead, or refuse.
      const name = hpa.metadata?.name ?? '?';
      if (p.hpa === 'refuse') return { outcome: 'skipped', reason: `${ref} is scaled by HorizontalPodAutoscaler ${name}; policy says refuse` };
      // The HPA is the object changed: its own markers decide.
      const owned = this.ownership(t, `HorizontalPodAutoscaler/${name} in ${t.namespace}`, hpa.metadata);
      if ('refused' in owned) return owned.refused;
      const spec = hpa.spec;
      const current = Math.max(spec?.minReplicas ?? 1, hpa.status?.currentReplicas ?? 0);
      const ceiling = Math.min(spec?.maxReplicas ?? p.maxReplicas, p.maxReplicas);
      const next = Math.min(current + p.step, ceiling);
      if (next <= (spec?.minReplicas ?? 1)) return { outcome: 'skipped', reason: `HorizontalPodAutoscaler ${name} of ${ref} is already at its ceiling (${ceiling})` };
      await this.autoscaling.patchNamespacedHorizontalPodAutoscaler({ name, namespace: t.namespace, body: { spec: { minReplicas: next } }, fieldManager: this.config.fieldManager }, mergePatch);
      return noted({ outcome: 'succeeded', reason: `raised minReplicas of HorizontalPodAutoscaler ${name} from ${spec?.minReplicas ?? 1} to ${next}`, detail: { hpa: name, from: spec?.minReplicas ?? 1, to: next } }, owned);
    }
    const owned = await this.workloadOwnership(t);
    if ('refused' in owned) return owned.refused;
    const args = { name: t.name, namespace: t.namespace };
    const scale = t.kind === 'Deployment' ? await this.apps.readNamespacedDeploymentScale(args) : await this.apps.readNamespacedStatefulSetScale(args);
    const current = scale.spec?.replicas ?? 0;
    const next = Math.min(current + p.step, p.maxReplicas);
    if (next <= current) return { outcome: 'skipped', reason: `${ref} already has ${current} replicas (max ${p.maxReplicas})` };
    const body = { spec: { replicas: next } };
    const patch = { ...args, body, fieldManager: this.config.fieldManager };
    if (t.kind === 'Deployment') await this.apps.patchNamespacedDeploymentScale(patch, mergePatch);
    else await this.apps.patchNamespacedStatefulSetScale(patch, mergePatch);
    return noted({ outcome: 'succeeded', reason: `scaled ${ref} from ${current} to ${next} replicas`, detail: { from: current, to: next } }, owned);
  }

  private async patchTemplateAnnotations(t: KubernetesTarget, annotations: Record<string, string>): Promise<void> {
    const body = { spec: { template: { metadata: { annotations } } } };
    const args = { name: t.name, namespace: t.namespace, body, fieldManager: this.config.fieldManager };
    if (t.kind === 'Deployment') await this.apps.patchNamespacedDeployment(args, strategicMergePatch);
    else await this.apps.patchNamespacedStatefulSet(args, strategicMergePatch);
  }

  private async restart(t: KubernetesTarget): Promise<ActionResult> {
    const owned = await this.workloadOwnership(t);
    if ('refused' in owned) return owned.refused;
    const at = new Date().toISOString();
    await this.patchTemplateAnnotations(t, { 'kubectl.kubernetes.io/restartedAt': at });
    return noted({ outcome: 'succeeded', reason: `rollout restart of ${t.kind}/${t.name} in ${t.namespace}`, detail: { restartedAt: at } }, owned);
  }

  private async selectorOf(t: KubernetesTarget): Promise<Record<string, string>> {
    const args = { name: t.name, namespace: t.namespace };
    const obj = t.kind === 'Deployment' ? await this.apps.readNamespacedDeployment(args) : await this.apps.readNamespacedStatefulSet(args);
    return obj.spec?.selector.matchLabels ?? {};
  }

  private async quarantine(t: KubernetesTarget, p: Params<'quarantine'>, req: ActionRequest<KubernetesCall>): Promise<ActionResult> {
    let podName = req.vars.labels[p.podLabel];
    if (!podName && p.worstInstanceQuery && req.prometheus) {
      const q = render(p.worstInstanceQuery, req.vars, promqlEscape);
      const samples = await req.prometheus.query(q, req.signal);
      const worst = [...samples].sort((a, b) => b.value - a.value)[0];
      podName = worst?.metric[p.podLabel];
    }
    if (!podName) return { outcome: 'skipped', reason: `the alert has no "${p.podLabel}" label naming the instance to quarantine${p.worstInstanceQuery ? ' and the worst-instance query found none' : ''}` };
    if (!DNS_NAME.test(podName)) return { outcome: 'skipped', reason: `"${podName.slice(0, 80)}" is not a pod name` };
    // The alert names the pod, but the policy's target decides which pods may be touched.
    const selector = await this.selectorOf(t);
    if (Object.keys(selector).length === 0) return { outcome: 'skipped', reason: `${t.kind}/${t.name} has no matchLabels selector to check pods against` };
    const pod: V1Pod = await this.core.readNamespacedPod({ name: podName, namespace: t.namespace });
    const labels = pod.metadata?.labels ?? {};
    const foreign = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (foreign.length > 0) return { outcome: 'skipped', reason: `pod ${podName} does not belong to ${t.kind}/${t.name} (label ${foreign[0]?.[0]} differs); refusing to touch it` };
    const old = labels[p.selectorLabel];
    if (old === undefined) return { outcome: 'skipped', reason: `pod ${podName} has no "${p.selectorLabel}" label to take out of the selector` };
    const body = {
      metadata: {
        labels: { [p.selectorLabel]: `${old}-quarantined`, 'selfheal.io/quarantined': 'true' },
        annotations: { 'selfheal.io/quarantined-at': new Date().toISOString(), 'selfheal.io/quarantined-from': `${p.selectorLabel}=${old}` },
      },
    };
    await this.core.patchNamespacedPod({ name: podName, namespace: t.namespace, body, fieldManager: this.config.fieldManager }, mergePatch);
    return { outcome: 'succeeded', reason: `quarantined pod ${podName}: ${p.selectorLabel}=${old} -> ${old}-quarantined`, detail: { pod: podName, selectorLabel: p.selectorLabel, previous: old, value: `${old}-quarantined` } };
  }

  private async toggle(t: KubernetesTarget, p: Toggle): Promise<ActionResult> {
    if ('configMap' in p) {
      const { name, key, value } = p.configMap;
      const cm = await this.core.readNamespacedConfigMap({ name, namespace: t.namespace });
      const owned = this.ownership(t, `ConfigMap/${name} in ${t.namespace}`, cm.metadata);
      if ('refused' in owned) return owned.refused;
      // `previous`: the value replaced (null: the key was absent), what a revert puts back.
      const previous = cm.data?.[key] ?? null;
      await this.core.patchNamespacedConfigMap({ name, namespace: t.namespace, body: { data: { [key]: value } }, fieldManager: this.config.fieldManager }, mergePatch);
      return noted({ outcome: 'succeeded', reason: `set ${key}=${value} in ConfigMap ${name}`, detail: { configMap: name, key, value, previous } }, owned);
    }
    const workload = await this.readWorkload(t);
    const owned = await this.workloadOwnership(t, workload);
    if ('refused' in owned) return owned.refused;
    const previous = workload.spec?.template.metadata?.annotations?.[p.annotation.key] ?? null;
    await this.patchTemplateAnnotations(t, { [p.annotation.key]: p.annotation.value });
    return noted({ outcome: 'succeeded', reason: `annotated ${t.kind}/${t.name}: ${p.annotation.key}=${p.annotation.value}`, detail: { annotation: p.annotation.key, value: p.annotation.value, previous } }, owned);
  }
}
