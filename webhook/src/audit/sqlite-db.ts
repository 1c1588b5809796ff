// Durable state in SQLite via better-sqlite3: maintained, synchronous (a transaction commits before the
// webhook answers, with no callback interleaving), WAL for concurrent readers, prepared statements. The
// transactions are the shared scripts of transactions.ts, run here synchronously; the SQL that both databases
// run as written is in sql.ts.
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { ActionStatus } from '@selfheal/contracts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { actionArgs, auditArgs, EXECUTED_SQL, finishArgs, incidentUpdateArgs, listQuery, pausedBy, recoverySeconds, resolvedAt, SQL, windowsAtLimit } from './sql.js';
import { listRevertsQuery, REVERT_SQL, revertArgs, transitionQuery } from './revert-sql.js';
import * as tx from './transactions.js';
import type {
  ActionRow, ArmRevert, AuditEvent, AuditRow, ClaimRequest, ClaimResult, GuardQuery, GuardSnapshot, ImmediateDecision, IncidentRow, IncidentUpdate, IngestDecider,
  IngestOutcome, RevertClaim, RevertRow, RevertTransition, StepRecord, StoredAlert,
} from './types.js';

export interface StoreOptions {
  path: string;
  synchronous?: 'full' | 'normal';
  now?: () => number;
}

export class HealingStore {
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly durableMode: 'FULL' | 'NORMAL';
  private readonly walPath: string | undefined;
  private wal: FileHandle | undefined;
  private syncing: Promise<void> | undefined;
  private syncQueued: Promise<void> | undefined;
  private readonly stmts: ReturnType<typeof prepareStatements>;
  private readonly ops: tx.SyncOps;
  /** One transaction wrapper, reused: better-sqlite3 builds BEGIN/COMMIT statements per wrapper. */
  private readonly runTx: Database.Transaction<(fn: () => unknown) => unknown>;

  constructor(opts: StoreOptions) {
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // Durability where it matters: commits that acknowledge alerts or precede an action are synced (FULL);
    // bookkeeping between them runs at NORMAL (WAL: safe against a process crash, synced by the next FULL
    // commit). Anything lost to a power cut there is re-derived: unfinished incidents are decided again.
    this.durableMode = opts.synchronous === 'normal' ? 'NORMAL' : 'FULL';
    this.db.pragma('synchronous = NORMAL');
    this.walPath = opts.path === ':memory:' ? undefined : `${this.db.name}-wal`;
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`the database ${opts.path} was written by a newer selfheal (schema ${version} > ${SCHEMA_VERSION})`);
    // Versioned migrations (migrations.ts), each in its own transaction with its version number.
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      this.db.transaction(() => {
        this.db.exec(m.sqlite);
        this.db.pragma(`user_version = ${m.version}`);
      })();
    }
    const db = this.db;
    this.runTx = db.transaction((fn: () => unknown) => fn());
    this.stmts = prepareStatements(db);
    const stmts = this.stmts;
    // The ops of the shared transactions (transactions.ts), in SQLite.
    this.ops = {
      updateIncident: (id, u) => { stmts.updateIncident.run(...incidentUpdateArgs(id, u, this.now())); },
      audit: (e) => { stmts.audit.run(...auditArgs(e, this.now())); },
      insertAction: (a) => stmts.insertAction.get(...actionArgs(a))?.id ?? 0,
      finishAction: (id, status, reason, detail) => stmts.finishAction.get(...finishArgs(id, status, reason, detail, this.now()))?.incident_id,
      startedToVerifying: (actionId, detail) => stmts.startedToVerifying.run(detail === undefined ? null : JSON.stringify(detail), actionId).changes > 0,
      putSetting: (key, value) => { stmts.putSetting.run(key, value); },
      // One process owns the file: nobody else can hold the incident, and the unique index keeps a step once.
      claimConflict: () => undefined,
      guardSnapshot: (c) => this.guardSnapshot(c),
      ingestAlert: (alert, now) => this.ingestOne(alert, now),
      applyDecision: (incidentId, d, now) => this.applyDecision(incidentId, d, now),
      // One process owns the file: no other replica can hold a revert.
      insertRevert: (r) => stmts.insertRevert.get(...revertArgs(r, null))?.id ?? 0,
      transitionRevert: (t) => {
        const { sql, args } = transitionQuery(t, this.now(), null);
        return db.prepare(sql).run(...args).changes > 0;
      },
      revertClaimConflict: (id) => {
        const status = stmts.revertById.get(id)?.status;
        return status === 'waiting' ? undefined : `the revert is ${status ?? 'gone'}`;
      },
      revertsInFlight: () => stmts.revertsInFlight.get()?.n ?? 0,
      prune: (cutoff) => {
        stmts.pruneReverts.run(cutoff);
        const [audit, actions, incidents] = stmts.prune;
        audit?.run(cutoff);
        actions?.run(cutoff, cutoff);
        return incidents?.run(cutoff).changes ?? 0;
      },
    };
  }

  close(): void {
    void this.wal?.close().catch(() => undefined);
    this.wal = undefined;
    if (this.db.open) this.db.close();
  }

  /** Runs a shared transaction's script (transactions.ts) in one transaction (nested: a savepoint). */
  private run<T>(script: tx.Script<T>): T {
    return this.tx(() => tx.runSync(script, this.ops));
  }

  audit(e: AuditEvent): void {
    this.ops.audit(e);
  }

  /** Runs `fn` in one transaction (nested calls become savepoints): one commit for several writes. */
  tx<T>(fn: () => T): T {
    return this.runTx(fn) as T;
  }

  /** Runs `fn` in a transaction that is synced to disk before it returns (when durability is on). */
  durably<T>(fn: () => T): T {
    if (this.db.inTransaction) throw new Error('durably() called inside a transaction: the commit would not be durable on its own');
    if (this.durableMode === 'NORMAL') return this.runTx.immediate(fn) as T;
    this.db.pragma('synchronous = FULL');
    try {
      return this.runTx.immediate(fn) as T;
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * Makes every commit so far durable: fdatasync of the WAL in libuv's thread pool, so the event loop keeps
   * parsing requests meanwhile, and commits that land during one sync share the next (group commit).
   * This is what synchronous=FULL does after each commit, without blocking the event loop on the disk.
   */
  flushToDisk(): Promise<void> {
    if (this.durableMode === 'NORMAL' || !this.walPath) return Promise.resolve();
    if (!this.syncing) {
      this.syncing = this.syncWal().finally(() => { this.syncing = undefined; });
      return this.syncing;
    }
    // A sync is running but may have started before our commit: share exactly one follow-up.
    this.syncQueued ??= this.syncing.then(() => {
      this.syncQueued = undefined;
      return this.flushToDisk();
    });
    return this.syncQueued;
  }

  private async syncWal(): Promise<void> {
    this.wal ??= await open(this.walPath ?? '', 'r');
    await this.wal.datasync();
  }

  /**
   * Records a batch of alerts (possibly from several HTTP requests) in ONE transaction, so a single fsync
   * covers them all. Returns, per request, what each alert did. Throws if the commit fails (caller answers 5xx).
   */
  ingest(batches: readonly (readonly StoredAlert[])[], decide?: IngestDecider): IngestOutcome[][] {
    const now = this.now();
    // Committed here; durable once flushToDisk() resolves (the caller acknowledges after that).
    return this.runTx.immediate(() => tx.runSync(tx.ingest(batches, decide, now, false), this.ops)) as IngestOutcome[][];
  }

  /** The writes of a decision made at ingest (no rule, skipped, dry run), in the ingest transaction. */
  private applyDecision(incidentId: number, d: ImmediateDecision, now: number): void {
    for (const e of d.events) this.stmts.audit.run(...auditArgs(e, now));
    if (d.action) {
      this.stmts.insertAction.get(...actionArgs(d.action.row));
      this.stmts.audit.run(...auditArgs(d.action.event, now));
    }
    this.stmts.updateIncident.run(...incidentUpdateArgs(incidentId, d.incident, now));
    if (d.incident.event) this.stmts.audit.run(...auditArgs(d.incident.event, now));
  }

  private ingestOne(alert: StoredAlert, now: number): IngestOutcome {
    const service = alert.labels.service ?? null;
    if (alert.status === 'firing') {
      // Insert first: a new occurrence (the common case) costs no lookup; the unique key makes a repeat a no-op.
      const info = this.stmts.insertIncident.run({
        key: alert.key, fingerprint: alert.fingerprint, starts_at: alert.startsAt, service, alertname: alert.labels.alertname ?? null,
        labels: JSON.stringify(alert.labels), annotations: JSON.stringify(alert.annotations), phase: 'pending', result: null, now, resolved_at: null,
      });
      if (info.changes > 0) {
        const incidentId = Number(info.lastInsertRowid);
        this.stmts.audit.run(...auditArgs({ event: 'received', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, detail: { status: 'firing', labels: alert.labels, startsAt: alert.startsAt } }, now));
        return { kind: 'new', incidentId, alert };
      }
      const existing = this.stmts.incidentByKey.get(alert.key);
      if (!existing) throw new Error(`incident ${alert.key} vanished during ingest`);
      this.stmts.bumpNotifications.run(existing.id);
      return existing.resolved_at ? { kind: 'already_resolved', incidentId: existing.id } : { kind: 'duplicate', incidentId: existing.id, pending: existing.phase === 'pending' };
    }
    const existing = this.stmts.incidentByKey.get(alert.key);
    // Resolved: never starts an action. Closes the incident (creating a closed one if we never saw it fire,
    // so a late firing notification for the same occurrence cannot start one either).
    const endsAt = resolvedAt(alert, now);
    if (existing?.resolved_at) {
      this.stmts.bumpNotifications.run(existing.id);
      return { kind: 'already_resolved', incidentId: existing.id };
    }
    let incidentId: number;
    let recovery: number | null = null;
    if (existing) {
      incidentId = existing.id;
      recovery = recoverySeconds(alert, endsAt);
      this.stmts.resolve.run({ id: incidentId, resolved_at: endsAt, recovery, now });
    } else {
      const info = this.stmts.insertIncident.run({
        key: alert.key, fingerprint: alert.fingerprint, starts_at: alert.startsAt, service, alertname: alert.labels.alertname ?? null,
        labels: JSON.stringify(alert.labels), annotations: JSON.stringify(alert.annotations), phase: 'done', result: 'resolved', now, resolved_at: endsAt,
      });
      incidentId = Number(info.lastInsertRowid);
    }
    this.stmts.audit.run(...auditArgs({ event: 'resolved', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, reason: existing ? undefined : 'resolved notification for an alert never seen firing', detail: { endsAt, recoverySeconds: recovery } }, now));
    return { kind: 'resolved', incidentId, recoverySeconds: recovery, service, alert };
  }

  incident(id: number): IncidentRow | undefined {
    return this.stmts.incidentById.get(id);
  }

  incidentByKey(key: string): IncidentRow | undefined {
    return this.stmts.incidentByKey.get(key);
  }

  updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): void {
    this.run(tx.updateIncident(id, u, event));
  }

  finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }, revert?: ArmRevert): void {
    // Durable when it arms a revert: the fix's revert must not be lost to a power cut once its success is recorded.
    if (revert) this.durably(() => tx.runSync(tx.finishAction(id, status, reason, detail, event, update, revert), this.ops));
    else this.run(tx.finishAction(id, status, reason, detail, event, update));
  }

  openReverts(): RevertRow[] {
    return this.stmts.openReverts.all();
  }

  revert(id: number): RevertRow | undefined {
    return this.stmts.revertById.get(id);
  }

  /** The guardrails read and checked and the revert claimed, in one durable transaction (like claimAction). */
  claimRevert(c: RevertClaim): ClaimResult {
    return this.durably(() => tx.runSync(tx.claimRevert(c), this.ops));
  }

  /** Durable: a revert's `started` and `reapplying` rows are what stop it from running twice after a crash. */
  transitionRevert(t: RevertTransition): boolean {
    return this.durably(() => tx.runSync(tx.transitionRevert(t), this.ops));
  }

  unrevertedFixes(): { action: string; n: number }[] {
    return this.stmts.unreverted.all();
  }

  listReverts(q: { service?: string; since?: number; limit?: number }): RevertRow[] {
    const { sql, args } = listRevertsQuery(q);
    return this.db.prepare<(string | number)[], RevertRow>(sql).all(...args);
  }

  /** One transaction: an action row (skipped, dry run, ...) with its audit event and the incident's new state. */
  recordStep(s: StepRecord): number {
    return this.run(tx.recordStep(s));
  }

  /** The guardrails' inputs, read in the caller's transaction. */
  guardSnapshot(c: GuardQuery): GuardSnapshot {
    const perTarget = c.perTargetSince.map((since) => this.stmts.countTarget.get(c.target, since)?.n ?? 0);
    const global = c.globalSince.map((since) => this.stmts.countAll.get(since)?.n ?? 0);
    // A window at its max lifts when its (n - max + 1)th oldest action leaves it: that action's start + the window.
    const liftsAt = (counts: number[], since: number[], max: number[], nth: (since: number, offset: number) => number | undefined) =>
      windowsAtLimit(counts, since, max).map((w) => {
        const start = w && nth(w.since, w.offset);
        return w === undefined || start === undefined ? undefined : start + (c.now - w.since);
      });
    return {
      paused: pausedBy(this.getSetting('pause')),
      cooldownUntil: this.cooldownUntil(c.target, c.incidentId, c.now),
      perTarget,
      global,
      perTargetLiftsAt: liftsAt(perTarget, c.perTargetSince, c.perTargetMax, (since, offset) => this.stmts.nthTarget.get(c.target, since, offset)?.started_at),
      globalLiftsAt: liftsAt(global, c.globalSince, c.globalMax, (since, offset) => this.stmts.nthAll.get(since, offset)?.started_at),
      inFlight: this.inFlight(),
    };
  }

  /**
   * Checks the guardrails and records `started` in one durable (synced) transaction: no other write can come
   * between the check and the insert, so two incidents cannot both pass a limit of one.
   */
  claimAction(c: ClaimRequest): ClaimResult {
    return this.durably(() => tx.runSync(tx.claimAction(c), this.ops));
  }

  /** The action's result was observed: `started` -> `verifying`, with its audit event. False if it was not `started`. */
  markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): boolean {
    return this.run(tx.markVerifying(actionId, incidentId, step, event));
  }

  deferred(): number {
    return this.stmts.deferred.get()?.n ?? 0;
  }

  actionsOf(incidentId: number): ActionRow[] {
    return this.stmts.actionsOf.all(incidentId);
  }

  lastAction(incidentId: number): ActionRow | undefined {
    return this.stmts.lastAction.get(incidentId);
  }

  openAction(incidentId: number): ActionRow | undefined {
    return this.stmts.openAction.get(incidentId);
  }

  inFlight(): number {
    return this.stmts.inFlight.get()?.n ?? 0;
  }

  /** End of the cooldown left on `target` by other incidents' actions, if any. */
  cooldownUntil(target: string, incidentId: number, now = this.now()): number | undefined {
    return this.stmts.cooldown.get(target, incidentId, now)?.until ?? undefined;
  }

  activeCooldowns(now = this.now()): { service: string; action: string; until: number }[] {
    return this.stmts.cooldowns.all(now);
  }

  unfinishedIncidents(): IncidentRow[] {
    return this.stmts.unfinished.all();
  }

  lastActionTimes(): { service: string; action: string; outcome: string; ts: number }[] {
    return this.stmts.lastActions.all();
  }

  getSetting(key: string): string | undefined {
    return this.stmts.getSetting.get(key)?.value;
  }

  putSetting(key: string, value: string, event?: AuditEvent): void {
    this.durably(() => tx.runSync(tx.putSetting(key, value, event), this.ops));
  }

  listActions(q: { service?: string; since?: number; limit?: number }): ActionRow[] {
    const { sql, args } = listQuery({ table: 'actions', ...q });
    return this.db.prepare<(string | number)[], ActionRow>(sql).all(...args);
  }

  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): IncidentRow[] {
    const { sql, args } = listQuery({ table: 'incidents', ...q });
    return this.db.prepare<(string | number)[], IncidentRow>(sql).all(...args);
  }

  listAudit(q: { incidentId?: number; since?: number; limit?: number }): AuditRow[] {
    const { sql, args } = listQuery({ table: 'audit', ...q });
    return this.db.prepare<(string | number)[], AuditRow>(sql).all(...args);
  }

  /** Drops closed incidents, their actions and audit rows older than the retention. */
  prune(olderThanSeconds: number): number {
    return this.run(tx.prune(this.now() - olderThanSeconds));
  }
}

/** Every statement of the SQLite store, prepared once. */
function prepareStatements(db: Database.Database) {
return {
    insertIncident: db.prepare(`INSERT INTO incidents (key, fingerprint, starts_at, service, alertname, labels, annotations, phase, result, received_at, updated_at, resolved_at)
      VALUES (@key, @fingerprint, @starts_at, @service, @alertname, @labels, @annotations, @phase, @result, @now, @now, @resolved_at) ON CONFLICT(key) DO NOTHING`),
    incidentByKey: db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE key = ?'),
    incidentById: db.prepare<[number], IncidentRow>(SQL.incidentById),
    bumpNotifications: db.prepare('UPDATE incidents SET notifications = notifications + 1 WHERE id = ?'),
    resolve: db.prepare('UPDATE incidents SET resolved_at = @resolved_at, recovery_seconds = @recovery, updated_at = @now, notifications = notifications + 1 WHERE id = @id'),
    audit: db.prepare(SQL.insertAudit),
    updateIncident: db.prepare(SQL.updateIncident),
    insertAction: db.prepare<unknown[], { id: number }>(SQL.insertAction),
    finishAction: db.prepare<unknown[], { incident_id: number }>(SQL.finishAction),
    setActionStatus: db.prepare('UPDATE actions SET status = @status WHERE id = @id'),
    startedToVerifying: db.prepare(SQL.startedToVerifying),
    deferred: db.prepare<[], { n: number }>(SQL.deferred),
    nthTarget: db.prepare<[string, number, number], { started_at: number }>(`SELECT started_at FROM actions WHERE target = ? AND started_at > ? AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET ?`),
    nthAll: db.prepare<[number, number], { started_at: number }>(`SELECT started_at FROM actions WHERE started_at > ? AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET ?`),
    countTarget: db.prepare<[string, number], { n: number }>(`SELECT COUNT(*) AS n FROM actions WHERE target = ? AND started_at > ? AND status IN ${EXECUTED_SQL}`),
    countAll: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM actions WHERE started_at > ? AND status IN ${EXECUTED_SQL}`),
    inFlight: db.prepare<[], { n: number }>(SQL.inFlight),
    cooldown: db.prepare<[string, number, number], { until: number | null }>(`SELECT MAX(cooldown_until) AS until FROM actions WHERE target = ? AND incident_id != ? AND cooldown_until > ? AND status IN ${EXECUTED_SQL}`),
    cooldowns: db.prepare<[number], { service: string; action: string; until: number }>(SQL.cooldowns),
    unfinished: db.prepare<[], IncidentRow>(`SELECT * FROM incidents WHERE phase != 'done' ORDER BY id`),
    actionsOf: db.prepare<[number], ActionRow>(SQL.actionsOf),
    lastAction: db.prepare<[number], ActionRow>(SQL.lastAction),
    openAction: db.prepare<[number], ActionRow>(SQL.openAction),
    lastActions: db.prepare<[], { service: string; action: string; outcome: string; ts: number }>(SQL.lastActionTimes),
    getSetting: db.prepare<[string], { value: string }>(SQL.getSetting),
    putSetting: db.prepare(SQL.putSetting),
    prune: SQL.prune.map((sql) => db.prepare(sql)),
    insertRevert: db.prepare<unknown[], { id: number }>(REVERT_SQL.insert),
    revertById: db.prepare<[number], RevertRow>(REVERT_SQL.byId),
    openReverts: db.prepare<[], RevertRow>(REVERT_SQL.open),
    revertsInFlight: db.prepare<[], { n: number }>(REVERT_SQL.inFlight),
    unreverted: db.prepare<[], { action: string; n: number }>(REVERT_SQL.unreverted),
    pruneReverts: db.prepare(REVERT_SQL.prune),
  };
}
