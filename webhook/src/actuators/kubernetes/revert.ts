// Undoing a Kubernetes fix from what it recorded (the value it replaced), only while the object still holds what
// the fix set: a value changed since (by a person, an autoscaler, a later fix) is someone else's and is left alone.
//  scale_up            -> spec.replicas (scale subresource) back to `from`; with an HPA, its minReplicas back to `from`
//  quarantine          -> the pod's selector label back to its old value, the quarantine markers removed
//  enable_cache / open_circuit_breaker -> the ConfigMap key or pod-template annotation back to `previous` (removed when it was absent)
//  restart, rollback   -> not revertible (the config refuses revertAfter on them)
import { type AppsV1Api, type AutoscalingV2Api, type CoreV1Api } from '@kubernetes/client-node';
import type { ActionResult, RevertRequest } from '../types.js';
import type { KubernetesCall, KubernetesTarget } from './config.js';
import { kubeError } from './errors.js';
import { mergePatch, strategicMergePatch } from './patch.js';


export interface KubernetesApis {
  apps: AppsV1Api;
  core: CoreV1Api;
  autoscaling: AutoscalingV2Api;
  fieldManager: string;
}

type Detail = Readonly<Record<string, unknown>>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A recorded previous value: a string, or null (absent); undefined when the fix did not record one. */
const previousOf = (d: Detail): string | null | undefined => (d.previous === null ? null : str(d.previous));
const leftAlone = (what: string): ActionResult => ({ outcome: 'skipped', reason: `${what}: changed since the fix, left alone` });
const notRecorded = (action: string): ActionResult => ({ outcome: 'skipped', reason: `${action}: the value the fix replaced was not recorded; nothing to put back` });

export async function revertKubernetesFix(api: KubernetesApis, req: RevertRequest<KubernetesCall>): Promise<ActionResult> {
  const t = req.target.kubernetes;
  if (!t) return { outcome: 'failed', reason: `target "${req.targetName}" has no kubernetes settings` };
  try {
    switch (req.action) {
      case 'scale_up':
        return str(req.fixDetail.hpa) !== undefined ? await hpaMin(api, t, req.fixDetail) : await replicas(api, t, req.fixDetail);
      case 'quarantine':
        return await unquarantine(api, t, req.fixDetail);
      case 'enable_cache':
      case 'open_circuit_breaker':
        return await untoggle(api, t, req.fixDetail, req.action);
      case 'restart':
      case 'rollback':
        return { outcome: 'skipped', reason: `${req.action} cannot be reverted` };
    }
  } catch (err) {
    return { outcome: 'failed', reason: kubeError(err) };
  }
}

async function replicas(api: KubernetesApis, t: KubernetesTarget, d: Detail): Promise<ActionResult> {
  const from = num(d.from);
  const to = num(d.to);
  if (from === undefined || to === undefined) return notRecorded('scale_up');
  const ref = `${t.kind}/${t.name} in ${t.namespace}`;
  const args = { name: t.name, namespace: t.namespace };
  const scale = t.kind === 'Deployment' ? await api.apps.readNamespacedDeploymentScale(args) : await api.apps.readNamespacedStatefulSetScale(args);
  const current = scale.spec?.replicas ?? 0;
  if (current !== to) return leftAlone(`${ref} has ${current} replicas, not the ${to} the fix set`);
  const patch = { ...args, body: { spec: { replicas: from } }, fieldManager: api.fieldManager };
  if (t.kind === 'Deployment') await api.apps.patchNamespacedDeploymentScale(patch, mergePatch);
  else await api.apps.patchNamespacedStatefulSetScale(patch, mergePatch);
  return { outcome: 'succeeded', reason: `scaled ${ref} back from ${to} to ${from} replicas`, detail: { from: to, to: from } };
}

async function hpaMin(api: KubernetesApis, t: KubernetesTarget, d: Detail): Promise<ActionResult> {
  const name = str(d.hpa) ?? '';
  const from = num(d.from);
  const to = num(d.to);
  if (from === undefined || to === undefined) return notRecorded('scale_up');
  const hpa = await api.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace: t.namespace });
  const min = hpa.spec?.minReplicas ?? 1;
  if (min !== to) return leftAlone(`HorizontalPodAutoscaler ${name} has minReplicas ${min}, not the ${to} the fix set`);
  await api.autoscaling.patchNamespacedHorizontalPodAutoscaler({ name, namespace: t.namespace, body: { spec: { minReplicas: from } }, fieldManager: api.fieldManager }, mergePatch);
  return { outcome: 'succeeded', reason: `lowered minReplicas of HorizontalPodAutoscaler ${name} back from ${to} to ${from}`, detail: { hpa: name, from: to, to: from } };
}

async function unquarantine(api: KubernetesApis, t: KubernetesTarget, d: Detail): Promise<ActionResult> {
  const podName = str(d.pod);
  if (!podName) return notRecorded('quarantine');
  let pod;
  try {
    pod = await api.core.readNamespacedPod({ name: podName, namespace: t.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return { outcome: 'skipped', reason: `pod ${podName} is gone (deleted since its quarantine); nothing to put back` };
    throw err;
  }
  // Older fixes recorded only the pod: the quarantine's own annotation says what the label was.
  const from = str(pod.metadata?.annotations?.['selfheal.io/quarantined-from'])?.split('=');
  const label = str(d.selectorLabel) ?? from?.[0];
  const previous = str(d.previous) ?? from?.slice(1).join('=');
  if (!label || previous === undefined) return notRecorded('quarantine');
  const current = pod.metadata?.labels?.[label];
  if (current !== `${previous}-quarantined`) return leftAlone(`pod ${podName} has ${label}=${current ?? '(none)'}, not the ${previous}-quarantined the fix set`);
  const body = {
    metadata: {
      labels: { [label]: previous, 'selfheal.io/quarantined': null },
      annotations: { 'selfheal.io/quarantined-at': null, 'selfheal.io/quarantined-from': null },
    },
  };
  await api.core.patchNamespacedPod({ name: podName, namespace: t.namespace, body, fieldManager: api.fieldManager }, mergePatch);
  return { outcome: 'succeeded', reason: `put pod ${podName} back: ${label}=${previous}-quarantined -> ${previous}`, detail: { pod: podName } };
}

async function untoggle(api: KubernetesApis, t: KubernetesTarget, d: Detail, action: string): Promise<ActionResult> {
  const previous = previousOf(d);
  const value = str(d.value);
  if (previous === undefined || value === undefined) return notRecorded(action);
  const configMap = str(d.configMap);
  const key = str(d.key);
  if (configMap && key) {
    const cm = await api.core.readNamespacedConfigMap({ name: configMap, namespace: t.namespace });
    const current = cm.data?.[key];
    if (current !== value) return leftAlone(`${key} in ConfigMap ${configMap} is ${current === undefined ? 'absent' : JSON.stringify(current)}, not the ${JSON.stringify(value)} the fix set`);
    await api.core.patchNamespacedConfigMap({ name: configMap, namespace: t.namespace, body: { data: { [key]: previous } }, fieldManager: api.fieldManager }, mergePatch);
    return { outcome: 'succeeded', reason: previous === null ? `removed ${key} from ConfigMap ${configMap} (it was absent before the fix)` : `set ${key}=${previous} in ConfigMap ${configMap} again`, detail: { configMap, key, value: previous } };
  }
  const annotation = str(d.annotation);
  if (!annotation) return notRecorded(action);
  const args = { name: t.name, namespace: t.namespace };
  const obj = t.kind === 'Deployment' ? await api.apps.readNamespacedDeployment(args) : await api.apps.readNamespacedStatefulSet(args);
  const current = obj.spec?.template.metadata?.annotations?.[annotation];
  if (current !== value) return leftAlone(`pod-template annotation ${annotation} of ${t.kind}/${t.name} is ${current === undefined ? 'absent' : JSON.stringify(current)}, not the ${JSON.stringify(value)} the fix set`);
  const body = { spec: { template: { metadata: { annotations: { [annotation]: previous } } } } };
  const patch = { ...args, body, fieldManager: api.fieldManager };
  if (t.kind === 'Deployment') await api.apps.patchNamespacedDeployment(patch, strategicMergePatch);
  else await api.apps.patchNamespacedStatefulSet(patch, strategicMergePatch);
  return { outcome: 'succeeded', reason: previous === null ? `removed the pod-template annotation ${annotation} of ${t.kind}/${t.name} (absent before the fix)` : `annotated ${t.kind}/${t.name} again: ${annotation}=${previous}`, detail: { annotation, value: previous } };
}
