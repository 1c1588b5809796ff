// PostgreSQL's ingest: what differs from SQLite's (sqlite-db.ts) is how the work is packed into round trips. The
// replica whose INSERT of an occurrence wins owns the incident (`owner`); a decision made at ingest is written in
// ONE statement. The order and the transaction are the shared ingest script's (transactions.ts).
import type pg from 'pg';
import { auditArgs, numbered, recoverySeconds, resolvedAt, SQL } from './sql.js';
import type { AuditEvent, ImmediateDecision, IngestOutcome, StoredAlert } from './types.js';

/** The writes of a decision made at ingest, in ONE statement (one round trip per alert, not five). */
export async function applyDecision(c: pg.PoolClient, incidentId: number, d: ImmediateDecision, now: number): Promise<void> {
  const events = [...d.events, ...(d.action ? [d.action.event] : []), ...(d.incident.event ? [d.incident.event] : [])];
  const col = <K extends keyof AuditEvent>(k: K) => events.map((e) => (e[k] === undefined ? null : k === 'detail' ? JSON.stringify(e[k]) : e[k]));
  const a = d.action?.row;
  const u = d.incident;
  await c.query(`WITH act AS (
      INSERT INTO actions (incident_id, service, action, target, rule, step, status, reason, started_at, finished_at)
      SELECT $1::int, $10::text, $11::text, $12::text, $13::text, $14::int, $15::text, $16::text, $17::float8, $18::float8 WHERE $9::boolean
    ), upd AS (
      UPDATE incidents SET phase = $19, result = $20, reason = $21, rule = COALESCE($22, rule), target = COALESCE($23, target), step = COALESCE($24, step), updated_at = $2 WHERE id = $1
    )
    INSERT INTO audit (ts, event, incident_id, fingerprint, service, action, target, reason, detail)
    SELECT $2::float8, e.event, $1::int, e.fingerprint, e.service, e.action, e.target, e.reason, e.detail
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $25::text[]) WITH ORDINALITY AS e(event, fingerprint, service, action, target, reason, detail, n)
    ORDER BY e.n`, [
    incidentId, now, col('event'), col('fingerprint'), col('service'), col('action'), col('target'), col('reason'),
    a !== undefined, a?.service ?? null, a?.action ?? null, a?.target ?? null, a?.rule ?? null, a?.step ?? null, a?.status ?? null, a?.reason ?? null, a?.started_at ?? null, a?.finished_at ?? null,
    u.phase, u.result ?? null, u.reason ?? null, u.rule ?? null, u.target ?? null, u.step ?? null, col('detail'),
  ]);
}

export async function ingestAlert(c: pg.PoolClient, alert: StoredAlert, now: number, replica: string): Promise<IngestOutcome> {
  const service = alert.labels.service ?? null;
  const labels = JSON.stringify(alert.labels);
  const annotations = JSON.stringify(alert.annotations);
  if (alert.status === 'firing') {
    // The claim: exactly one INSERT per key succeeds, whichever replica runs it first.
    const inserted = await c.query<{ id: number }>(`WITH ins AS (
        INSERT INTO incidents (key, fingerprint, starts_at, service, alertname, labels, annotations, phase, received_at, updated_at, owner)
        VALUES ($1,$2,$3,$4,$5,$6,$7,'pending',$8,$8,$9) ON CONFLICT (key) DO NOTHING RETURNING id
      ), aud AS (
        INSERT INTO audit (ts, event, incident_id, fingerprint, service, detail) SELECT $8, 'received', id, $2, $4, $10 FROM ins
      ) SELECT id FROM ins`,
    [alert.key, alert.fingerprint, alert.startsAt, service, alert.labels.alertname ?? null, labels, annotations, now, replica,
      JSON.stringify({ status: 'firing', labels: alert.labels, startsAt: alert.startsAt })]);
    const id = inserted.rows[0]?.id;
    if (id !== undefined) return { kind: 'new', incidentId: id, alert };
    const { rows } = await c.query<{ id: number; phase: string; resolved_at: string | null }>(
      'UPDATE incidents SET notifications = notifications + 1 WHERE key = $1 RETURNING id, phase, resolved_at', [alert.key]);
    const existing = rows[0];
    if (!existing) throw new Error(`incident ${alert.key} vanished during ingest`);
    return existing.resolved_at ? { kind: 'already_resolved', incidentId: existing.id } : { kind: 'duplicate', incidentId: existing.id, pending: existing.phase === 'pending' };
  }
  // Resolved: never starts an action; closes the incident, or records a closed one if it never fired here.
  const endsAt = resolvedAt(alert, now);
  const closed = await c.query<{ id: number }>(`INSERT INTO incidents (key, fingerprint, starts_at, service, alertname, labels, annotations, phase, result, received_at, updated_at, resolved_at, owner)
    VALUES ($1,$2,$3,$4,$5,$6,$7,'done','resolved',$8,$8,$9,$10) ON CONFLICT (key) DO NOTHING RETURNING id`,
  [alert.key, alert.fingerprint, alert.startsAt, service, alert.labels.alertname ?? null, labels, annotations, now, endsAt, replica]);
  let incidentId = closed.rows[0]?.id;
  let recovery: number | null = null;
  if (incidentId === undefined) {
    const { rows } = await c.query<{ id: number; resolved_at: string | null }>('SELECT id, resolved_at FROM incidents WHERE key = $1 FOR UPDATE', [alert.key]);
    const existing = rows[0];
    if (!existing) throw new Error(`incident ${alert.key} vanished during ingest`);
    incidentId = existing.id;
    if (existing.resolved_at) {
      await c.query('UPDATE incidents SET notifications = notifications + 1 WHERE id = $1', [incidentId]);
      return { kind: 'already_resolved', incidentId };
    }
    recovery = recoverySeconds(alert, endsAt);
    await c.query('UPDATE incidents SET resolved_at = $2, recovery_seconds = $3, updated_at = $4, notifications = notifications + 1 WHERE id = $1', [incidentId, endsAt, recovery, now]);
  }
  await c.query(numbered(SQL.insertAudit), auditArgs({ event: 'resolved', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, reason: closed.rows[0] ? 'resolved notification for an alert never seen firing' : undefined, detail: { endsAt, recoverySeconds: recovery } }, now));
  return { kind: 'resolved', incidentId, recoverySeconds: recovery, service, alert };
}
