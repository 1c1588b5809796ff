// @kubernetes/client-node takes about a second to load: load it only when a Kubernetes action runs.
import type { ActionRequest, ActionResult, Actuator, DescribeRequest } from '../types.js';
import type { KubernetesActuatorConfig, KubernetesCall } from './config.js';
import { describeKubernetesAction } from './describe.js';

export class LazyKubernetesActuator implements Actuator<KubernetesCall> {
  readonly type = 'kubernetes' as const;
  private impl: Promise<Actuator<KubernetesCall>> | undefined;

  constructor(private readonly config: KubernetesActuatorConfig) {}

  describe(req: DescribeRequest<KubernetesCall>): string {
    return describeKubernetesAction(req);
  }

  execute(req: ActionRequest<KubernetesCall>): Promise<ActionResult> {
    this.impl ??= import('./kubernetes-actuator.js').then((m) => new m.KubernetesActuator(this.config));
    return this.impl.then((a) => a.execute(req), (err: unknown) => ({ outcome: 'failed' as const, reason: `cannot set up the Kubernetes client: ${(err as Error).message}` }));
  }
}
