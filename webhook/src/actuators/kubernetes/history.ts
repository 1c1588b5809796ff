// A Deployment's revision history, read as `kubectl rollout history` / `rollout undo` read it: the ReplicaSets that
// match its selector and that it controls (owner reference with its uid), each with its
// `deployment.kubernetes.io/revision` annotation. Used by the rollback and by the change source (last rollout).
import type { AppsV1Api, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** The label the Deployment controller adds to each ReplicaSet's pod template (not part of the Deployment's). */
export const POD_TEMPLATE_HASH = 'pod-template-hash';

export interface Revision {
  revision: number;
  replicaSet: V1ReplicaSet;
  /** The ReplicaSet's creation (seconds since the epoch): when this revision was first rolled out. */
  createdAt: number;
}

/** The Deployment's revisions, newest first (ReplicaSets without a readable revision are left out, as kubectl does). */
export async function revisionsOf(apps: AppsV1Api, deployment: V1Deployment): Promise<Revision[]> {
  const namespace = deployment.metadata?.namespace ?? '';
  const uid = deployment.metadata?.uid;
  const matchLabels = deployment.spec?.selector.matchLabels ?? {};
  const labelSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
  const list = await apps.listNamespacedReplicaSet({ namespace, ...(labelSelector ? { labelSelector } : {}) });
  const out: Revision[] = [];
  for (const rs of list.items) {
    const controller = rs.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (!controller || controller.kind !== 'Deployment' || (uid !== undefined && controller.uid !== uid)) continue;
    const text = rs.metadata?.annotations?.[REVISION_ANNOTATION];
    if (text === undefined || !/^\d+$/.test(text)) continue;
    const created = rs.metadata?.creationTimestamp;
    out.push({ revision: Number(text), replicaSet: rs, createdAt: created ? new Date(created).getTime() / 1000 : 0 });
  }
  return out.sort((a, b) => b.revision - a.revision);
}

/** The container images of a ReplicaSet's pod template, for people ("checkout:1.1"). */
export function imagesOf(rs: V1ReplicaSet): string[] {
  return (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?');
}
