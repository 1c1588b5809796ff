// Approvals (approve mode): an action waits for a person, durably, in the `approvals` table (migration 5; one
// approval per incident step, a unique index) next to its action row (`pending_approval`, then `approved`,
// `rejected`, `expired` or `cancelled`). Every change is one transaction, written once for both databases as a
// script of SQL statements (standard SQL, `?` placeholders) that SQLite runs synchronously and PostgreSQL with a
// round trip each. A decision only ever moves a `pending` approval (`UPDATE ... WHERE status = 'pending'`), so of
// two concurrent decisions (two people, two replicas, a person and the expiry) exactly one wins.
import type { ActionName, ApprovalStatus } from '@selfheal/contracts';
import { q, scriptRunner, type Row, type Runner, type Script } from './script.js';
import { actionArgs, auditArgs, incidentUpdateArgs, SQL } from './sql.js';
import type { AuditEvent, IncidentUpdate, Store } from './types.js';

/** A row of the approvals table (evidence: JSON text). */
export interface ApprovalRecord {
  id: number;
  incident_id: number;
  action_id: number | null;
  step: number;
  service: string;
  action: ActionName;
  target: string;
  rule: string;
  status: ApprovalStatus;
  requested_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  decision_reason: string | null;
  notified_at: number | null;
  evidence: string;
}

export interface ApprovalRequest {
  incidentId: number;
  step: number;
  service: string;
  action: ActionName;
  target: string;
  rule: string;
  fingerprint: string;
  now: number;
  expiresAt: number;
  /** What the alert said: alertname, feature, anomaly score, summary. */
  evidence: Record<string, string>;
  /** What the action would do (the action row's reason). */
  description: string;
  /** The `matched` record of a pending incident, written in the same transaction. */
  announce?: { update: IncidentUpdate; event: AuditEvent };
  /** This replica (PostgreSQL): the request is refused when another replica holds the incident. */
  replica: string;
}

export type RequestResult = { kind: 'requested' | 'existing'; approval: ApprovalRecord } | { kind: 'lost'; reason: string };

/** What a person's decision did. */
export type DecideResult =
  | { kind: 'approved' | 'rejected'; approval: ApprovalRecord }
  | { kind: 'not_found' }
  /** Already decided (or expired, or cancelled): nothing changed. */
  | { kind: 'decided'; approval: ApprovalRecord }
  /** The alert resolved while it waited: too late, the engine cancels it. */
  | { kind: 'resolved'; approval: ApprovalRecord }
  /** Past its expiry: too late, the engine expires and escalates it. */
  | { kind: 'expired'; approval: ApprovalRecord };

export interface ApprovalQuery {
  status?: ApprovalStatus;
  service?: string;
  since?: number;
  limit?: number;
}

const asApproval = (r: Row | undefined): ApprovalRecord | undefined => r as ApprovalRecord | undefined;

function* request(r: ApprovalRequest): Script<RequestResult> {
  const own = (yield* q('SELECT owner, phase FROM incidents WHERE id = ? FOR UPDATE', r.incidentId))[0] as { owner: string | null; phase: string } | undefined;
  if (!own) return { kind: 'lost', reason: `incident ${r.incidentId} is gone` };
  if (own.owner && own.owner !== r.replica) return { kind: 'lost', reason: `incident now held by replica ${own.owner}` };
  const existing = asApproval((yield* q('SELECT * FROM approvals WHERE incident_id = ? AND step = ?', r.incidentId, r.step))[0]);
  if (existing) return { kind: 'existing', approval: existing };
  if (r.announce) {
    yield* q(SQL.updateIncident, ...incidentUpdateArgs(r.incidentId, r.announce.update, r.now));
    yield* q(SQL.insertAudit, ...auditArgs(r.announce.event, r.now));
  }
  const action = (yield* q(SQL.insertAction, ...actionArgs({
    incident_id: r.incidentId, service: r.service, action: r.action, target: r.target, rule: r.rule, step: r.step, status: 'pending_approval',
    reason: `awaiting approval: would ${r.description}`, started_at: r.now,
  })))[0] as { id: number } | undefined;
  const approval = asApproval((yield* q(`INSERT INTO approvals (incident_id, action_id, step, service, action, target, rule, status, requested_at, expires_at, evidence)
    VALUES (?,?,?,?,?,?,?,'pending',?,?,?) RETURNING *`, r.incidentId, action?.id ?? null, r.step, r.service, r.action, r.target, r.rule, r.now, r.expiresAt, JSON.stringify(r.evidence)))[0]);
  if (!approval) throw new Error(`approval of incident ${r.incidentId} step ${r.step} was not recorded`);
  yield* q(SQL.updateIncident, ...incidentUpdateArgs(r.incidentId, { phase: 'awaiting_approval', step: r.step, reason: `${r.action} awaits approval ${approval.id}` }, r.now));
  yield* q(SQL.insertAudit, ...auditArgs({
    event: 'approval_requested', incidentId: r.incidentId, fingerprint: r.fingerprint, service: r.service, action: r.action, target: r.target,
    reason: `would ${r.description}; approve or reject before ${new Date(r.expiresAt * 1000).toISOString()}`,
    detail: { approval: approval.id, expiresAt: r.expiresAt, evidence: r.evidence },
  }, r.now));
  return { kind: 'requested', approval };
}

function* decide(id: number, decision: 'approve' | 'reject', by: string, why: string | undefined, now: number): Script<DecideResult> {
  const a = asApproval((yield* q('SELECT * FROM approvals WHERE id = ? FOR UPDATE', id))[0]);
  if (!a) return { kind: 'not_found' };
  if (a.status !== 'pending') return { kind: 'decided', approval: a };
  const inc = (yield* q('SELECT resolved_at, fingerprint FROM incidents WHERE id = ?', a.incident_id))[0] as { resolved_at: string | null; fingerprint: string } | undefined;
  if (inc?.resolved_at) return { kind: 'resolved', approval: a };
  if (now >= a.expires_at) return { kind: 'expired', approval: a };
  const status = decision === 'approve' ? 'approved' : 'rejected';
  const updated = asApproval((yield* q(`UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, decision_reason = ? WHERE id = ? AND status = 'pending' RETURNING *`,
    status, now, by, why ?? null, id))[0]);
  if (!updated) {
    const now2 = asApproval((yield* q('SELECT * FROM approvals WHERE id = ?', id))[0]);
    return now2 ? { kind: 'decided', approval: now2 } : { kind: 'not_found' };
  }
  const text = `${status} by ${by}${why ? `: ${why}` : ''}`;
  if (a.action_id !== null) yield* q('UPDATE actions SET status = ?, reason = ?, finished_at = ? WHERE id = ?', status, text, now, a.action_id);
  yield* q(SQL.insertAudit, ...auditArgs({
    event: status, incidentId: a.incident_id, fingerprint: inc?.fingerprint, service: a.service, action: a.action, target: a.target, reason: text,
    detail: { approval: id, by, reason: why ?? null },
  }, now));
  // A rejected action is not run: the incident ends here (skipped, with who and why).
  if (status === 'rejected') yield* q(SQL.updateIncident, ...incidentUpdateArgs(a.incident_id, { phase: 'done', result: 'skipped', reason: `${a.action} ${text}` }, now));
  return { kind: status, approval: updated };
}

/** The engine ends a pending approval: expired (nobody decided in time) or cancelled (the alert resolved). Undefined: decided meanwhile. */
function* close(id: number, status: 'expired' | 'cancelled', reason: string, now: number, event: AuditEvent, update?: IncidentUpdate): Script<ApprovalRecord | undefined> {
  const a = asApproval((yield* q(`UPDATE approvals SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending' RETURNING *`, status, now, id))[0]);
  if (!a) return undefined;
  if (a.action_id !== null) yield* q('UPDATE actions SET status = ?, reason = ?, finished_at = ? WHERE id = ?', status, reason, now, a.action_id);
  yield* q(SQL.insertAudit, ...auditArgs(event, now));
  if (update) yield* q(SQL.updateIncident, ...incidentUpdateArgs(a.incident_id, update, now));
  return a;
}

function* list(o: ApprovalQuery): Script<ApprovalRecord[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (o.status) { where.push('status = ?'); args.push(o.status); }
  if (o.service) { where.push('service = ?'); args.push(o.service); }
  if (o.since !== undefined) { where.push('requested_at >= ?'); args.push(o.since); }
  args.push(Math.min(o.limit ?? 500, 5000));
  return (yield* q(`SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, ...args)) as unknown as ApprovalRecord[];
}

/** The approvals of a store: requested by the engine, decided by people through the API, ended by the engine. */
export class Approvals {
  private readonly run: Runner;

  constructor(store: Store) {
    this.run = scriptRunner(store, 'approvals');
  }

  /** Records a pending approval with its action row (or returns the step's existing one: after a restart). */
  request(r: ApprovalRequest): Promise<RequestResult> {
    return this.run(() => request(r));
  }

  /** A person's decision; only a pending approval that has not expired and whose alert still fires changes. */
  decide(id: number, decision: 'approve' | 'reject', by: string, reason: string | undefined, now: number): Promise<DecideResult> {
    return this.run(() => decide(id, decision, by, reason, now));
  }

  /** Expired or cancelled by the engine; undefined when a person decided first. */
  close(id: number, status: 'expired' | 'cancelled', reason: string, now: number, event: AuditEvent, update?: IncidentUpdate): Promise<ApprovalRecord | undefined> {
    return this.run(() => close(id, status, reason, now, event, update));
  }

  async markNotified(id: number, now: number): Promise<void> {
    await this.run(function* () { yield* q('UPDATE approvals SET notified_at = ? WHERE id = ?', now, id); });
  }

  async get(id: number): Promise<ApprovalRecord | undefined> {
    return this.run(function* () { return asApproval((yield* q('SELECT * FROM approvals WHERE id = ?', id))[0]); }, true);
  }

  async forStep(incidentId: number, step: number): Promise<ApprovalRecord | undefined> {
    return this.run(function* () { return asApproval((yield* q('SELECT * FROM approvals WHERE incident_id = ? AND step = ?', incidentId, step))[0]); }, true);
  }

  async pendingCount(): Promise<number> {
    return this.run(function* () { return Number((yield* q(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM approvals WHERE status = 'pending'`))[0]?.n ?? 0); }, true);
  }

  list(o: ApprovalQuery): Promise<ApprovalRecord[]> {
    return this.run(() => list(o), true);
  }
}

const byStore = new WeakMap<Store, Approvals>();

/** The approvals of `store` (one per store, shared by the engine and the API). */
export function approvalsOf(store: Store): Approvals {
  let a = byStore.get(store);
  if (!a) {
    a = new Approvals(store);
    byStore.set(store, a);
  }
  return a;
}
