// Rollouts from Prometheus: a query returning, per workload, the Unix time (seconds) of its last rollout, evaluated
// at the moment the anomaly began (so a later rollout is not mistaken for its cause). The default reads
// kube-state-metrics: each Deployment's newest ReplicaSet creation time.
import type { ChangeRecord } from '@selfheal/contracts';
import type { ActionTarget } from '../actuators/types.js';
import type { PrometheusQueries } from '../verify/prometheus.js';
import type { ChangeSource } from './source.js';

export const DEFAULT_CHANGE_QUERY = 'max by (namespace, owner_name) (kube_replicaset_created * on (namespace, replicaset) group_left (owner_name) kube_replicaset_owner{owner_kind="Deployment"})';
export const DEFAULT_TARGET_LABEL = 'owner_name';

export class PrometheusChangeSource implements ChangeSource {
  readonly kind = 'prometheus' as const;

  constructor(private readonly prometheus: PrometheusQueries, private readonly query: string, private readonly targetLabel: string) {}

  /**
   * The sample whose `targetLabel` names the target (its Kubernetes workload name, else the target's own name) and,
   * when both say one, whose `namespace` is the target's.
   */
  async lastChange(targetName: string, target: ActionTarget, before: number, signal?: AbortSignal): Promise<ChangeRecord | undefined> {
    const name = target.kubernetes?.name ?? targetName;
    const namespace = target.kubernetes?.namespace;
    const samples = await this.prometheus.query(this.query, signal, before);
    const mine = samples.filter((s) => s.metric[this.targetLabel] === name && (namespace === undefined || s.metric.namespace === undefined || s.metric.namespace === namespace));
    const at = Math.max(...mine.map((s) => s.value).filter((v) => Number.isFinite(v) && v > 0));
    return Number.isFinite(at) ? { at: new Date(at * 1000).toISOString(), source: 'prometheus' } : undefined;
  }
}
