// One interface for every way of acting (Kubernetes, HTTP, exec), typed per actuator by the calls it takes.
import type { z } from 'zod';
import type { ActionName, ActuatorRefusal } from '@selfheal/contracts';
import type { TemplateVars } from '../util/template.js';
import type { PrometheusQueries } from '../verify/prometheus.js';
import type { ActionCall, CallSchemas, CallsOf } from './calls.js';
import type { KubernetesTarget } from './kubernetes/config.js';

/** The policy's target as an actuator sees it (the config's target, without depending on the config). */
export interface ActionTarget {
  readonly actuator: string;
  /** The Kubernetes actuator's workload. */
  readonly kubernetes?: KubernetesTarget;
  readonly actions?: Readonly<Partial<Record<ActionName, unknown>>>;
}

interface RequestContext {
  targetName: string;
  target: ActionTarget;
  vars: TemplateVars;
  prometheus?: PrometheusQueries;
  /**
   * `changes.window` in seconds: a `rollback` runs only when the anomaly (`vars.startsAt`) began within this of the
   * workload's last rollout. Absent: no `changes:` configured, and a rollback is refused.
   */
  changeWindow?: number;
}

/** What `describe` gets: the call (a union of calls stays discriminated by `action`) and its context. */
export type DescribeRequest<C extends ActionCall = ActionCall> = C extends unknown ? C & RequestContext : never;
export type ActionRequest<C extends ActionCall = ActionCall> = DescribeRequest<C> & {
  signal: AbortSignal;
  /** Which attempt this is (1: the first), set by the retry stage. */
  attempt?: number;
};

export interface ActionResult {
  /** `skipped`: the actuator refused before changing anything (e.g. at max replicas, HPA refuse). */
  outcome: 'succeeded' | 'failed' | 'skipped';
  reason: string;
  detail?: Record<string, unknown>;
  /**
   * With `skipped`: why the actuator refused, counted in selfheal_healing_guardrail_refusals_total under this reason.
   * Those only a person can resolve (`gitops`: the fix belongs in Git; `progressive_delivery`: the rollout's own
   * resource must undo it) are escalated at once (ESCALATED_REFUSALS).
   */
  refusal?: ActuatorRefusal;
  /**
   * With `failed`: the failure is transient (network error, 5xx) and the same call may be tried again. The engine's
   * retry stage decides whether it is, by the actuator's `retry` policy.
   */
  retry?: boolean;
}

/** Undoing a fix: the fix's own call (its action and parameters) and what it recorded (the value it replaced). */
export type RevertRequest<C extends ActionCall = ActionCall> = ActionRequest<C> & {
  /** The fix's detail as recorded when it was applied (e.g. `{from, to}` of a scale). */
  fixDetail: Readonly<Record<string, unknown>>;
};

/** How often and how soon a call that answered `retry` is tried again (exponential backoff from `backoff`). */
export interface RetryPolicy {
  retries: number;
  /** Seconds before the second attempt; doubled for each further one. */
  backoff: number;
}

/**
 * An actuator, typed by the calls it takes (`C`). The engine holds every actuator as `Actuator` (any action, its
 * parameters unknown): the policy validated each step's parameters with the actuator type's own call schema
 * (registry.ts), so each actuator receives its calls typed, without a cast of its own. Methods (not function-typed
 * properties) so that an `Actuator<KubernetesCall>` is an `Actuator`.
 */
export interface Actuator<C extends ActionCall = ActionCall> {
  readonly type: string;
  /** Absent: a call is never tried again. */
  readonly retry?: RetryPolicy;
  /** One attempt of the call. */
  execute(req: ActionRequest<C>): Promise<ActionResult>;
  /** What `execute` would do, for dry-run and replay (no side effects). */
  describe(req: DescribeRequest<C>): string;
  /**
   * Undoes a fix this actuator applied, from what the fix recorded (actuators that can infer the undo: Kubernetes).
   * `skipped` when there is nothing to undo or the object changed since (someone else's change is left alone).
   * Absent: the undo is declared in the config (`revert`), a call of the actuator's own.
   */
  revert?(req: RevertRequest<C>): Promise<ActionResult>;
}

/**
 * An actuator type as the registry holds it: its config schema (a `type`-tagged object), the parameter schema of
 * each action, and how to make one from its config.
 */
export interface ActuatorModule<T extends string, S extends z.ZodObject<{ type: z.ZodLiteral<T> }>, P extends CallSchemas> {
  readonly type: T;
  readonly configSchema: S;
  readonly callSchemas: P;
  create(config: z.output<S>): Actuator<CallsOf<P>>;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
