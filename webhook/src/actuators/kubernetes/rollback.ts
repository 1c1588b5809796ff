// `rollback`: a Deployment back to its previous revision the way `kubectl rollout undo` does it
// (k8s.io/kubectl/pkg/polymorphichelpers/rollback.go, DeploymentRollbacker): its ReplicaSets by controller owner
// reference, the one with the second-highest `deployment.kubernetes.io/revision`, whose pod template (minus the
// pod-template-hash label) replaces the Deployment's in one JSON patch together with the annotations kubectl
// carries over. The Deployment controller then rolls out that template as a new revision.
// Before that, in this order, it refuses (nothing changed, the reason recorded):
//  - annotation selfheal.io/no-rollback: "true" (a release with irreversible migrations); another value is an error;
//  - an Argo Rollout or a Flagger Canary drives the workload: an Argo Rollout mid-release is aborted through its
//    resource (`kubectl argo rollouts abort`: merge patch {"status":{"abort":true}} on its status subresource);
//    anything else is escalated, since only the rollout's own resource (or Git) may undo that release;
//  - a GitOps controller owns the Deployment and the target says `gitops: refuse`;
//  - no previous revision; the anomaly did not begin within changes.window of the current revision's rollout (or
//    it was rolled out after the anomaly began: that is not the change that caused it).
import { type AppsV1Api, type CustomObjectsApi, type V1Deployment, type V1ObjectMeta, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { formatDuration } from '@selfheal/contracts';
import type { ActionRequest, ActionResult } from '../types.js';
import type { KubernetesCall, KubernetesTarget } from './config.js';
import { imagesOf, POD_TEMPLATE_HASH, REVISION_ANNOTATION, revisionsOf } from './history.js';
import { jsonPatch, mergePatch } from './patch.js';

export const NO_ROLLBACK_ANNOTATION = 'selfheal.io/no-rollback';

/** Annotations kept from the Deployment rather than copied from the ReplicaSet (kubectl's annotationsToSkip). */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);


export interface RollbackApis {
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  fieldManager: string;
  /** The actuator's GitOps check of the object about to change: a refusal, or what to add to the result. */
  ownership(object: string, meta: V1ObjectMeta | undefined): { refused: ActionResult } | { note?: string; detail?: Record<string, unknown> };
}

type Obj = { metadata?: { name?: string; namespace?: string; ownerReferences?: { kind?: string; apiVersion?: string; name?: string }[] }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

export async function rollback(api: RollbackApis, t: KubernetesTarget, req: ActionRequest<KubernetesCall>): Promise<ActionResult> {
  const ref = `${t.kind}/${t.name} in ${t.namespace}`;
  if (t.kind !== 'Deployment') return { outcome: 'failed', reason: `rollback rolls back Deployments; ${ref} is a ${t.kind}` };
  const deployment = await api.apps.readNamespacedDeployment({ name: t.name, namespace: t.namespace });

  const optOut = deployment.metadata?.annotations?.[NO_ROLLBACK_ANNOTATION];
  if (optOut === 'true') {
    return { outcome: 'skipped', refusal: 'rollback_opt_out', reason: `${ref} carries ${NO_ROLLBACK_ANNOTATION}: "true" (its releases may not be rolled back, e.g. irreversible migrations); nothing was changed` };
  }
  if (optOut !== undefined && optOut !== 'false') {
    return { outcome: 'failed', reason: `${ref}: annotation ${NO_ROLLBACK_ANNOTATION} has the value ${JSON.stringify(optOut.slice(0, 100))}; write "true" (never roll it back) or "false"; nothing was changed` };
  }

  const progressive = await progressiveDelivery(api, t, deployment);
  if (progressive) return progressive;

  const owned = api.ownership(ref, deployment.metadata);
  if ('refused' in owned) return owned.refused;

  const revisions = await revisionsOf(api.apps, deployment);
  const [current, previous] = revisions;
  if (!current || !previous) {
    const only = current ? `revision ${current.revision} is its only ReplicaSet` : 'it has no ReplicaSet with a revision';
    return { outcome: 'skipped', refusal: 'no_previous_revision', reason: `${ref} has no previous revision to roll back to (${only}; older ones may have been removed by revisionHistoryLimit); nothing was changed` };
  }

  const window = req.changeWindow;
  if (window === undefined) return { outcome: 'skipped', refusal: 'no_recent_change', reason: 'rollback needs changes.window in the config (how soon after a rollout an anomaly counts as caused by it); nothing was changed' };
  const began = Date.parse(req.vars.startsAt) / 1000;
  const rolledOut = `revision ${current.revision} (${imagesOf(current.replicaSet).join(', ')}) rolled out at ${iso(current.createdAt)}`;
  if (!Number.isFinite(began)) return { outcome: 'skipped', refusal: 'no_recent_change', reason: `the alert's startsAt ${JSON.stringify(req.vars.startsAt)} is not a time; nothing was changed` };
  if (current.createdAt > began) {
    return { outcome: 'skipped', refusal: 'no_recent_change', reason: `${ref}: ${rolledOut}, after the anomaly began at ${iso(began)}: not the change that caused it; nothing was changed` };
  }
  if (began - current.createdAt > window) {
    return { outcome: 'skipped', refusal: 'no_recent_change', reason: `${ref}: the anomaly began at ${iso(began)}, ${formatDuration(Math.round(began - current.createdAt))} after its last rollout (${rolledOut}), outside changes.window ${formatDuration(window)}; nothing was changed` };
  }

  if (deployment.spec?.paused) {
    return { outcome: 'failed', reason: `${ref} is paused; a paused Deployment cannot be rolled back (resume it with kubectl rollout resume deployment/${t.name} -n ${t.namespace}); nothing was changed` };
  }
  // Wire form of the templates (the client's models carry the API's field names; dates become RFC 3339 again).
  const target = JSON.parse(JSON.stringify(previous.replicaSet.spec?.template ?? {})) as V1PodTemplateSpec;
  const labels = { ...(target.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH];
  target.metadata = { ...(target.metadata ?? {}), labels };
  const live = JSON.parse(JSON.stringify(deployment.spec?.template ?? {})) as V1PodTemplateSpec;
  if (JSON.stringify(sorted(live)) === JSON.stringify(sorted(target))) {
    return { outcome: 'skipped', reason: `${ref}: its pod template already matches revision ${previous.revision}; nothing to roll back` };
  }
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(deployment.metadata?.annotations ?? {})) if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries<string>(previous.replicaSet.metadata?.annotations ?? {})) if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  const body = [
    { op: 'replace', path: '/spec/template', value: target },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
  await api.apps.patchNamespacedDeployment({ name: t.name, namespace: t.namespace, body, fieldManager: api.fieldManager }, jsonPatch);
  const from = imagesOf(current.replicaSet).join(', ');
  const to = imagesOf(previous.replicaSet).join(', ');
  const result: ActionResult = {
    outcome: 'succeeded',
    reason: `rolled ${ref} back from revision ${current.revision} (${from}) to revision ${previous.revision} (${to}), as kubectl rollout undo; revision ${current.revision} was rolled out at ${iso(current.createdAt)}, ${formatDuration(Math.round(began - current.createdAt))} before the anomaly began`,
    detail: { fromRevision: String(current.revision), toRevision: String(previous.revision), rolledOutAt: iso(current.createdAt), fromImages: imagesOf(current.replicaSet), toImages: imagesOf(previous.replicaSet) },
  };
  return owned.note ? { ...result, reason: `${result.reason}; ${owned.note}`, detail: { ...result.detail, ...owned.detail } } : result;
}

/** Keys sorted at every level, so two templates compare by content. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)]));
  return v;
}

/** The namespace's objects of a custom resource; none when its CRD is not installed (404). */
async function listCustom(api: RollbackApis, group: string, version: string, plural: string, namespace: string): Promise<Obj[]> {
  try {
    const list = (await api.custom.listNamespacedCustomObject({ group, version, namespace, plural })) as { items?: Obj[] };
    return list.items ?? [];
  } catch (err) {
    if ((err as { code?: number }).code === 404) return [];
    throw err;
  }
}

/**
 * An Argo Rollout (owner of the Deployment, or referencing it by spec.workloadRef) or a Flagger Canary (spec.targetRef)
 * drives the workload: its release is undone through that resource, not by patching the Deployment underneath.
 */
async function progressiveDelivery(api: RollbackApis, t: KubernetesTarget, deployment: V1Deployment): Promise<ActionResult | undefined> {
  const ref = `${t.kind}/${t.name} in ${t.namespace}`;
  const owner = deployment.metadata?.ownerReferences?.find((o) => o.kind === 'Rollout' && o.apiVersion.startsWith('argoproj.io/'));
  const rollouts = await listCustom(api, 'argoproj.io', 'v1alpha1', 'rollouts', t.namespace);
  const rollout = rollouts.find((r) => r.metadata?.name === owner?.name && owner !== undefined)
    ?? rollouts.find((r) => { const w = r.spec?.workloadRef as { kind?: string; name?: string } | undefined; return w?.kind === 'Deployment' && w.name === t.name; });
  if (rollout || owner) {
    const name = rollout?.metadata?.name ?? owner?.name ?? '?';
    const status = (rollout?.status ?? {}) as { currentPodHash?: string; stableRS?: string; abort?: boolean; phase?: string };
    const midRelease = status.currentPodHash !== undefined && status.stableRS !== undefined && status.currentPodHash !== status.stableRS;
    if (rollout && midRelease && status.abort !== true) {
      // As `kubectl argo rollouts abort`: the status subresource first, the object itself where it has none.
      const patch = { group: 'argoproj.io', version: 'v1alpha1', namespace: t.namespace, plural: 'rollouts', name, body: { status: { abort: true } }, fieldManager: api.fieldManager };
      try {
        await api.custom.patchNamespacedCustomObjectStatus(patch, mergePatch);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        await api.custom.patchNamespacedCustomObject(patch, mergePatch);
      }
      return {
        outcome: 'succeeded',
        reason: `${ref} is released by Argo Rollout ${t.namespace}/${name}, mid-release (canary ${status.currentPodHash}, stable ${status.stableRS}): aborted it as kubectl argo rollouts abort does (status.abort: true); Argo Rollouts scales the stable version back up`,
        detail: { argoRollout: name, aborted: true, canary: status.currentPodHash, stable: status.stableRS },
      };
    }
    const why = !rollout ? 'its Rollout could not be read' : status.abort === true ? 'already aborted' : 'not mid-release (its current version is the stable one)';
    return {
      outcome: 'skipped', refusal: 'progressive_delivery',
      reason: `${ref} is released by Argo Rollout ${t.namespace}/${name}, ${why}: a person must undo the release through the Rollout (kubectl argo rollouts undo) or Git; nothing was changed`,
      detail: { argoRollout: name },
    };
  }
  const canary = (await listCustom(api, 'flagger.app', 'v1beta1', 'canaries', t.namespace))
    .find((c) => { const r = c.spec?.targetRef as { kind?: string; name?: string } | undefined; return r?.kind === 'Deployment' && r.name === t.name; });
  if (canary) {
    const name = canary.metadata?.name ?? '?';
    return {
      outcome: 'skipped', refusal: 'progressive_delivery',
      reason: `${ref} is the target of Flagger Canary ${t.namespace}/${name}: Flagger rolls a failing canary back itself and owns the promoted primary; a person must undo the release through the Canary's target (or Git); nothing was changed`,
      detail: { flaggerCanary: name },
    };
  }
  return undefined;
}
