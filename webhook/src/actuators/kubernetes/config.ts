// Settings of the Kubernetes actuator and of its per-action parameters.
import { z } from 'zod';
import { nonEmpty, template } from '../../util/schema-parts.js';
import type { CallsOf } from '../calls.js';

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const labelKey = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export const kubernetesActuatorSchema = z.strictObject({
  type: z.literal('kubernetes'),
  /** Path of a kubeconfig; omitted: in-cluster service account, then ~/.kube/config. */
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  inCluster: z.boolean().optional(),
  /** Recorded as the fieldManager of every change. */
  fieldManager: z.string().default('selfheal'),
  /**
   * The label Argo CD tracks resources by, when its tracking method is `label` (argocd-cm
   * `application.instanceLabelKey`; Argo CD's default before 3.0 was `app.kubernetes.io/instance`). Omitted: Argo CD
   * is recognised by its `argocd.argoproj.io/tracking-id` annotation only (Helm charts set the instance label too).
   */
  argocdTrackingLabel: z.string().regex(labelKey, 'must be a Kubernetes label key, e.g. app.kubernetes.io/instance').optional(),
});
export type KubernetesActuatorConfig = z.infer<typeof kubernetesActuatorSchema>;

const dnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const kubernetesTargetSchema = z.strictObject({
  namespace: z.string().regex(dnsName, 'must be a Kubernetes namespace name'),
  kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
  name: z.string().regex(dnsName, 'must be a Kubernetes object name'),
  /**
   * When the object an action changes is managed by Argo CD or Flux: `refuse` (default: skip, record the manager
   * and escalate, since the controller would revert the change and the fix belongs in Git) or `act` (act anyway,
   * recording that the controller may revert it).
   */
  gitops: z.enum(['refuse', 'act'], { error: 'must be refuse (skip and tell a person) or act (act anyway; the controller may revert it)' }).default('refuse'),
});
export type KubernetesTarget = z.infer<typeof kubernetesTargetSchema>;

/** A toggle is written either into a ConfigMap key or into a pod-template annotation of the workload. */
const toggle = z.union([
  z.strictObject({ configMap: z.strictObject({ name: z.string().regex(dnsName), key: nonEmpty, value: z.string() }) }),
  z.strictObject({ annotation: z.strictObject({ key: nonEmpty, value: z.string() }) }),
], { error: 'give either configMap: {name, key, value} or annotation: {key, value}' });

export const kubernetesActionSchemas = {
  scale_up: z.strictObject({
    step: z.number().int().positive().default(1),
    maxReplicas: z.number().int().positive().default(10),
    /** What to do when a HorizontalPodAutoscaler owns the workload: raise its minReplicas, or refuse. */
    hpa: z.enum(['raise-min', 'refuse']).default('raise-min'),
  }),
  restart: z.strictObject({}),
  quarantine: z.strictObject({
    /** Alert label naming the bad pod (the exporter's entity label), validated against the workload. */
    podLabel: z.string().default('pod'),
    /** The Service-selector label rewritten to take the pod out of rotation. */
    selectorLabel: z.string().default('app'),
    /** PromQL template returning the worst instance (series with the podLabel) when the alert lacks it. */
    worstInstanceQuery: template.optional(),
  }),
  enable_cache: toggle,
  open_circuit_breaker: toggle,
  /** Back to the previous revision (`kubectl rollout undo`), only within changes.window of the last rollout. */
  rollback: z.strictObject({}),
} as const;

/** The calls the Kubernetes actuator takes: each action with its own parameters. */
export type KubernetesCall = CallsOf<typeof kubernetesActionSchemas>;
