// The store's transactions, written once for both databases: each is a script of primitive writes and reads
// (ops) in order, with the decisions between them. A database runs a script inside one transaction of its own:
// SQLite synchronously (better-sqlite3 commits before the webhook answers, with no callback interleaving),
// PostgreSQL with a round trip per op. The SQL of each op is the database's own (sqlite-db.ts, postgres-store.ts).
import type { ActionStatus } from '@selfheal/contracts';
import type {
  ArmRevert, AuditEvent, ClaimRequest, ClaimResult, GuardQuery, GuardSnapshot, ImmediateDecision, IncidentUpdate, IngestDecider, IngestOutcome, NewAction,
  NewRevert, RevertClaim, RevertTransition, StepRecord, StoredAlert,
} from './types.js';

/** A primitive operation of a transaction, and the type of its result. */
export interface Ops {
  updateIncident: { args: [id: number, u: IncidentUpdate]; result: void };
  audit: { args: [e: AuditEvent]; result: void };
  insertAction: { args: [a: NewAction]; result: number };
  /** The action's incident, if the action exists. */
  finishAction: { args: [id: number, status: ActionStatus, reason: string | null, detail: unknown]; result: number | undefined };
  /** `started` -> `verifying`; false when the action was no longer `started`. */
  startedToVerifying: { args: [actionId: number, detail: unknown]; result: boolean };
  putSetting: { args: [key: string, value: string]; result: void };
  /** Why this replica may not claim the action (another one holds the incident, or the step ran); undefined: it may. */
  claimConflict: { args: [c: ClaimRequest]; result: string | undefined };
  guardSnapshot: { args: [c: GuardQuery]; result: GuardSnapshot };
  ingestAlert: { args: [alert: StoredAlert, now: number]; result: IngestOutcome };
  applyDecision: { args: [incidentId: number, d: ImmediateDecision, now: number]; result: void };
  insertRevert: { args: [r: NewRevert]; result: number };
  /** A revert's status change (compare-and-set); false when it no longer applies. */
  transitionRevert: { args: [t: RevertTransition]; result: boolean };
  /** Why this replica may not claim the revert (not `waiting` any more, or another replica owns it); undefined: it may. */
  revertClaimConflict: { args: [revertId: number]; result: string | undefined };
  revertsInFlight: { args: []; result: number };
  /** Drops closed incidents, their actions and audit rows from before `cutoff`; the number of incidents dropped. */
  prune: { args: [cutoff: number]; result: number };
}

export type OpName = keyof Ops;
export type Op = { [K in OpName]: { op: K; args: Ops[K]['args'] } }[OpName];

/** A transaction's script: yields ops, receives each op's result, returns the transaction's result. */
export type Script<T> = Generator<Op, T, unknown>;

/** One op, with its result typed. */
function* op<K extends OpName>(name: K, ...args: Ops[K]['args']): Generator<Op, Ops[K]['result'], unknown> {
  return (yield { op: name, args } as Op) as Ops[K]['result'];
}

/** How a database carries out each op (its SQL): synchronously (SQLite) or not (PostgreSQL). */
export type SyncOps = { [K in OpName]: (...args: Ops[K]['args']) => Ops[K]['result'] };
export type AsyncOps = { [K in OpName]: (...args: Ops[K]['args']) => Promise<Ops[K]['result']> };

function dispatch(ops: SyncOps | AsyncOps, o: Op): unknown {
  // The op and its arguments come from one union member, which TypeScript cannot correlate with ops[o.op].
  return (ops[o.op] as (...args: readonly unknown[]) => unknown)(...o.args);
}

/** Runs a script synchronously (call it inside the database's transaction). */
export function runSync<T>(script: Script<T>, ops: SyncOps): T {
  let step = script.next();
  while (!step.done) step = script.next(dispatch(ops, step.value));
  return step.value;
}

/** Runs a script with an asynchronous database (call it inside the database's transaction). */
export async function runAsync<T>(script: Script<T>, ops: AsyncOps): Promise<T> {
  let step = script.next();
  while (!step.done) step = script.next(await dispatch(ops, step.value));
  return step.value;
}

export function* updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): Script<void> {
  yield* op('updateIncident', id, u);
  if (event) yield* op('audit', event);
}

export function* audit(e: AuditEvent): Script<void> {
  yield* op('audit', e);
}

/** An action row with its audit event and, optionally, the `matched` record before it and the incident's new state. */
export function* recordStep(s: StepRecord): Script<number> {
  if (s.announce) yield* updateIncident(s.action.incident_id, s.announce.update, s.announce.event);
  const id = yield* op('insertAction', s.action);
  yield* op('audit', s.event);
  if (s.update) yield* op('updateIncident', s.action.incident_id, s.update);
  return id;
}

/**
 * The guardrails read, checked and, if they allow it, the `started` row written: no other write can come between
 * the check and the insert, so two incidents (or replicas) cannot both pass a limit of one.
 */
export function* claimAction(c: ClaimRequest): Script<ClaimResult> {
  const conflict = yield* op('claimConflict', c);
  if (conflict !== undefined) return { ok: false, lost: true, reason: conflict };
  const blocked = c.check(yield* op('guardSnapshot', c));
  if (blocked) return { ok: false, ...blocked };
  if (c.announce) yield* updateIncident(c.incidentId, c.announce.update, c.announce.event);
  yield* op('updateIncident', c.incidentId, c.update);
  const actionId = yield* op('insertAction', c.action);
  yield* op('audit', c.event);
  return { ok: true, actionId };
}

export function* finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }, revert?: ArmRevert): Script<void> {
  const actionIncident = yield* op('finishAction', id, status, reason, detail);
  yield* op('audit', event);
  const incidentId = event.incidentId ?? actionIncident;
  if (update && incidentId !== undefined) yield* updateIncident(incidentId, update, update.event);
  // A fix that undoes itself: its revert is armed in the commit that records its success (never one without the other).
  if (revert) {
    yield* op('insertRevert', revert.row);
    yield* op('audit', revert.event);
  }
}

/** The action's result was observed: `started` -> `verifying`, with its audit event. False if it was not `started`. */
export function* markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): Script<boolean> {
  // The actuator's detail (e.g. the value a fix replaced) is kept on the row at once: a revert needs it after a restart.
  if (!(yield* op('startedToVerifying', actionId, event?.detail))) return false;
  if (event) yield* op('audit', event);
  yield* op('updateIncident', incidentId, { phase: 'verifying', step });
  return true;
}

/**
 * The guardrails read, checked and, if they allow it, the revert `waiting` -> `started`: like claimAction, no other
 * claim (of an action or a revert, by any replica) comes between the check and the write. Reverts in flight count
 * towards maxConcurrent with the actions.
 */
export function* claimRevert(c: RevertClaim): Script<ClaimResult> {
  const conflict = yield* op('revertClaimConflict', c.revertId);
  if (conflict !== undefined) return { ok: false, lost: true, reason: conflict };
  const snapshot = yield* op('guardSnapshot', c);
  const reverting = yield* op('revertsInFlight');
  const blocked = c.check({ ...snapshot, inFlight: snapshot.inFlight + reverting });
  if (blocked) return { ok: false, ...blocked };
  if (!(yield* op('transitionRevert', { id: c.revertId, from: ['waiting'], to: 'started', reason: c.reason }))) return { ok: false, lost: true, reason: 'the revert is no longer waiting' };
  yield* op('audit', c.event);
  return { ok: true, actionId: c.revertId };
}

/** A revert's status change with its audit event (and a setting, e.g. reverting stopped for a target). */
export function* transitionRevert(t: RevertTransition): Script<boolean> {
  if (!(yield* op('transitionRevert', t))) return false;
  if (t.event) yield* op('audit', t.event);
  if (t.setting) yield* op('putSetting', t.setting.key, t.setting.value);
  return true;
}

export function* putSetting(key: string, value: string, event?: AuditEvent): Script<void> {
  yield* op('putSetting', key, value);
  if (event) yield* op('audit', event);
}

/**
 * Records alerts from several requests; per request, what each alert did. A new incident that can be decided at
 * once (`decide`) gets its decision written in the same transaction. `byKey`: alerts are written in key order
 * (PostgreSQL: two replicas ingesting the same alerts lock the same rows in the same order, so they wait for each
 * other instead of deadlocking).
 */
export function* ingest(batches: readonly (readonly StoredAlert[])[], decide: IngestDecider | undefined, now: number, byKey: boolean): Script<IngestOutcome[][]> {
  const flat = batches.flatMap((alerts, b) => alerts.map((alert, i) => ({ alert, b, i })));
  if (byKey) flat.sort((x, y) => (x.alert.key < y.alert.key ? -1 : x.alert.key > y.alert.key ? 1 : 0));
  const results: IngestOutcome[][] = batches.map((alerts) => new Array<IngestOutcome>(alerts.length));
  for (const { alert, b, i } of flat) {
    const outcome = yield* op('ingestAlert', alert, now);
    if (outcome.kind === 'new' && decide) {
      const decided = decide(alert, outcome.incidentId);
      if (decided) {
        yield* op('applyDecision', outcome.incidentId, decided, now);
        outcome.decided = decided;
      }
    }
    const row = results[b];
    if (row) row[i] = outcome;
  }
  return results;
}

export function* prune(cutoff: number): Script<number> {
  return yield* op('prune', cutoff);
}
