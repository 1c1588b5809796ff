// Who else manages the object an action would change, read from its labels and annotations. A GitOps controller
// (Argo CD, Flux) reconciles the object back to what Git says, so a change made here may be reverted; the target's
// `gitops` setting decides whether to act anyway. No client import: pure, cheap, tested on documented objects.

/** The markers, as Argo CD, Flux and Helm document them. */
export const MARKERS = {
  /** Argo CD's annotation tracking (the default since Argo CD 3.0; also `annotation+label`): `<app>:<group>/<kind>:<ns>/<name>`. */
  argocdTrackingId: 'argocd.argoproj.io/tracking-id',
  /** Argo CD's label tracking (the default before 3.0); plain Helm charts set this label too, so it is not enough alone. */
  argocdDefaultTrackingLabel: 'app.kubernetes.io/instance',
  fluxKustomizationName: 'kustomize.toolkit.fluxcd.io/name',
  fluxKustomizationNamespace: 'kustomize.toolkit.fluxcd.io/namespace',
  fluxHelmReleaseName: 'helm.toolkit.fluxcd.io/name',
  fluxHelmReleaseNamespace: 'helm.toolkit.fluxcd.io/namespace',
  managedBy: 'app.kubernetes.io/managed-by',
  helmReleaseName: 'meta.helm.sh/release-name',
  helmReleaseNamespace: 'meta.helm.sh/release-namespace',
} as const;

export type ManagerKind = 'argocd' | 'flux-kustomization' | 'flux-helmrelease' | 'helm';

export interface Manager {
  kind: ManagerKind;
  /** The Argo CD Application, the Flux Kustomization or HelmRelease (namespace/name), or the Helm release. */
  name: string;
  /** The label or annotation it was recognised by. */
  marker: string;
}

export interface OwnershipOptions {
  /**
   * The label Argo CD tracks resources by when its tracking method is `label` (argocd-cm
   * `application.instanceLabelKey`, default `app.kubernetes.io/instance`). Unset: only the tracking-id annotation
   * counts, because Helm charts set `app.kubernetes.io/instance` to their release name on their own.
   */
  argocdTrackingLabel?: string;
}

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The managers an object's metadata names, GitOps controllers first. */
export function managersOf(meta: Meta | undefined, opts: OwnershipOptions = {}): Manager[] {
  const labels = meta?.labels ?? {};
  const annotations = meta?.annotations ?? {};
  const out: Manager[] = [];
  const trackingId = annotations[MARKERS.argocdTrackingId];
  if (trackingId) {
    out.push({ kind: 'argocd', name: trackingId.split(':')[0] || trackingId, marker: MARKERS.argocdTrackingId });
  } else if (opts.argocdTrackingLabel) {
    const app = labels[opts.argocdTrackingLabel];
    if (app) out.push({ kind: 'argocd', name: app, marker: opts.argocdTrackingLabel });
  }
  const ks = labels[MARKERS.fluxKustomizationName];
  if (ks) out.push({ kind: 'flux-kustomization', name: qualified(labels[MARKERS.fluxKustomizationNamespace], ks), marker: MARKERS.fluxKustomizationName });
  const hr = labels[MARKERS.fluxHelmReleaseName];
  if (hr) out.push({ kind: 'flux-helmrelease', name: qualified(labels[MARKERS.fluxHelmReleaseNamespace], hr), marker: MARKERS.fluxHelmReleaseName });
  const release = annotations[MARKERS.helmReleaseName];
  if (labels[MARKERS.managedBy] === 'Helm' || release) {
    out.push({ kind: 'helm', name: qualified(annotations[MARKERS.helmReleaseNamespace], release ?? labels[MARKERS.argocdDefaultTrackingLabel] ?? '?'), marker: release ? MARKERS.helmReleaseName : MARKERS.managedBy });
  }
  return out;
}

function qualified(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * Whether the manager reconciles continuously (and so reverts a change): Argo CD and Flux do. Helm alone does
 * not: it acts only when someone runs `helm upgrade`, whose three-way merge keeps live changes to fields the chart
 * did not change; such a workload is acted on and the release is recorded.
 */
export function reconciles(m: Manager): boolean {
  return m.kind !== 'helm';
}

const LABELS: Record<ManagerKind, string> = {
  argocd: 'Argo CD Application',
  'flux-kustomization': 'Flux Kustomization',
  'flux-helmrelease': 'Flux HelmRelease',
  helm: 'Helm release',
};

/** "Flux Kustomization flux-system/apps and Helm release shop/checkout". */
export function describeManagers(ms: readonly Manager[]): string {
  return ms.map((m) => `${LABELS[m.kind]} ${m.name}`).join(' and ');
}
