// The healing service's fixed vocabulary, shared with the rules, the panel and the docs (docs/contracts.md). Each
// list is also the complete set of values of a metric label, so label cardinality stays bounded.
/** `rollback`: a Deployment back to its previous revision (as `kubectl rollout undo`), only right after a rollout (`changes.window`). */
export const ACTIONS = ['scale_up', 'quarantine', 'restart', 'enable_cache', 'open_circuit_breaker', 'rollback'] as const;
export type ActionName = (typeof ACTIONS)[number];

/**
 * What became of an action. `unknown`: it was started but nobody observed its result (the service stopped
 * while it ran and nothing could verify it afterwards); a person is told. `deferred`: a guardrail that lifts
 * by itself held it back; it is decided again when the guardrail lifts. `pending_approval`: its rule or action is
 * in `approve` mode and it waits for a person; `approved` (it then runs, with its own outcome), `rejected` (not
 * run) or `expired` (nobody decided within approvalTimeout; escalated) say what the person did.
 */
export const OUTCOMES = ['succeeded', 'failed', 'unknown', 'dry_run', 'skipped', 'deferred', 'pending_approval', 'approved', 'rejected', 'expired'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * Why a guardrail refused an action (the `reason` label of selfheal_healing_guardrail_refusals_total). `gitops`: the
 * actuator found the object managed by a GitOps controller (Argo CD, Flux) and the target says `gitops: refuse`.
 * The rollback's own refusals: `no_recent_change` (the anomaly did not begin within changes.window of the
 * workload's last rollout, or it changed again since), `no_previous_revision` (nothing to roll back to),
 * `rollback_opt_out` (annotation selfheal.io/no-rollback: "true"), `progressive_delivery` (an Argo Rollout or a
 * Flagger Canary drives the workload: its own resource must undo the release).
 */
export const GUARDRAILS = ['paused', 'cooldown', 'rate_limit', 'global_rate_limit', 'max_concurrent', 'blast_radius', 'gitops',
  'no_recent_change', 'no_previous_revision', 'rollback_opt_out', 'progressive_delivery'] as const;
export type Guardrail = (typeof GUARDRAILS)[number];

/** Refusals an actuator makes (not the engine's guardrails): recorded as `skipped` with the reason. */
export const ACTUATOR_REFUSALS = ['gitops', 'no_recent_change', 'no_previous_revision', 'rollback_opt_out', 'progressive_delivery'] as const satisfies readonly Guardrail[];
export type ActuatorRefusal = (typeof ACTUATOR_REFUSALS)[number];

/** Actuator refusals only a person can resolve (change Git, the rollout's own resource): always escalated. */
export const ESCALATED_REFUSALS: ReadonlySet<ActuatorRefusal> = new Set<ActuatorRefusal>(['gitops', 'progressive_delivery']);

/**
 * The change a decision relied on (`changes:` in the webhook's config): the workload's last rollout before the
 * anomaly began. On the audit record and the action row as `change`.
 */
export interface ChangeRecord {
  /** When the rollout happened (RFC 3339). */
  at: string;
  /** The Deployment revision (`deployment.kubernetes.io/revision`), when the source knows it. */
  revision?: string;
  source: 'kubernetes' | 'prometheus';
}

/** Guardrails that lift by themselves as time passes: an action they refuse is deferred, not dropped. */
export const LIFTING_GUARDRAILS: ReadonlySet<Guardrail> = new Set<Guardrail>(['cooldown', 'rate_limit', 'global_rate_limit', 'max_concurrent']);

/** What a guardrail's refusal led to (the `decision` label). */
export const GUARD_DECISIONS = ['skipped', 'deferred', 'escalated'] as const;
export type GuardDecision = (typeof GUARD_DECISIONS)[number];

/**
 * How far a rule or an action is trusted: `shadow` decides and records what it would do, never acts (the old
 * `dryRun: true`); `approve` asks a person and acts only once approved; `auto` acts.
 */
export const TRUST_MODES = ['shadow', 'approve', 'auto'] as const;
export type TrustMode = (typeof TRUST_MODES)[number];

/** Default action by the feature that drove the anomaly (prefix match), overridable in the policy. */
export const DEFAULT_FEATURE_ACTIONS: ReadonlyArray<readonly [prefix: string, action: ActionName]> = [
  ['cpu', 'scale_up'],
  ['mem', 'restart'],
  ['latency', 'enable_cache'],
  ['error', 'open_circuit_breaker'],
  ['instance', 'quarantine'],
  ['outlier', 'quarantine'],
];

/**
 * Actions whose effect Selfheal can undo once the anomaly is over (a fix that undoes itself: `revertAfter`).
 * `restart` is not: a rollout restart replaces the pods and leaves nothing to put back (a rollback would not be
 * either: it is a change of its own, not a temporary fix; `rollback` is not in this list).
 */
export const REVERTIBLE_ACTIONS = ['scale_up', 'quarantine', 'enable_cache', 'open_circuit_breaker'] as const satisfies readonly ActionName[];
export type RevertibleAction = (typeof REVERTIBLE_ACTIONS)[number];

export function isRevertible(action: ActionName): action is RevertibleAction {
  return (REVERTIBLE_ACTIONS as readonly ActionName[]).includes(action);
}

/**
 * How a revert ended (the `outcome` label of selfheal_healing_reverts_total). `reverted`: undone, and the anomaly
 * did not come back within the verification window; `reapplied`: it came back, the fix was put back and reverting
 * stopped for that target; `failed`, `unknown` (started, result never seen), `skipped` (nothing to undo, or
 * changed since by someone else); `deferred`: held back by a guardrail, tried again later (counted once per revert).
 */
export const REVERT_OUTCOMES = ['reverted', 'reapplied', 'failed', 'unknown', 'skipped', 'deferred'] as const;
export type RevertOutcome = (typeof REVERT_OUTCOMES)[number];
