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
import type { ActionStatus } from '@selfheal/contracts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { applyDecision, ingestAlert } from './postgres-ingest.js';
import { actionArgs, auditArgs, EXECUTED_SQL, finishArgs, incidentUpdateArgs, listQuery, numbered, pausedBy, SQL, windowsAtLimit } from './sql.js';
import { listRevertsQuery, OPEN_REVERTS_SQL, REVERT_SQL, revertArgs, transitionQuery } from './revert-sql.js';
import * as tx from './transactions.js';
import type {
  ActionRow, ArmRevert, AuditEvent, AuditRow, ClaimRequest, ClaimResult, GuardQuery, GuardSnapshot, HealthReport, IncidentRow, IncidentUpdate, IngestDecider,
  IngestOutcome, RevertClaim, RevertRow, RevertTransition, StepRecord, Store, StoredAlert,
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
  /**
   * The clock of the times the store writes itself into rows (action and revert finishes, audit, incident updates,
   * ingest), as SQLite's: the engine's (tests inject one). Leases use the database's clock whatever this says.
   */
  now?: () => number;
}

type Db = pg.PoolClient | pg.Pool;

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
  private readonly now: () => number;

  constructor(private readonly opts: PostgresStoreOptions) {
    this.now = opts.now ?? (() => Date.now() / 1000);
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

  /** Runs `fn` in a transaction, retried on serialization failure or deadlock (also the approvals', approvals.ts). */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
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

  /** The ops of the shared transactions (transactions.ts), in PostgreSQL, on the transaction's connection. */
  private ops(c: pg.PoolClient): tx.AsyncOps {
    return {
      updateIncident: (id, u) => this.incidentUpdate(c, id, u),
      audit: (e) => this.auditInsert(c, e),
      insertAction: async (a) => (await c.query<{ id: number }>(numbered(SQL.insertAction), actionArgs(a))).rows[0]?.id ?? 0,
      finishAction: async (id, status, reason, detail) => (await c.query<{ incident_id: number }>(numbered(SQL.finishAction), finishArgs(id, status, reason, detail, this.now()))).rows[0]?.incident_id,
      startedToVerifying: async (actionId, detail) => ((await c.query(numbered(SQL.startedToVerifying), [detail === undefined ? null : JSON.stringify(detail), actionId])).rowCount ?? 0) > 0,
      putSetting: async (key, value) => { await c.query(numbered(SQL.putSetting), [key, value]); },
      claimConflict: (cl) => this.claimConflict(c, cl),
      guardSnapshot: (cl) => this.guardSnapshot(c, cl),
      ingestAlert: (alert, now) => ingestAlert(c, alert, now, this.replica),
      applyDecision: (incidentId, d, now) => applyDecision(c, incidentId, d, now),
      insertRevert: async (r) => (await c.query<{ id: number }>(numbered(REVERT_SQL.insert), revertArgs(r, this.replica))).rows[0]?.id ?? 0,
      transitionRevert: async (t) => {
        const { sql, args } = transitionQuery(t, this.now(), this.replica);
        return ((await c.query(numbered(sql), args)).rowCount ?? 0) > 0;
      },
      revertClaimConflict: (id) => this.revertClaimConflict(c, id),
      revertsInFlight: async () => (await c.query<{ n: number }>(numbered(REVERT_SQL.inFlight))).rows[0]?.n ?? 0,
      prune: async (cutoff) => {
        await c.query(numbered(REVERT_SQL.prune), [cutoff]);
        const [audit = '', actions = '', incidents = ''] = SQL.prune;
        await c.query(numbered(audit), [cutoff]);
        await c.query(numbered(actions), [cutoff, cutoff]);
        return (await c.query(numbered(incidents), [cutoff])).rowCount ?? 0;
      },
    };
  }

  /** Runs a shared transaction's script (transactions.ts) in one transaction. */
  private run<T>(script: () => tx.Script<T>): Promise<T> {
    return this.tx((c) => tx.runAsync(script(), this.ops(c)));
  }

  private async auditInsert(db: Db, e: AuditEvent, ts?: number): Promise<void> {
    await db.query(numbered(SQL.insertAudit), auditArgs(e, ts ?? this.now()));
  }

  private async incidentUpdate(db: Db, id: number, u: IncidentUpdate): Promise<void> {
    await db.query(numbered(SQL.updateIncident), incidentUpdateArgs(id, u, this.now()));
  }

  ingest(batches: readonly (readonly StoredAlert[])[], decide?: IngestDecider): Promise<IngestOutcome[][]> {
    return this.run(() => tx.ingest(batches, decide, this.now(), true));
  }

  async incident(id: number): Promise<IncidentRow | undefined> {
    return (await this.rows<IncidentRow>(SQL.incidentById, [id]))[0];
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
    // A single statement needs no transaction (and saves BEGIN and COMMIT round trips).
    if (!event) return this.incidentUpdate(this.pool, id, u);
    await this.run(() => tx.updateIncident(id, u, event));
  }

  async audit(e: AuditEvent): Promise<void> {
    await this.auditInsert(this.pool, e);
  }

  recordStep(s: StepRecord): Promise<number> {
    return this.run(() => tx.recordStep(s));
  }

  /** Claims from this process wait here, not on a pooled connection (the database serialises them anyway). */
  claimAction(cl: ClaimRequest): Promise<ClaimResult> {
    const run = this.claims.then(() => this.run(() => tx.claimAction(cl)));
    this.claims = run.catch(() => undefined);
    return run;
  }

  guardrails(q: GuardQuery): Promise<GuardSnapshot> {
    return this.tx((c) => this.guardSnapshot(c, q));
  }

  /** Inside the claim's transaction: serialises claims across replicas, then checks this replica may still act. */
  private async claimConflict(c: pg.PoolClient, cl: ClaimRequest): Promise<string | undefined> {
    // Row lock: claims from every replica queue here, so each sees the `started` rows of the ones before.
    await c.query(`SELECT value FROM settings WHERE key = 'guardrails-lock' FOR UPDATE`);
    const own = (await c.query<{ owner: string | null; phase: string }>('SELECT owner, phase FROM incidents WHERE id = $1 FOR UPDATE', [cl.incidentId])).rows[0];
    if (own?.owner && own.owner !== this.replica) return `incident now held by replica ${own.owner}`;
    if (own?.phase === 'done') return 'incident already finished';
    // Each step of an incident runs at most once, whoever claims it (also a unique index, migration 3).
    const done = await c.query(`SELECT 1 FROM actions WHERE incident_id = $1 AND step = $2 AND status IN ${EXECUTED_SQL}`, [cl.incidentId, cl.action.step]);
    if ((done.rowCount ?? 0) > 0) return `step ${cl.action.step} of this incident already ran`;
    return undefined;
  }

  /** Inside a revert's claim: serialised with every claim of every replica, then: still waiting, and still this replica's. */
  private async revertClaimConflict(c: pg.PoolClient, id: number): Promise<string | undefined> {
    await c.query(`SELECT value FROM settings WHERE key = 'guardrails-lock' FOR UPDATE`);
    const row = (await c.query<{ owner: string | null; status: string }>('SELECT owner, status FROM reverts WHERE id = $1 FOR UPDATE', [id])).rows[0];
    if (!row) return 'the revert is gone';
    if (row.owner && row.owner !== this.replica) return `revert now held by replica ${row.owner}`;
    if (row.status !== 'waiting') return `the revert is ${row.status}`;
    return undefined;
  }

  /** The guardrails' inputs in one round trip (the rate-limit windows as arrays). */
  private async guardSnapshot(c: pg.PoolClient, cl: GuardQuery): Promise<GuardSnapshot> {
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
    const perTarget = r?.per_target ?? [];
    const global = r?.global ?? [];
    // A window at its max lifts when its (n - max + 1)th oldest action leaves it (rare: only read when at a limit).
    const liftsAt = async (counts: number[], since: number[], max: number[], target: string | undefined): Promise<(number | undefined)[]> => {
      const out: (number | undefined)[] = [];
      for (const w of windowsAtLimit(counts, since, max)) {
        if (!w) { out.push(undefined); continue; }
        const { rows: nth } = await c.query<{ started_at: number }>(`SELECT started_at FROM actions WHERE ($1::text IS NULL OR target = $1) AND started_at > $2
          AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET $3`, [target ?? null, w.since, w.offset]);
        out.push(nth[0] === undefined ? undefined : nth[0].started_at + (cl.now - w.since));
      }
      return out;
    };
    return {
      paused: pausedBy(r?.pause),
      cooldownUntil: r?.until ?? undefined,
      perTarget,
      global,
      perTargetLiftsAt: await liftsAt(perTarget, cl.perTargetSince, cl.perTargetMax, cl.target),
      globalLiftsAt: await liftsAt(global, cl.globalSince, cl.globalMax, undefined),
      inFlight: r?.in_flight ?? 0,
    };
  }

  finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }, revert?: ArmRevert): Promise<void> {
    return this.run(() => tx.finishAction(id, status, reason, detail, event, update, revert));
  }

  /** Open reverts: this replica's, and those nobody holds or whose replica's lease ran out (taken over here). */
  async openReverts(): Promise<RevertRow[]> {
    const { rows } = await this.pool.query<RevertRow>(`UPDATE reverts SET owner = $1 WHERE status IN ${OPEN_REVERTS_SQL}
      AND (owner IS NULL OR owner = $1 OR owner NOT IN (${this.live('$2')})) RETURNING *`, [this.replica, this.lease]);
    return rows.sort((a, b) => a.id - b.id);
  }

  async revert(id: number): Promise<RevertRow | undefined> {
    return (await this.rows<RevertRow>(REVERT_SQL.byId, [id]))[0];
  }

  /** Waits with this process's action claims: the database serialises them all on the guardrails' row. */
  claimRevert(cl: RevertClaim): Promise<ClaimResult> {
    const run = this.claims.then(() => this.run(() => tx.claimRevert(cl)));
    this.claims = run.catch(() => undefined);
    return run;
  }

  transitionRevert(t: RevertTransition): Promise<boolean> {
    return this.run(() => tx.transitionRevert(t));
  }

  unrevertedFixes(): Promise<{ action: string; n: number }[]> {
    return this.rows(REVERT_SQL.unreverted);
  }

  listReverts(q: { service?: string; since?: number; limit?: number }): Promise<RevertRow[]> {
    const { sql, args } = listRevertsQuery(q);
    return this.rows<RevertRow>(sql, args);
  }

  markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): Promise<boolean> {
    return this.run(() => tx.markVerifying(actionId, incidentId, step, event));
  }

  private async rows<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(numbered(sql), args)).rows;
  }

  async lastAction(incidentId: number): Promise<ActionRow | undefined> {
    return (await this.rows<ActionRow>(SQL.lastAction, [incidentId]))[0];
  }

  async openAction(incidentId: number): Promise<ActionRow | undefined> {
    return (await this.rows<ActionRow>(SQL.openAction, [incidentId]))[0];
  }

  actionsOf(incidentId: number): Promise<ActionRow[]> {
    return this.rows<ActionRow>(SQL.actionsOf, [incidentId]);
  }

  async deferred(): Promise<number> {
    return (await this.rows<{ n: number }>(SQL.deferred))[0]?.n ?? 0;
  }

  async inFlight(): Promise<number> {
    return (await this.rows<{ n: number }>(SQL.inFlight))[0]?.n ?? 0;
  }

  activeCooldowns(now = Date.now() / 1000): Promise<{ service: string; action: string; until: number }[]> {
    return this.rows(SQL.cooldowns, [now]);
  }

  lastActionTimes(): Promise<{ service: string; action: string; outcome: string; ts: number }[]> {
    return this.rows(SQL.lastActionTimes);
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.rows<{ value: string }>(SQL.getSetting, [key]))[0]?.value;
  }

  putSetting(key: string, value: string, event?: AuditEvent): Promise<void> {
    return this.run(() => tx.putSetting(key, value, event));
  }

  listActions(q: { service?: string; since?: number; limit?: number }): Promise<ActionRow[]> {
    const { sql, args } = listQuery({ table: 'actions', ...q });
    return this.rows<ActionRow>(sql, args);
  }

  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): Promise<IncidentRow[]> {
    const { sql, args } = listQuery({ table: 'incidents', ...q });
    return this.rows<IncidentRow>(sql, args);
  }

  listAudit(q: { incidentId?: number; since?: number; limit?: number }): Promise<AuditRow[]> {
    const { sql, args } = listQuery({ table: 'audit', ...q });
    return this.rows<AuditRow>(sql, args);
  }

  prune(olderThanSeconds: number): Promise<number> {
    return this.run(() => tx.prune(Date.now() / 1000 - olderThanSeconds));
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
