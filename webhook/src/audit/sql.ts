// SQL that SQLite and PostgreSQL both run as written (standard SQL, `?` placeholders: PostgreSQL's are numbered by
// `numbered`), and the rows' parameters. What must differ per database (migrations, ingest, leases, the guardrails'
// snapshot) is in sqlite-db.ts and postgres-store.ts.
import { EXECUTED_STATUSES } from '@selfheal/contracts';
import type { AuditEvent, IncidentUpdate, NewAction, StoredAlert } from './types.js';

/** The executed statuses as an SQL list (the guardrails count these). */
export const EXECUTED_SQL = `(${EXECUTED_STATUSES.map((st) => `'${st}'`).join(',')})`;

export const SQL = {
  incidentById: 'SELECT * FROM incidents WHERE id = ?',
  insertAudit: 'INSERT INTO audit (ts, event, incident_id, fingerprint, service, action, target, reason, detail, change) VALUES (?,?,?,?,?,?,?,?,?,?)',
  updateIncident: `UPDATE incidents SET phase = ?, result = ?, reason = ?, rule = COALESCE(?, rule), target = COALESCE(?, target), step = COALESCE(?, step),
    deferred_until = ?, defer_deadline = ?, updated_at = ? WHERE id = ?`,
  insertAction: `INSERT INTO actions (incident_id, service, action, target, rule, step, status, reason, detail, change, started_at, finished_at, cooldown_until)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
  finishAction: 'UPDATE actions SET status = ?, reason = ?, detail = COALESCE(?, detail), finished_at = ? WHERE id = ? RETURNING incident_id',
  startedToVerifying: `UPDATE actions SET status = 'verifying', detail = COALESCE(?, detail) WHERE id = ? AND status = 'started'`,
  lastAction: 'SELECT * FROM actions WHERE incident_id = ? ORDER BY id DESC LIMIT 1',
  openAction: `SELECT * FROM actions WHERE incident_id = ? AND status IN ('started','verifying') ORDER BY id DESC LIMIT 1`,
  actionsOf: 'SELECT * FROM actions WHERE incident_id = ? ORDER BY id',
  deferred: `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM incidents WHERE phase = 'deferred'`,
  inFlight: `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM actions WHERE status IN ('started','verifying')`,
  cooldowns: `SELECT service, action, MAX(cooldown_until) AS until FROM actions WHERE cooldown_until > ? AND status IN ${EXECUTED_SQL} GROUP BY service, action`,
  lastActionTimes: `SELECT service, action, status AS outcome, MAX(COALESCE(finished_at, started_at)) AS ts FROM actions
    WHERE status IN ('succeeded','failed','unknown','dry_run','skipped','deferred','pending_approval','approved','rejected','expired') GROUP BY service, action, status`,
  getSetting: 'SELECT value FROM settings WHERE key = ?',
  putSetting: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  /** Closed incidents, their actions and audit rows from before a cutoff (given to each `?`). */
  prune: [
    'DELETE FROM audit WHERE ts < ?',
    `DELETE FROM actions WHERE started_at < ? AND incident_id IN (SELECT id FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < ?)`,
    `DELETE FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < ? AND id NOT IN (SELECT incident_id FROM actions)`,
  ],
} as const;

const numberedCache = new Map<string, string>();

/** PostgreSQL's placeholders: `?` -> `$1`, `$2`, ... (the statements are few: each is rewritten once). */
export function numbered(sql: string): string {
  let out = numberedCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    if (numberedCache.size < 1000) numberedCache.set(sql, out);
  }
  return out;
}

export function auditArgs(e: AuditEvent, ts: number): unknown[] {
  return [ts, e.event, e.incidentId ?? null, e.fingerprint ?? null, e.service ?? null, e.action ?? null, e.target ?? null, e.reason ?? null,
    e.detail === undefined ? null : JSON.stringify(e.detail), e.change === undefined ? null : JSON.stringify(e.change)];
}

export function incidentUpdateArgs(id: number, u: IncidentUpdate, now: number): unknown[] {
  return [u.phase, u.result ?? null, u.reason ?? null, u.rule ?? null, u.target ?? null, u.step ?? null, u.deferredUntil ?? null, u.deferDeadline ?? null, now, id];
}

export function actionArgs(a: NewAction): unknown[] {
  return [a.incident_id, a.service, a.action, a.target, a.rule, a.step, a.status, a.reason ?? null, a.detail === undefined ? null : JSON.stringify(a.detail),
    a.change === undefined ? null : JSON.stringify(a.change), a.started_at, a.finished_at ?? null, a.cooldown_until ?? null];
}

export function finishArgs(id: number, status: string, reason: string | null, detail: unknown, now: number): unknown[] {
  return [status, reason, detail === undefined ? null : JSON.stringify(detail), now, id];
}

export type ListQuery =
  | { table: 'actions'; service?: string; since?: number; limit?: number }
  | { table: 'incidents'; service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }
  | { table: 'audit'; incidentId?: number; since?: number; limit?: number };

/** The read API's queries: newest first, filtered, limited (500 by default, at most 5000; the audit 1000 and 10000). */
export function listQuery(q: ListQuery): { sql: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if ('service' in q && q.service) { where.push('service = ?'); args.push(q.service); }
  if ('incidentId' in q && q.incidentId !== undefined) { where.push('incident_id = ?'); args.push(q.incidentId); }
  if (q.since !== undefined) { where.push(`${q.table === 'actions' ? 'started_at' : q.table === 'incidents' ? 'received_at' : 'ts'} >= ?`); args.push(q.since); }
  if ('state' in q && q.state === 'open') where.push('resolved_at IS NULL');
  if ('state' in q && q.state === 'resolved') where.push('resolved_at IS NOT NULL');
  const limit = q.table === 'audit' ? Math.min(q.limit ?? 1000, 10000) : Math.min(q.limit ?? 500, 5000);
  args.push(limit);
  return { sql: `SELECT * FROM ${q.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, args };
}

/**
 * For each rate-limit window at or over its max: which of its executed actions must leave it before one more is
 * allowed (the (n - max + 1)th oldest, as an OFFSET); undefined for windows under their max.
 */
export function windowsAtLimit(counts: readonly number[], since: readonly number[], max: readonly number[]): ({ since: number; offset: number } | undefined)[] {
  return counts.map((n, i) => {
    const m = max[i];
    const s = since[i];
    return m === undefined || s === undefined || m <= 0 || n < m ? undefined : { since: s, offset: n - m };
  });
}

/** The pause switch's setting, as the guardrails read it. */
export function pausedBy(setting: string | null | undefined): string | undefined {
  const pause = setting ? (JSON.parse(setting) as { paused?: boolean; reason?: string }) : undefined;
  return pause?.paused ? (pause.reason ?? 'api') : undefined;
}

/** When a resolved alert ended: its endsAt, or now when Alertmanager left it unset (Go's zero time). */
export function resolvedAt(alert: StoredAlert, now: number): string {
  return alert.endsAt && !alert.endsAt.startsWith('0001-') ? new Date(alert.endsAt).toISOString() : new Date(now * 1000).toISOString();
}

/** Seconds from the alert's start to its end. */
export function recoverySeconds(alert: StoredAlert, endsAt: string): number {
  return Math.max(0, (Date.parse(endsAt) - Date.parse(alert.startsAt)) / 1000);
}
