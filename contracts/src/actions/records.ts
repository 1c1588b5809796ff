// The states the healing service records for an action and an incident (the `status` and `phase` columns of its
// store, as its API returns them; docs/contracts.md).

/**
 * An action row's status. `unknown`: started, but nobody observed the result (the service stopped while it ran,
 * and nothing could verify it). `deferred`: held back by a guardrail that lifts; a later row of the same step
 * records what happened next. `pending_approval`: waiting for a person (approve mode); the same row then becomes
 * `approved` (a later row records the action itself), `rejected`, `expired` (nobody decided in time) or
 * `cancelled` (the alert resolved while it waited).
 */
export const ACTION_STATUSES = ['started', 'verifying', 'succeeded', 'failed', 'unknown', 'dry_run', 'skipped', 'deferred',
  'pending_approval', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** Actions that were (or may have been) carried out: counted by the guardrails, at most one per step. */
export const EXECUTED_STATUSES = ['started', 'verifying', 'succeeded', 'failed', 'unknown'] as const satisfies readonly ActionStatus[];

/**
 * An incident's phase. `deferred`: a guardrail that lifts by itself holds the next action back; decided again at
 * `deferred_until`. `awaiting_approval`: its next action waits for a person (approve mode).
 */
export const INCIDENT_PHASES = ['pending', 'acting', 'verifying', 'deferred', 'awaiting_approval', 'done'] as const;

/** An approval's state (GET /api/v1/approvals): pending until a person approves or rejects it, it expires, or its alert resolves. */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type Phase = (typeof INCIDENT_PHASES)[number];

/**
 * A revert's status (the store's `reverts.status`). `waiting`: the fix is in place, waiting for the anomaly score
 * to stay below the threshold for `revertAfter`; `started`: claimed (guardrails passed) before the actuator runs;
 * `verifying`: undone, watching that the anomaly does not come back; `reapplying`: it came back, the fix is being
 * put back. The rest are final.
 */
export const REVERT_STATUSES = ['waiting', 'started', 'verifying', 'reapplying', 'reverted', 'reapplied', 'failed', 'unknown', 'skipped'] as const;
export type RevertStatus = (typeof REVERT_STATUSES)[number];

/** Reverts still to be worked on (the others are final). */
export const OPEN_REVERT_STATUSES = ['waiting', 'started', 'verifying', 'reapplying'] as const satisfies readonly RevertStatus[];

/**
 * Fixes still in place that Selfheal put there and declared revertible: waiting for their revert, being undone or
 * put back, or left in place (the anomaly came back, the revert failed or its result was never seen).
 */
export const UNREVERTED_STATUSES = ['waiting', 'started', 'reapplying', 'reapplied', 'failed', 'unknown'] as const satisfies readonly RevertStatus[];
