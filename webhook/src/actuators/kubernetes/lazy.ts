// @kubernetes/client-node takes about a second to load: load it only when a Kubernetes action runs.
import type { ActionRequest, ActionResult, Actuator, DescribeRequest, RevertRequest } from '../types.js';
import type { KubernetesActuatorConfig, KubernetesCall } from './config.js';
import { describeKubernetesAction } from './describe.js';

export class LazyKubernetesActuator implements Actuator<KubernetesCall> {
  readonly type = 'kubernetes' as const;
  private impl: Promise<Actuator<KubernetesCall> & Required<Pick<Actuator<KubernetesCall>, 'revert'>>> | undefined;

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

  revert(req: RevertRequest<KubernetesCall>): Promise<ActionResult> {
    return this.load().then((a) => a.revert(req), (err: unknown) => ({ outcome: 'failed' as const, reason: `cannot set up the Kubernetes client: ${(err as Error).message}` }));
  }
}
