// The store the engine and the receiver use: asynchronous, so a network database (PostgreSQL, shared by
// several replicas) and the embedded one (SQLite, synchronous underneath) are interchangeable. Every method
// that must be atomic is one method here (one transaction in the implementation): claiming an action
// checks the guardrails and records `started` together, so two replicas cannot both pass a limit.
import type { ActionName, ActionStatus, ChangeRecord, Guardrail, Phase, ReceivedAlert, RevertStatus } from '@selfheal/contracts';

/**
 * An alert as the store records it: one occurrence (`key` = fingerprint@startsAt) with its labels; the received
 * alert of the contracts without what the store does not keep (generatorURL).
 */
export type StoredAlert = Pick<ReceivedAlert, 'key' | 'fingerprint' | 'status' | 'startsAt' | 'endsAt' | 'labels' | 'annotations'>;

export interface IncidentRow {
  id: number;
  key: string;
  fingerprint: string;
  starts_at: string;
  service: string | null;
  alertname: string | null;
  labels: string;
  annotations: string;
  phase: Phase;
  result: string | null;
  reason: string | null;
  rule: string | null;
  target: string | null;
  step: number;
  notifications: number;
  received_at: number;
  updated_at: number;
  resolved_at: string | null;
  recovery_seconds: number | null;
  /** The replica working on it (PostgreSQL, several replicas); null: nobody yet, or SQLite. */
  owner: string | null;
  /** Phase `deferred`: when the held-back action is decided again (seconds since the epoch). */
  deferred_until: number | null;
  /** Phase `deferred`: past this, the action is given up and a person is told. */
  defer_deadline: number | null;
}

export interface ActionRow {
  id: number;
  incident_id: number;
  service: string;
  action: ActionName;
  target: string;
  rule: string;
  step: number;
  status: ActionStatus;
  reason: string | null;
  detail: string | null;
  /** JSON: the change (rollout) the decision relied on (ChangeRecord), or null. */
  change: string | null;
  started_at: number;
  finished_at: number | null;
  cooldown_until: number | null;
}

export interface AuditRow {
  id: number;
  ts: number;
  event: string;
  incident_id: number | null;
  fingerprint: string | null;
  service: string | null;
  action: string | null;
  target: string | null;
  reason: string | null;
  detail: string | null;
  /** JSON: the change (rollout) the decision relied on (ChangeRecord), or null. */
  change: string | null;
}

export interface AuditEvent {
  event: string;
  incidentId?: number;
  fingerprint?: string;
  service?: string;
  action?: string;
  target?: string;
  reason?: string;
  detail?: unknown;
  /** The change the decision relied on (rules with `when: recentChange` / `noRecentChange`). */
  change?: ChangeRecord;
}

export interface IncidentUpdate {
  phase: Phase;
  result?: string | null;
  reason?: string | null;
  rule?: string;
  target?: string;
  step?: number;
  /** Set with phase `deferred`; any other update clears them. */
  deferredUntil?: number;
  deferDeadline?: number;
}

export type NewAction = Omit<ActionRow, 'id' | 'detail' | 'change' | 'finished_at' | 'cooldown_until'> & { detail?: unknown; change?: ChangeRecord; finished_at?: number | null; cooldown_until?: number | null };

/** What the engine decided for a new alert without waiting on anything (no rule, skip, dry run): written in the ingest transaction. */
export interface ImmediateDecision {
  /** Audit events before the action row (e.g. `matched`). */
  events: AuditEvent[];
  action?: { row: NewAction; event: AuditEvent };
  incident: IncidentUpdate & { event?: AuditEvent };
  /** For the metrics once committed. */
  outcome?: { service: string; action: ActionName; outcome: 'skipped' | 'dry_run' };
}

/** Decides a new alert at ingest if it can be decided at once; undefined: it needs the engine (a real action). */
export type IngestDecider = (alert: StoredAlert, incidentId: number) => ImmediateDecision | undefined;

/** What ingesting one alert did. */
export type IngestOutcome =
  | { kind: 'new'; incidentId: number; alert: StoredAlert; decided?: ImmediateDecision }
  | { kind: 'duplicate'; incidentId: number; pending: boolean }
  | { kind: 'resolved'; incidentId: number; recoverySeconds: number | null; service: string | null; alert: StoredAlert }
  | { kind: 'already_resolved'; incidentId: number };

/** What the guardrails need, read inside the claiming transaction. */
export interface GuardSnapshot {
  paused?: string;
  cooldownUntil: number | undefined;
  /** Executed actions on the target since each `perTargetSince` instant, in order. */
  perTarget: number[];
  /** Executed actions anywhere since each `globalSince` instant, in order. */
  global: number[];
  /**
   * For each per-target window at or over its max: when enough of its actions will have left the window for one
   * more to be allowed (undefined for windows under their max).
   */
  perTargetLiftsAt: (number | undefined)[];
  globalLiftsAt: (number | undefined)[];
  inFlight: number;
}

/** A guardrail's refusal: which one, why (for people), and when it lifts by itself if it does and that is known. */
export interface GuardVerdict {
  guardrail: Guardrail;
  reason: string;
  liftsAt?: number;
}

export interface ClaimRequest {
  incidentId: number;
  target: string;
  now: number;
  perTargetSince: number[];
  globalSince: number[];
  /** The limits of those windows, in the same order (for `*LiftsAt`). */
  perTargetMax: number[];
  globalMax: number[];
  /** The guardrails' verdict on the snapshot: a refusal, or undefined. */
  check(snapshot: GuardSnapshot): GuardVerdict | undefined;
  /** Written with the `started` row when the action is allowed. */
  announce?: { update: IncidentUpdate; event: AuditEvent };
  update: IncidentUpdate;
  action: NewAction;
  event: AuditEvent;
}

/** `lost`: another replica took the incident over (this one stalled past its lease): stop, record nothing. */
export type ClaimResult = { ok: true; actionId: number } | { ok: false; reason: string; lost: true } | ({ ok: false; lost?: undefined } & GuardVerdict);

export interface StepRecord {
  announce?: { update: IncidentUpdate; event: AuditEvent };
  action: NewAction;
  event: AuditEvent;
  update?: IncidentUpdate;
}

/** A fix's revert (table `reverts`): a durable step of its own, one per fix. */
export interface RevertRow {
  id: number;
  /** The fix it undoes (actions.id). */
  action_id: number;
  incident_id: number;
  service: string;
  action: ActionName;
  target: string;
  rule: string;
  status: RevertStatus;
  /** revertAfter, in seconds. */
  after_seconds: number;
  /** `waiting`: when the condition is looked at first; `verifying`: when the watch for the anomaly's return ends. */
  due_at: number;
  /** JSON: what the revert needs from the plan (the fix's parameters, to put it back; http/exec: the undoing call). */
  plan: string;
  /** JSON: the fix's detail (the value it replaced). */
  fix_detail: string | null;
  reason: string | null;
  detail: string | null;
  /** The replica working on it (PostgreSQL); null: nobody yet, or SQLite. */
  owner: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export type NewRevert = Pick<RevertRow, 'action_id' | 'incident_id' | 'service' | 'action' | 'target' | 'rule' | 'after_seconds' | 'due_at' | 'created_at'> & {
  plan: unknown;
  fix_detail?: unknown;
};

/** A revert's status change, allowed only from one of `from` (and, PostgreSQL, only by its owner). */
export interface RevertTransition {
  id: number;
  from: readonly RevertStatus[];
  to: RevertStatus;
  reason?: string;
  detail?: unknown;
  dueAt?: number;
  event?: AuditEvent;
  /** Written in the same transaction (e.g. reverting stopped for a target). */
  setting?: { key: string; value: string };
}

/** Claiming a revert: the guardrails read and checked, and `waiting` -> `started`, in one durable transaction. */
export type RevertClaim = GuardQuery & Pick<ClaimRequest, 'check'> & { revertId: number; reason: string; event: AuditEvent };

/** What the guardrails' snapshot reads: the target, the incident (its own actions set no cooldown), the windows. */
export type GuardQuery = Pick<ClaimRequest, 'incidentId' | 'target' | 'now' | 'perTargetSince' | 'globalSince' | 'perTargetMax' | 'globalMax'>;

export interface HealthReport {
  ok: boolean;
  store: 'sqlite' | 'postgres';
  detail: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** This replica's name in `incidents.owner` (PostgreSQL). */
  readonly replica: string;
  /** Creates or migrates the schema; resolves when the store can be used. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Whether the store answers now (readiness). */
  health(): Promise<HealthReport>;

  /**
   * Records alerts from several requests in ONE transaction and resolves once it is durable (the caller
   * acknowledges after that). `decide` writes immediate decisions in the same transaction.
   */
  ingest(batches: readonly (readonly StoredAlert[])[], decide?: IngestDecider): Promise<IngestOutcome[][]>;

  incident(id: number): Promise<IncidentRow | undefined>;
  /** Takes the incident for this replica unless another live replica holds it; false: leave it alone. */
  claimIncident(id: number): Promise<boolean>;
  /** Unfinished incidents this replica should work on: at start (SQLite: all) or orphaned by a dead replica. */
  takeOver(): Promise<number[]>;
  /** Marks this replica alive (PostgreSQL leases); no-op for SQLite. */
  heartbeat(): Promise<void>;

  updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): Promise<void>;
  audit(e: AuditEvent): Promise<void>;
  /** One transaction: optional announce, an action row with its audit event, an optional incident update. */
  recordStep(s: StepRecord): Promise<number>;
  /** One durable transaction: guardrails read, checked and, if allowed, the `started` row written. */
  claimAction(c: ClaimRequest): Promise<ClaimResult>;
  /**
   * The guardrails' inputs as they are now, read outside any claim: a look ahead (may a person be asked to approve
   * what the guardrails would hold back?). Only the claim's own read decides whether an action runs.
   */
  guardrails(q: GuardQuery): Promise<GuardSnapshot>;
  /** `revert`: a fix that undoes itself succeeded: its revert is recorded (`waiting`) in the same transaction. */
  finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }, revert?: ArmRevert): Promise<void>;
  /**
   * One transaction: the action's result was observed (`started` -> `verifying`), with its audit event (`applied`).
   * False when the action is no longer `started` (another replica took the incident over and finished it).
   */
  markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): Promise<boolean>;
  lastAction(incidentId: number): Promise<ActionRow | undefined>;
  openAction(incidentId: number): Promise<ActionRow | undefined>;
  actionsOf(incidentId: number): Promise<ActionRow[]>;

  inFlight(): Promise<number>;
  /** Incidents whose next action is deferred (phase `deferred`). */
  deferred(): Promise<number>;
  activeCooldowns(now?: number): Promise<{ service: string; action: string; until: number }[]>;
  lastActionTimes(): Promise<{ service: string; action: string; outcome: string; ts: number }[]>;
  getSetting(key: string): Promise<string | undefined>;
  putSetting(key: string, value: string, event?: AuditEvent): Promise<void>;

  listActions(q: { service?: string; since?: number; limit?: number }): Promise<ActionRow[]>;
  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): Promise<IncidentRow[]>;
  listAudit(q: { incidentId?: number; since?: number; limit?: number }): Promise<AuditRow[]>;
  prune(olderThanSeconds: number): Promise<number>;

  /** Open reverts this replica should work on: all (SQLite), or its own and those of dead replicas, taken over. */
  openReverts(): Promise<RevertRow[]>;
  revert(id: number): Promise<RevertRow | undefined>;
  /** One durable transaction: the guardrails read and checked and, if they allow it, `waiting` -> `started`. */
  claimRevert(c: RevertClaim): Promise<ClaimResult>;
  /** One transaction: the status change (compare-and-set) with its audit event; false when it no longer applies. */
  transitionRevert(t: RevertTransition): Promise<boolean>;
  /** Revertible fixes still in place, by action (the unreverted-fixes gauge). */
  unrevertedFixes(): Promise<{ action: string; n: number }[]>;
  listReverts(q: { service?: string; since?: number; limit?: number }): Promise<RevertRow[]>;
}

/** The revert of a fix, recorded with the fix's success, and its audit event. */
export interface ArmRevert {
  row: NewRevert;
  event: AuditEvent;
}
