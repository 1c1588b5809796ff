// One interface for every way of acting: Kubernetes, HTTP, exec.
import type { ActionName } from '@selfheal/contracts';
import type { TargetConfig } from '../config/schema.js';
import type { TemplateVars } from '../util/template.js';
import type { PrometheusClient } from '../verify/prometheus.js';

export interface ActionRequest {
  action: ActionName;
  targetName: string;
  target: TargetConfig;
  /** Already validated against the actuator's parameter schema for `action`. */
  params: unknown;
  vars: TemplateVars;
  signal: AbortSignal;
  prometheus?: PrometheusClient;
}

export interface ActionResult {
  /** `skipped`: the actuator refused before changing anything (e.g. at max replicas, HPA refuse). */
  outcome: 'succeeded' | 'failed' | 'skipped';
  reason: string;
  detail?: Record<string, unknown>;
}

export interface Actuator {
  readonly type: 'kubernetes' | 'http' | 'exec';
  execute(req: ActionRequest): Promise<ActionResult>;
  /** What `execute` would do, for dry-run and replay (no side effects). */
  describe(req: Omit<ActionRequest, 'signal'>): string;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
