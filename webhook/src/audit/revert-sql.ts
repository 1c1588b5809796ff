// The reverts table's SQL, run as written by SQLite and PostgreSQL (`?` placeholders; PostgreSQL's are numbered by
// `numbered`), and its rows' parameters. A revert is a durable step of its own, like an action: each status change
// is a compare-and-set on the status it leaves (and, with PostgreSQL, on the replica that owns it), so no revert
// runs twice, across a crash or across replicas.
import { OPEN_REVERT_STATUSES, UNREVERTED_STATUSES } from '@selfheal/contracts';
import type { NewRevert, RevertTransition } from './types.js';

const list = (values: readonly string[]) => `(${values.map((v) => `'${v}'`).join(',')})`;

/** Reverts still to be worked on, as an SQL list. */
export const OPEN_REVERTS_SQL = list(OPEN_REVERT_STATUSES);

export const REVERT_SQL = {
  /** One revert per fix: a second arming of the same fix (two replicas finishing one action) adds nothing. */
  insert: `INSERT INTO reverts (action_id, incident_id, service, action, target, rule, status, after_seconds, due_at, plan, fix_detail, owner, created_at)
    VALUES (?,?,?,?,?,?,'waiting',?,?,?,?,?,?) ON CONFLICT (action_id) DO NOTHING RETURNING id`,
  byId: 'SELECT * FROM reverts WHERE id = ?',
  open: `SELECT * FROM reverts WHERE status IN ${OPEN_REVERTS_SQL} ORDER BY id`,
  /** Reverts in flight (claimed, or putting a fix back): counted with the actions by maxConcurrent. */
  inFlight: `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM reverts WHERE status IN ('started','reapplying')`,
  unreverted: `SELECT action, CAST(COUNT(*) AS INTEGER) AS n FROM reverts WHERE status IN ${list(UNREVERTED_STATUSES)} GROUP BY action`,
  /** Final reverts past the retention (open ones are kept whatever their age: their fix is still in place). */
  prune: `DELETE FROM reverts WHERE status NOT IN ${OPEN_REVERTS_SQL} AND COALESCE(finished_at, created_at) < ?`,
} as const;

export function revertArgs(r: NewRevert, owner: string | null): unknown[] {
  return [r.action_id, r.incident_id, r.service, r.action, r.target, r.rule, r.after_seconds, r.due_at, JSON.stringify(r.plan),
    r.fix_detail === undefined ? null : JSON.stringify(r.fix_detail), owner, r.created_at];
}

/**
 * The compare-and-set of a status change: only from one of `t.from`, and (PostgreSQL) only by the owner. Returns
 * the SQL with `?` placeholders and its arguments.
 */
export function transitionQuery(t: RevertTransition, now: number, owner: string | null): { sql: string; args: unknown[] } {
  const sets = ['status = ?'];
  const args: unknown[] = [t.to];
  if (t.reason !== undefined) { sets.push('reason = ?'); args.push(t.reason); }
  if (t.detail !== undefined) { sets.push('detail = ?'); args.push(JSON.stringify(t.detail)); }
  if (t.dueAt !== undefined) { sets.push('due_at = ?'); args.push(t.dueAt); }
  if (t.to === 'started') { sets.push('started_at = ?'); args.push(now); }
  if (!(OPEN_REVERT_STATUSES as readonly string[]).includes(t.to)) { sets.push('finished_at = ?'); args.push(now); }
  args.push(t.id);
  let where = `id = ? AND status IN ${list(t.from)}`;
  if (owner !== null) { where += ' AND (owner IS NULL OR owner = ?)'; args.push(owner); }
  return { sql: `UPDATE reverts SET ${sets.join(', ')} WHERE ${where}`, args };
}

/** The settings key that says reverting stopped for a target (a revert re-triggered its incident there). */
export const revertsStoppedKey = (target: string): string => `reverts-stopped:${target}`;

/** The read API's query: newest first, by service and creation time, limited (500 by default, at most 5000). */
export function listRevertsQuery(q: { service?: string; since?: number; limit?: number }): { sql: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.service) { where.push('service = ?'); args.push(q.service); }
  if (q.since !== undefined) { where.push('created_at >= ?'); args.push(q.since); }
  args.push(Math.min(q.limit ?? 500, 5000));
  return { sql: `SELECT * FROM reverts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, args };
}
