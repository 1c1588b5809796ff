// Rollouts from the Kubernetes API: the target Deployment's ReplicaSets, through its kubernetes actuator's client
// (the newest revision created at or before the anomaly's start: its creationTimestamp and revision).
import type { ChangeRecord } from '@selfheal/contracts';
import type { Actuator, ActionTarget } from '../actuators/types.js';
import type { KubernetesTarget } from '../actuators/kubernetes/config.js';
import type { ChangeSource } from './source.js';

/** An actuator that can tell a workload's last rollout (the Kubernetes actuator). */
interface RolloutReader {
  lastRollout(t: KubernetesTarget, before: number): Promise<{ at: number; revision: string } | undefined>;
}

const readsRollouts = (a: Actuator | undefined): a is Actuator & RolloutReader => typeof (a as Partial<RolloutReader> | undefined)?.lastRollout === 'function';

export class KubernetesChangeSource implements ChangeSource {
  readonly kind = 'kubernetes' as const;

  constructor(private readonly actuators: ReadonlyMap<string, Actuator>) {}

  async lastChange(targetName: string, target: ActionTarget, before: number): Promise<ChangeRecord | undefined> {
    const actuator = this.actuators.get(target.actuator);
    if (!target.kubernetes || !readsRollouts(actuator)) throw new Error(`target "${targetName}" is not a Kubernetes target (its actuator "${target.actuator}" cannot read rollouts)`);
    const last = await actuator.lastRollout(target.kubernetes, before);
    return last ? { at: new Date(last.at * 1000).toISOString(), revision: last.revision, source: 'kubernetes' } : undefined;
  }
}
