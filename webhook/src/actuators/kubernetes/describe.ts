// What a Kubernetes action would do, in kubectl terms (dry-run, replay, audit). No client import: cheap.
import type { z } from 'zod';
import type { ActionRequest } from '../types.js';
import type { kubernetesActionSchemas } from './config.js';

type Params<A extends keyof typeof kubernetesActionSchemas> = z.infer<(typeof kubernetesActionSchemas)[A]>;
type Toggle = Params<'enable_cache'>;

export function describeKubernetesAction(req: Omit<ActionRequest, 'signal'>): string {
  const t = req.target.kubernetes;
  if (!t) return 'no kubernetes target';
  const ref = `${t.kind.toLowerCase()}/${t.name} -n ${t.namespace}`;
  switch (req.action) {
    case 'scale_up': {
      const p = req.params as Params<'scale_up'>;
      return `scale ${ref} by +${p.step} replicas (max ${p.maxReplicas}; owning HPA: ${p.hpa})`;
    }
    case 'restart':
      return `rollout restart ${ref}`;
    case 'quarantine': {
      const p = req.params as Params<'quarantine'>;
      return `quarantine pod ${req.vars.labels[p.podLabel] ?? '(worst instance)'} of ${ref}: relabel ${p.selectorLabel} out of the Service selector`;
    }
    default: {
      const p = req.params as Toggle;
      return 'configMap' in p ? `set ${p.configMap.key}=${p.configMap.value} in configmap/${p.configMap.name} -n ${t.namespace}` : `annotate ${ref} pod template ${p.annotation.key}=${p.annotation.value}`;
    }
  }
}
