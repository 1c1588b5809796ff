// PostgreSQL store (node-postgres, `pg`): the alternative to the embedded SQLite for several replicas of the
// healing service sharing one database. What makes "exactly once across replicas" hold lives here, in the
// database, not in any process's memory:
//  - one incident per alert occurrence: UNIQUE(key = fingerprint@startsAt); the replica whose INSERT wins
//    owns it (incidents.owner); the other replica's INSERT waits for that commit and becomes a duplicate;
//  - the guardrails are read and the `started` row written in one transaction that first locks the
//    guardrails' row (SELECT ... FOR UPDATE): claims of actions are serialised across replicas, so two
//    replicas cannot both pass a cooldown or a rate limit;
//  - leases: each replica renews replicas.heartbeat_at (database clock); the unfinished incidents of a replica
//    whose lease ran out are taken over by a live one, which verifies a started action instead of repeating it.
// Durability: a request is acknowledged after COMMIT returns, i.e. after PostgreSQL flushed its WAL
// (synchronous_commit = on, the server's default); concurrent requests share one transaction (group commit).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import type { ReceivedAlert } from '@selfheal/contracts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { EXECUTED_STATUSES } from '@selfheal/contracts';
import type {
  ActionRow, ActionStatus, AuditEvent, AuditRow, ClaimRequest, ClaimResult, GuardSnapshot, HealthReport, ImmediateDecision, IncidentRow,
  IncidentUpdate, IngestDecider, IngestOutcome, NewAction, StepRecord, Store,
} from './types.js';

export interface PostgresStoreOptions {
  url: string;
  passwordFile?: string;
  poolSize: number;
  /** Seconds. */
  connectTimeout: number;
  /** Seconds a replica's lease lasts without renewal. */
  lease: number;
  logger?: Logger;
  /** This replica's name (default: host-pid-random). */
  replica?: string;
}

type Db = pg.PoolClient | pg.Pool;

const EXECUTED_SQL = `(${EXECUTED_STATUSES.map((st) => `'${st}'`).join(',')})`;
/** The database's clock, in seconds: leases compare times written by different machines. */
const DB_NOW = 'extract(epoch from clock_timestamp())::float8';
/** Taken while migrating, so replicas starting together do not migrate twice. */
const MIGRATION_LOCK = 7_420_190_001;

/** Serialization failures and deadlocks: the transaction is retried from the start. */
function retryable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '40001' || code === '40P01';
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly replica: string;
  private readonly pool: pg.Pool;
  private readonly lease: number;
  private readonly logger: Logger | undefined;
  private closed = false;
  /** Lease renewals use their own connection: queued behind busy pool connections, a live replica would look dead. */
  private leaseClient: pg.Client | undefined;
  /** Claims from this process wait here, not on a pooled connection (they are serialised by the database anyway). */
  private claims: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: PostgresStoreOptions) {
    this.replica = opts.replica ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.lease = opts.lease;
    this.logger = opts.logger;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      // Read for each new connection: a rotated password is picked up without a restart.
      ...(opts.passwordFile ? { password: async () => (await readFile(opts.passwordFile ?? '', 'utf8')).trim() } : {}),
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectTimeout * 1000,
      idleTimeoutMillis: 30_000,
      application_name: `selfheal-webhook ${this.replica}`.slice(0, 63),
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process; the pool
    // reconnects on the next query and readiness reports the outage meanwhile.
    this.pool.on('error', (err) => this.logger?.warn({ err: err.message }, 'PostgreSQL connection lost'));
  }

  async open(): Promise<void> {
    const deadline = Date.now() + this.opts.connectTimeout * 1000;
    for (;;) {
      try {
        await this.migrate();
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // Not up yet (refused, starting up, too many connections): wait and retry until connectTimeout.
        const transient = code === 'ECONNREFUSED' || code === '57P03' || code === '53300' || code === 'ENOENT' || /timeout/i.test((err as Error).message);
        if (!transient || Date.now() > deadline) throw new Error(`store: cannot use PostgreSQL at ${redact(this.opts.url)}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await this.heartbeat();
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, what TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      const current = rows[0]?.v ?? 0;
      if (current > SCHEMA_VERSION) throw new Error(`the database was written by a newer selfheal (schema ${current} > ${SCHEMA_VERSION})`);
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.postgres);
        await c.query('INSERT INTO schema_migrations (version, what) VALUES ($1, $2)', [m.version, m.what]);
        this.logger?.info({ version: m.version, what: m.what }, 'PostgreSQL schema migrated');
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Give the lease back at once so the other replicas take over without waiting for it to expire.
    await this.pool.query('DELETE FROM replicas WHERE id = $1', [this.replica]).catch(() => undefined);
    await this.leaseClient?.end().catch(() => undefined);
    await this.pool.end();
  }

  async health(): Promise<HealthReport> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('SELECT 1'),
        new Promise((_r, reject) => { timer = setTimeout(() => reject(new Error('no answer within 2s')), 2000); }),
      ]);
      return { ok: true, store: 'postgres', detail: redact(this.opts.url) };
    } catch (err) {
      return { ok: false, store: 'postgres', detail: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `fn` in a transaction, retried on serialization failure or deadlock. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      let broken = false;
      try {
        await c.query('BEGIN');
        const result = await fn(c);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => { broken = true; });
        if (retryable(err) && attempt < 5) continue;
        throw err;
      } finally {
        c.release(broken);
      }
    }
  }

  private async auditInsert(db: Db, e: AuditEvent, ts?: number): Promise<void> {
    await db.query('INSERT INTO audit (ts, event, incident_id, fingerprint, service, action, target, reason, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)', [
      ts ?? Date.now() / 1000, e.event, e.incidentId ?? null, e.fingerprint ?? null, e.service ?? null, e.action ?? null, e.target ?? null, e.reason ?? null,
      e.detail === undefined ? null : JSON.stringify(e.detail),
    ]);
  }

  private async incidentUpdate(db: Db, id: number, u: IncidentUpdate, now = Date.now() / 1000): Promise<void> {
    await db.query(`UPDATE incidents SET phase = $2, result = $3, reason = $4, rule = COALESCE($5, rule), target = COALESCE($6, target), step = COALESCE($7, step),
      deferred_until = $9, defer_deadline = $10, updated_at = $8 WHERE id = $1`,
    [id, u.phase, u.result ?? null, u.reason ?? null, u.rule ?? null, u.target ?? null, u.step ?? null, now, u.deferredUntil ?? null, u.deferDeadline ?? null]);
  }

  private async actionInsert(db: Db, a: NewAction): Promise<number> {
    const { rows } = await db.query<{ id: number }>(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, reason, detail, started_at, finished_at, cooldown_until)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`, [
      a.incident_id, a.service, a.action, a.target, a.rule, a.step, a.status, a.reason ?? null, a.detail === undefined ? null : JSON.stringify(a.detail),
      a.started_at, a.finished_at ?? null, a.cooldown_until ?? null,
    ]);
    return rows[0]?.id ?? 0;
  }

  async ingest(batches: readonly (readonly ReceivedAlert[])[], decide?: IngestDecider): Promise<IngestOutcome[][]> {
    // Written in key order: two replicas ingesting the same alerts lock the same rows in the same order,
    // so they wait for each other instead of deadlocking.
    const flat = batches.flatMap((alerts, b) => alerts.map((alert, i) => ({ alert, b, i })));
    flat.sort((x, y) => (x.alert.key < y.alert.key ? -1 : x.alert.key > y.alert.key ? 1 : 0));
    const results: IngestOutcome[][] = batches.map((alerts) => new Array<IngestOutcome>(alerts.length));
    await this.tx(async (c) => {
      const now = Date.now() / 1000;
      for (const { alert, b, i } of flat) {
        const outcome = await this.ingestOne(c, alert, now);
        if (outcome.kind === 'new' && decide) {
          const decided = decide(alert, outcome.incidentId);
          if (decided) {
            await this.applyDecision(c, outcome.incidentId, decided, now);
            outcome.decided = decided;
          }
        }
        const row = results[b];
        if (row) row[i] = outcome;
      }
    });
    return results;
  }

  /** The writes of a decision made at ingest, in ONE statement (one round trip per alert, not five). */
  private async applyDecision(c: pg.PoolClient, incidentId: number, d: ImmediateDecision, now: number): Promise<void> {
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

  private async ingestOne(c: pg.PoolClient, alert: ReceivedAlert, now: number): Promise<IngestOutcome> {
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
      [alert.key, alert.fingerprint, alert.startsAt, service, alert.labels.alertname ?? null, labels, annotations, now, this.replica,
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
    const endsAt = alert.endsAt && !alert.endsAt.startsWith('0001-') ? new Date(alert.endsAt).toISOString() : new Date(now * 1000).toISOString();
    const closed = await c.query<{ id: number }>(`INSERT INTO incidents (key, fingerprint, starts_at, service, alertname, labels, annotations, phase, result, received_at, updated_at, resolved_at, owner)
      VALUES ($1,$2,$3,$4,$5,$6,$7,'done','resolved',$8,$8,$9,$10) ON CONFLICT (key) DO NOTHING RETURNING id`,
    [alert.key, alert.fingerprint, alert.startsAt, service, alert.labels.alertname ?? null, labels, annotations, now, endsAt, this.replica]);
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
      recovery = Math.max(0, (Date.parse(endsAt) - Date.parse(alert.startsAt)) / 1000);
      await c.query('UPDATE incidents SET resolved_at = $2, recovery_seconds = $3, updated_at = $4, notifications = notifications + 1 WHERE id = $1', [incidentId, endsAt, recovery, now]);
    }
    await this.auditInsert(c, { event: 'resolved', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, reason: closed.rows[0] ? 'resolved notification for an alert never seen firing' : undefined, detail: { endsAt, recoverySeconds: recovery } }, now);
    return { kind: 'resolved', incidentId, recoverySeconds: recovery, service, alert };
  }

  async incident(id: number): Promise<IncidentRow | undefined> {
    return (await this.pool.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1', [id])).rows[0];
  }

  /** Live replicas: lease renewed within `lease` seconds (database clock). */
  private live(param: string): string {
    return `SELECT id FROM replicas WHERE heartbeat_at > ${DB_NOW} - ${param}`;
  }

  async claimIncident(id: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE incidents SET owner = $2 WHERE id = $1 AND phase != 'done'
      AND (owner IS NULL OR owner = $2 OR owner NOT IN (${this.live('$3')}))`, [id, this.replica, this.lease]);
    return (rowCount ?? 0) > 0;
  }

  async takeOver(): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>(`UPDATE incidents SET owner = $1 WHERE phase != 'done'
      AND (owner IS NULL OR owner NOT IN (${this.live('$2')})) AND (owner IS NULL OR owner != $1) RETURNING id`, [this.replica, this.lease]);
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  private async leaseConnection(): Promise<pg.Client> {
    if (this.leaseClient) return this.leaseClient;
    const c = new pg.Client({
      connectionString: this.opts.url,
      ...(this.opts.passwordFile ? { password: async () => (await readFile(this.opts.passwordFile ?? '', 'utf8')).trim() } : {}),
      connectionTimeoutMillis: this.opts.connectTimeout * 1000,
      application_name: `selfheal-webhook lease ${this.replica}`.slice(0, 63),
    });
    // A broken lease connection is replaced at the next renewal.
    c.on('error', () => { if (this.leaseClient === c) this.leaseClient = undefined; });
    c.on('end', () => { if (this.leaseClient === c) this.leaseClient = undefined; });
    await c.connect();
    this.leaseClient = c;
    return c;
  }

  async heartbeat(): Promise<void> {
    const c = await this.leaseConnection();
    await c.query(`INSERT INTO replicas (id, started_at, heartbeat_at) VALUES ($1, ${DB_NOW}, ${DB_NOW})
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, [this.replica]);
    // Forget replicas gone for a day (their incidents were taken over long ago).
    await c.query(`DELETE FROM replicas WHERE heartbeat_at < ${DB_NOW} - 86400`);
  }

  async updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): Promise<void> {
    if (!event) return this.incidentUpdate(this.pool, id, u);
    await this.tx(async (c) => {
      await this.incidentUpdate(c, id, u);
      await this.auditInsert(c, event);
    });
  }

  async audit(e: AuditEvent): Promise<void> {
    await this.auditInsert(this.pool, e);
  }

  recordStep(s: StepRecord): Promise<number> {
    return this.tx(async (c) => {
      if (s.announce) {
        await this.incidentUpdate(c, s.action.incident_id, s.announce.update);
        await this.auditInsert(c, s.announce.event);
      }
      const id = await this.actionInsert(c, s.action);
      await this.auditInsert(c, s.event);
      if (s.update) await this.incidentUpdate(c, s.action.incident_id, s.update);
      return id;
    });
  }

  claimAction(cl: ClaimRequest): Promise<ClaimResult> {
    const run = this.claims.then(() => this.claimInTx(cl));
    this.claims = run.catch(() => undefined);
    return run;
  }

  private claimInTx(cl: ClaimRequest): Promise<ClaimResult> {
    return this.tx(async (c): Promise<ClaimResult> => {
      // Row lock: claims from every replica queue here, so each sees the `started` rows of the ones before.
      await c.query(`SELECT value FROM settings WHERE key = 'guardrails-lock' FOR UPDATE`);
      const own = (await c.query<{ owner: string | null; phase: string }>('SELECT owner, phase FROM incidents WHERE id = $1 FOR UPDATE', [cl.incidentId])).rows[0];
      if (own?.owner && own.owner !== this.replica) return { ok: false, lost: true, reason: `incident now held by replica ${own.owner}` };
      if (own?.phase === 'done') return { ok: false, lost: true, reason: 'incident already finished' };
      // Each step of an incident runs at most once, whoever claims it (also a unique index, migration 3).
      const done = await c.query(`SELECT 1 FROM actions WHERE incident_id = $1 AND step = $2 AND status IN ${EXECUTED_SQL}`, [cl.incidentId, cl.action.step]);
      if ((done.rowCount ?? 0) > 0) return { ok: false, lost: true, reason: `step ${cl.action.step} of this incident already ran` };
      const snapshot = await this.guardSnapshot(c, cl);
      const blocked = cl.check(snapshot);
      if (blocked) return { ok: false, ...blocked };
      if (cl.announce) {
        await this.incidentUpdate(c, cl.incidentId, cl.announce.update);
        await this.auditInsert(c, cl.announce.event);
      }
      await this.incidentUpdate(c, cl.incidentId, cl.update);
      const actionId = await this.actionInsert(c, cl.action);
      await this.auditInsert(c, cl.event);
      return { ok: true, actionId };
    });
  }

  private async guardSnapshot(c: pg.PoolClient, cl: ClaimRequest): Promise<GuardSnapshot> {
    const { rows } = await c.query<{ pause: string | null; until: number | null; in_flight: number; per_target: number[]; global: number[] }>(`SELECT
        (SELECT value FROM settings WHERE key = 'pause') AS pause,
        (SELECT MAX(cooldown_until) FROM actions WHERE target = $1 AND incident_id != $2 AND cooldown_until > $3 AND status IN ${EXECUTED_SQL}) AS until,
        (SELECT COUNT(*)::int FROM actions WHERE status IN ('started','verifying')) AS in_flight,
        ARRAY(SELECT (SELECT COUNT(*)::int FROM actions WHERE target = $1 AND started_at > s.since AND status IN ${EXECUTED_SQL})
              FROM unnest($4::float8[]) WITH ORDINALITY AS s(since, n) ORDER BY s.n) AS per_target,
        ARRAY(SELECT (SELECT COUNT(*)::int FROM actions WHERE started_at > s.since AND status IN ${EXECUTED_SQL})
              FROM unnest($5::float8[]) WITH ORDINALITY AS s(since, n) ORDER BY s.n) AS global`,
    [cl.target, cl.incidentId, cl.now, cl.perTargetSince, cl.globalSince]);
    const r = rows[0];
    const pause = r?.pause ? (JSON.parse(r.pause) as { paused?: boolean; reason?: string }) : undefined;
    const perTarget = r?.per_target ?? [];
    const global = r?.global ?? [];
    // A window at its max lifts when its (n - max + 1)th oldest action leaves it (rare: only read when at a limit).
    const liftsAt = async (counts: number[], since: number[], max: number[], target: string | undefined): Promise<(number | undefined)[]> => {
      const out: (number | undefined)[] = [];
      for (const [i, n] of counts.entries()) {
        const m = max[i];
        const s = since[i];
        if (m === undefined || s === undefined || m <= 0 || n < m) { out.push(undefined); continue; }
        const { rows: nth } = await c.query<{ started_at: number }>(`SELECT started_at FROM actions WHERE ($1::text IS NULL OR target = $1) AND started_at > $2
          AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET $3`, [target ?? null, s, n - m]);
        out.push(nth[0] === undefined ? undefined : nth[0].started_at + (cl.now - s));
      }
      return out;
    };
    return {
      paused: pause?.paused ? (pause.reason ?? 'api') : undefined,
      cooldownUntil: r?.until ?? undefined,
      perTarget,
      global,
      perTargetLiftsAt: await liftsAt(perTarget, cl.perTargetSince, cl.perTargetMax, cl.target),
      globalLiftsAt: await liftsAt(global, cl.globalSince, cl.globalMax, undefined),
      inFlight: r?.in_flight ?? 0,
    };
  }

  async finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }): Promise<void> {
    await this.tx(async (c) => {
      const { rows } = await c.query<{ incident_id: number }>('UPDATE actions SET status = $2, reason = $3, detail = COALESCE($4, detail), finished_at = $5 WHERE id = $1 RETURNING incident_id',
        [id, status, reason, detail === undefined ? null : JSON.stringify(detail), Date.now() / 1000]);
      await this.auditInsert(c, event);
      const incidentId = event.incidentId ?? rows[0]?.incident_id;
      if (update && incidentId !== undefined) {
        await this.incidentUpdate(c, incidentId, update);
        if (update.event) await this.auditInsert(c, update.event);
      }
    });
  }

  async markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): Promise<boolean> {
    return this.tx(async (c) => {
      const { rowCount } = await c.query(`UPDATE actions SET status = 'verifying' WHERE id = $1 AND status = 'started'`, [actionId]);
      if ((rowCount ?? 0) === 0) return false;
      if (event) await this.auditInsert(c, event);
      await this.incidentUpdate(c, incidentId, { phase: 'verifying', step });
      return true;
    });
  }

  async lastAction(incidentId: number): Promise<ActionRow | undefined> {
    return (await this.pool.query<ActionRow>('SELECT * FROM actions WHERE incident_id = $1 ORDER BY id DESC LIMIT 1', [incidentId])).rows[0];
  }

  async openAction(incidentId: number): Promise<ActionRow | undefined> {
    return (await this.pool.query<ActionRow>(`SELECT * FROM actions WHERE incident_id = $1 AND status IN ('started','verifying') ORDER BY id DESC LIMIT 1`, [incidentId])).rows[0];
  }

  async actionsOf(incidentId: number): Promise<ActionRow[]> {
    return (await this.pool.query<ActionRow>('SELECT * FROM actions WHERE incident_id = $1 ORDER BY id', [incidentId])).rows;
  }

  async deferred(): Promise<number> {
    return (await this.pool.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM incidents WHERE phase = 'deferred'`)).rows[0]?.n ?? 0;
  }

  async inFlight(): Promise<number> {
    return (await this.pool.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM actions WHERE status IN ('started','verifying')`)).rows[0]?.n ?? 0;
  }

  async activeCooldowns(now = Date.now() / 1000): Promise<{ service: string; action: string; until: number }[]> {
    return (await this.pool.query<{ service: string; action: string; until: number }>(
      `SELECT service, action, MAX(cooldown_until) AS until FROM actions WHERE cooldown_until > $1 AND status IN ${EXECUTED_SQL} GROUP BY service, action`, [now])).rows;
  }

  async lastActionTimes(): Promise<{ service: string; action: string; outcome: string; ts: number }[]> {
    return (await this.pool.query<{ service: string; action: string; outcome: string; ts: number }>(
      `SELECT service, action, status AS outcome, MAX(COALESCE(finished_at, started_at)) AS ts FROM actions
       WHERE status IN ('succeeded','failed','unknown','dry_run','skipped','deferred') GROUP BY service, action, status`)).rows;
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])).rows[0]?.value;
  }

  async putSetting(key: string, value: string, event?: AuditEvent): Promise<void> {
    await this.tx(async (c) => {
      await c.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
      if (event) await this.auditInsert(c, event);
    });
  }

  private async list<T extends pg.QueryResultRow>(table: string, order: string, where: [string, unknown][], limit: number): Promise<T[]> {
    const args = where.map(([, v]) => v);
    const clause = where.map(([sql], i) => sql.replace('?', `$${i + 1}`)).join(' AND ');
    return (await this.pool.query<T>(`SELECT * FROM ${table} ${clause ? `WHERE ${clause}` : ''} ORDER BY ${order} LIMIT $${args.length + 1}`, [...args, limit])).rows;
  }

  listActions(q: { service?: string; since?: number; limit?: number }): Promise<ActionRow[]> {
    const where: [string, unknown][] = [];
    if (q.service) where.push(['service = ?', q.service]);
    if (q.since !== undefined) where.push(['started_at >= ?', q.since]);
    return this.list<ActionRow>('actions', 'id DESC', where, Math.min(q.limit ?? 500, 5000));
  }

  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): Promise<IncidentRow[]> {
    const where: [string, unknown][] = [];
    if (q.service) where.push(['service = ?', q.service]);
    if (q.since !== undefined) where.push(['received_at >= ?', q.since]);
    if (q.state === 'open') where.push(['resolved_at IS NULL AND ? = 1', 1]);
    if (q.state === 'resolved') where.push(['resolved_at IS NOT NULL AND ? = 1', 1]);
    return this.list<IncidentRow>('incidents', 'id DESC', where, Math.min(q.limit ?? 500, 5000));
  }

  listAudit(q: { incidentId?: number; since?: number; limit?: number }): Promise<AuditRow[]> {
    const where: [string, unknown][] = [];
    if (q.incidentId !== undefined) where.push(['incident_id = ?', q.incidentId]);
    if (q.since !== undefined) where.push(['ts >= ?', q.since]);
    return this.list<AuditRow>('audit', 'id DESC', where, Math.min(q.limit ?? 1000, 10000));
  }

  prune(olderThanSeconds: number): Promise<number> {
    const cutoff = Date.now() / 1000 - olderThanSeconds;
    return this.tx(async (c) => {
      await c.query('DELETE FROM audit WHERE ts < $1', [cutoff]);
      await c.query(`DELETE FROM actions WHERE started_at < $1 AND incident_id IN (SELECT id FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < $1)`, [cutoff]);
      const r = await c.query(`DELETE FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < $1 AND id NOT IN (SELECT incident_id FROM actions)`, [cutoff]);
      return r.rowCount ?? 0;
    });
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
