// What a Kubernetes action would do, in kubectl terms (dry-run, replay, audit). No client import: cheap.
import type { DescribeRequest } from '../types.js';
import type { KubernetesCall } from './config.js';

export function describeKubernetesAction(req: DescribeRequest<KubernetesCall>): string {
  const t = req.target.kubernetes;
  if (!t) return 'no kubernetes target';
  const ref = `${t.kind.toLowerCase()}/${t.name} -n ${t.namespace}`;
  switch (req.action) {
    case 'scale_up': {
      const p = req.params;
      return `scale ${ref} by +${p.step} replicas (max ${p.maxReplicas}; owning HPA: ${p.hpa})`;
    }
    case 'restart':
      return `rollout restart ${ref}`;
    case 'quarantine': {
      const p = req.params;
      return `quarantine pod ${req.vars.labels[p.podLabel] ?? '(worst instance)'} of ${ref}: relabel ${p.selectorLabel} out of the Service selector`;
    }
    case 'rollback':
      return `rollout undo ${ref} (to its previous revision, if the anomaly began within changes.window of its last rollout)`;
    case 'enable_cache':
    case 'open_circuit_breaker': {
      const p = req.params;
      return 'configMap' in p ? `set ${p.configMap.key}=${p.configMap.value} in configmap/${p.configMap.name} -n ${t.namespace}` : `annotate ${ref} pod template ${p.annotation.key}=${p.annotation.value}`;
    }
  }
}
