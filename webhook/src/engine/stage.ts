// The engine's stages, in the manner of Alertmanager's notify pipeline: each step of an incident goes through
// guard -> claim -> act (with retry) -> verify, and an incident that cannot be healed through escalate. A stage
// either hands its result to the next one or ends the step, saying how; every stage records what it did in the
// store before the next one starts, so a restart resumes where it stopped.
import type { Logger } from 'pino';
import type { ActionName, Guardrail } from '@selfheal/contracts';
import type { Actuator } from '../actuators/types.js';
import type { ChangeSource } from '../changes/index.js';
import type { ActionRow, AuditEvent, IncidentRow, IncidentUpdate, Store } from '../audit/types.js';
import type { Config } from '../config/schema.js';
import type { GrafanaAnnotator } from '../escalation/grafana.js';
import type { Notifier } from '../escalation/notify.js';
import type { PauseSwitch } from '../guardrails/pause.js';
import type { HealingMetrics } from '../metrics.js';
import type { Plan, PlannedStep, Policy } from '../policy/policy.js';
import type { Clock } from '../util/clock.js';
import type { TemplateVars } from '../util/template.js';
import type { PrometheusQueries } from '../verify/prometheus.js';
import type { Waits } from './waits.js';

export interface EngineDeps {
  config: Config;
  store: Store;
  policy: Policy;
  actuators: ReadonlyMap<string, Actuator>;
  metrics: HealingMetrics;
  pause: PauseSwitch;
  logger: Logger;
  prometheus?: PrometheusQueries;
  /** Where rollouts are learnt from (`changes.source`), for rules with `when:`. */
  changes?: ChangeSource;
  notifier?: Notifier;
  grafana?: GrafanaAnnotator;
  /** The time decisions are made with, and waits are made on (replay: the alerts' own clock; tests: a manual one). */
  clock?: Clock;
  /** Replay: describe instead of execute, assume verification passes, but count actions for the guardrails (waits run on `clock`, simulated). */
  simulate?: boolean;
}

/** What every stage may use: the engine's parts, its clock, its waits and its stop signal. */
export interface EngineContext {
  readonly d: EngineDeps;
  readonly waits: Waits;
  /** Aborted when the engine stops. */
  readonly signal: AbortSignal;
  now(): number;
  /** Throws Stopped once the engine stops: a task ends at its next stage, leaving durable state for the next start. */
  checkStopped(): void;
  /** A fix's revert was armed (revertAfter): the revert runner picks it up. */
  revertArmed?(): void;
}

/** The engine stopped, or another replica took the incident over: the task ends, recording nothing more. */
export class Stopped extends Error {}

/** How a step ended. `ended`: the step closed the incident itself (escalated, or dropped because the alert resolved while deferred). */
export type StepResult = 'succeeded' | 'failed' | 'unknown' | 'skipped' | 'dry_run' | 'ended';

/** A stage hands `next` to the following stage, or ends the step. */
export type StageResult<T> = { next: T } | { end: StepResult };

/** One stage: reads the step and the previous stage's result. */
export type Stage<In, Out> = (ctx: EngineContext, step: StepRun, input: In) => Promise<StageResult<Out>>;

/** The last stage of a step: always says how the step ended. */
export type FinalStage<In> = (ctx: EngineContext, step: StepRun, input: In) => Promise<{ end: StepResult }>;

/** One step of an incident's plan, as every stage sees it. */
export interface StepRun {
  inc: IncidentRow;
  plan: Plan;
  step: number;
  planned: PlannedStep;
  action: ActionName;
  /** The target's actuator. */
  actuator: Actuator;
  /** The incident's service, or the target's name. */
  service: string;
  vars: TemplateVars;
  /** Why it waits for approval though configured auto: its demotion by the efficacy ledger. */
  demotion?: string;
}

/** What a step's records name: the incident, the plan, which step and action, for which service. */
export type StepRef = Pick<StepRun, 'inc' | 'plan' | 'step' | 'action' | 'service'>;

/** The `matched` record of a pending incident, written with its first step's record. */
export type Announce = { update: IncidentUpdate; event: AuditEvent };

/** A deferral in progress: when the action is decided again, and when it is given up. */
export interface Deferral {
  until: number;
  deadline: number;
  guardrail?: Guardrail;
}

/** The action row fields verification needs. */
export type Executed = Pick<ActionRow, 'id' | 'service' | 'action' | 'target' | 'step' | 'started_at'>;

/** How often a deferral whose guardrail has no known end (maxConcurrent) is decided again; sooner when an action here ends. */
export const DEFER_RECHECK_SECONDS = 5;

export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** How long an action of this plan may stay deferred. */
export function maxDefer(ctx: EngineContext, plan: Plan): number {
  return plan.rule.maxDefer ?? ctx.d.config.guardrails.maxDefer;
}
