// Settings of the Kubernetes actuator and of its per-action parameters.
import { z } from 'zod';
import { nonEmpty, template } from '../../util/schema-parts.js';
import type { CallsOf } from '../calls.js';

export const kubernetesActuatorSchema = z.strictObject({
  type: z.literal('kubernetes'),
  /** Path of a kubeconfig; omitted: in-cluster service account, then ~/.kube/config. */
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  inCluster: z.boolean().optional(),
  /** Recorded as the fieldManager of every change. */
  fieldManager: z.string().default('selfheal'),
});
export type KubernetesActuatorConfig = z.infer<typeof kubernetesActuatorSchema>;

const dnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const kubernetesTargetSchema = z.strictObject({
  namespace: z.string().regex(dnsName, 'must be a Kubernetes namespace name'),
  kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
  name: z.string().regex(dnsName, 'must be a Kubernetes object name'),
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
} as const;

/** The calls the Kubernetes actuator takes: each action with its own parameters. */
export type KubernetesCall = CallsOf<typeof kubernetesActionSchemas>;
