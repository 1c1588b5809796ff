// @kubernetes/client-node takes about a second to load: load it only when a Kubernetes action runs.
import type { ActionRequest, ActionResult, Actuator, DescribeRequest, RevertRequest } from '../types.js';
import type { KubernetesActuatorConfig, KubernetesCall, KubernetesTarget } from './config.js';
import { describeKubernetesAction } from './describe.js';

export class LazyKubernetesActuator implements Actuator<KubernetesCall> {
  readonly type = 'kubernetes' as const;
  private impl: Promise<import('./kubernetes-actuator.js').KubernetesActuator> | undefined;

  constructor(private readonly config: KubernetesActuatorConfig) {}

  describe(req: DescribeRequest<KubernetesCall>): string {
    return describeKubernetesAction(req);
  }

  private load() {
    this.impl ??= import('./kubernetes-actuator.js').then((m) => new m.KubernetesActuator(this.config));
    return this.impl;
  }

  execute(req: ActionRequest<KubernetesCall>): Promise<ActionResult> {
    return this.load().then((a) => a.execute(req), (err: unknown) => ({ outcome: 'failed' as const, reason: `cannot set up the Kubernetes client: ${(err as Error).message}` }));
  }

  /** The workload's last rollout at or before `before` (seconds since the epoch): the change source `kubernetes`. */
  lastRollout(t: KubernetesTarget, before: number): Promise<{ at: number; revision: string } | undefined> {
    return this.load().then((a) => a.lastRollout(t, before));
  }

  revert(req: RevertRequest<KubernetesCall>): Promise<ActionResult> {
    return this.load().then((a) => a.revert(req), (err: unknown) => ({ outcome: 'failed' as const, reason: `cannot set up the Kubernetes client: ${(err as Error).message}` }));
  }
}
