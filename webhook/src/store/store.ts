// Durable state in SQLite via better-sqlite3: maintained, synchronous (a transaction commits before the
// webhook answers, with no callback interleaving), WAL for concurrent readers, prepared statements.
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { ReceivedAlert } from '@selfheal/contracts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { EXECUTED_STATUSES } from '@selfheal/contracts';
import type {
  ActionRow, ActionStatus, AuditEvent, AuditRow, ClaimRequest, ClaimResult, GuardSnapshot, ImmediateDecision, IncidentRow, IncidentUpdate,
  IngestDecider, IngestOutcome, NewAction, StepRecord,
} from './types.js';

export type { ActionRow, ActionStatus, AuditEvent, AuditRow, IncidentRow, IngestOutcome, Phase } from './types.js';

/** The executed statuses as an SQL list (the guardrails count these). */
const EXECUTED_SQL = `(${EXECUTED_STATUSES.map((st) => `'${st}'`).join(',')})`;

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
  private readonly stmts;
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
    this.stmts = {
      insertIncident: db.prepare(`INSERT INTO incidents (key, fingerprint, starts_at, service, alertname, labels, annotations, phase, result, received_at, updated_at, resolved_at)
        VALUES (@key, @fingerprint, @starts_at, @service, @alertname, @labels, @annotations, @phase, @result, @now, @now, @resolved_at) ON CONFLICT(key) DO NOTHING`),
      incidentByKey: db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE key = ?'),
      incidentById: db.prepare<[number], IncidentRow>('SELECT * FROM incidents WHERE id = ?'),
      bumpNotifications: db.prepare('UPDATE incidents SET notifications = notifications + 1 WHERE id = ?'),
      resolve: db.prepare('UPDATE incidents SET resolved_at = @resolved_at, recovery_seconds = @recovery, updated_at = @now, notifications = notifications + 1 WHERE id = @id'),
      audit: db.prepare(`INSERT INTO audit (ts, event, incident_id, fingerprint, service, action, target, reason, detail)
        VALUES (@ts, @event, @incident_id, @fingerprint, @service, @action, @target, @reason, @detail)`),
      updateIncident: db.prepare(`UPDATE incidents SET phase = @phase, result = @result, reason = @reason, rule = COALESCE(@rule, rule), target = COALESCE(@target, target),
        step = COALESCE(@step, step), deferred_until = @deferred_until, defer_deadline = @defer_deadline, updated_at = @now WHERE id = @id`),
      insertAction: db.prepare(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, reason, detail, started_at, finished_at, cooldown_until)
        VALUES (@incident_id, @service, @action, @target, @rule, @step, @status, @reason, @detail, @started_at, @finished_at, @cooldown_until)`),
      finishAction: db.prepare('UPDATE actions SET status = @status, reason = @reason, detail = COALESCE(@detail, detail), finished_at = @finished_at WHERE id = @id'),
      setActionStatus: db.prepare('UPDATE actions SET status = @status WHERE id = @id'),
      startedToVerifying: db.prepare(`UPDATE actions SET status = 'verifying' WHERE id = ? AND status = 'started'`),
      deferred: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM incidents WHERE phase = 'deferred'`),
      nthTarget: db.prepare<[string, number, number], { started_at: number }>(`SELECT started_at FROM actions WHERE target = ? AND started_at > ? AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET ?`),
      nthAll: db.prepare<[number, number], { started_at: number }>(`SELECT started_at FROM actions WHERE started_at > ? AND status IN ${EXECUTED_SQL} ORDER BY started_at LIMIT 1 OFFSET ?`),
      countTarget: db.prepare<[string, number], { n: number }>(`SELECT COUNT(*) AS n FROM actions WHERE target = ? AND started_at > ? AND status IN ${EXECUTED_SQL}`),
      countAll: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM actions WHERE started_at > ? AND status IN ${EXECUTED_SQL}`),
      inFlight: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM actions WHERE status IN ('started','verifying')`),
      cooldown: db.prepare<[string, number, number], { until: number | null }>(`SELECT MAX(cooldown_until) AS until FROM actions WHERE target = ? AND incident_id != ? AND cooldown_until > ? AND status IN ${EXECUTED_SQL}`),
      cooldowns: db.prepare<[number], { service: string; action: string; until: number }>(`SELECT service, action, MAX(cooldown_until) AS until FROM actions WHERE cooldown_until > ? AND status IN ${EXECUTED_SQL} GROUP BY service, action`),
      unfinished: db.prepare<[], IncidentRow>(`SELECT * FROM incidents WHERE phase != 'done' ORDER BY id`),
      actionsOf: db.prepare<[number], ActionRow>('SELECT * FROM actions WHERE incident_id = ? ORDER BY id'),
      actionIncident: db.prepare<[number], { incident_id: number }>('SELECT incident_id FROM actions WHERE id = ?'),
      openAction: db.prepare<[number], ActionRow>(`SELECT * FROM actions WHERE incident_id = ? AND status IN ('started','verifying') ORDER BY id DESC LIMIT 1`),
      lastActions: db.prepare<[], { service: string; action: string; outcome: string; ts: number }>(`SELECT service, action, status AS outcome, MAX(COALESCE(finished_at, started_at)) AS ts FROM actions WHERE status IN ('succeeded','failed','unknown','dry_run','skipped','deferred') GROUP BY service, action, status`),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
  }

  close(): void {
    void this.wal?.close().catch(() => undefined);
    this.wal = undefined;
    if (this.db.open) this.db.close();
  }

  private auditRow(e: AuditEvent, ts = this.now()) {
    return {
      ts,
      event: e.event,
      incident_id: e.incidentId ?? null,
      fingerprint: e.fingerprint ?? null,
      service: e.service ?? null,
      action: e.action ?? null,
      target: e.target ?? null,
      reason: e.reason ?? null,
      detail: e.detail === undefined ? null : JSON.stringify(e.detail),
    };
  }

  audit(e: AuditEvent): void {
    this.stmts.audit.run(this.auditRow(e));
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
  ingest(batches: readonly (readonly ReceivedAlert[])[], decide?: IngestDecider): IngestOutcome[][] {
    const now = this.now();
    // Committed here; durable once flushToDisk() resolves (the caller acknowledges after that).
    return this.runTx.immediate(() => batches.map((alerts) => alerts.map((a) => {
      const outcome = this.ingestOne(a, now);
      if (outcome.kind === 'new' && decide) {
        const decided = decide(a, outcome.incidentId);
        if (decided) {
          this.applyDecision(outcome.incidentId, decided, now);
          outcome.decided = decided;
        }
      }
      return outcome;
    }))) as IngestOutcome[][];
  }

  /** The writes of a decision made at ingest (no rule, skipped, dry run), in the ingest transaction. */
  private applyDecision(incidentId: number, d: ImmediateDecision, now: number): void {
    for (const e of d.events) this.stmts.audit.run(this.auditRow(e, now));
    if (d.action) {
      this.stmts.insertAction.run(this.actionParams(d.action.row));
      this.stmts.audit.run(this.auditRow(d.action.event, now));
    }
    this.stmts.updateIncident.run(this.incidentParams(incidentId, d.incident, now));
    if (d.incident.event) this.stmts.audit.run(this.auditRow(d.incident.event, now));
  }

  private incidentParams(id: number, u: IncidentUpdate, now = this.now()) {
    return {
      id, phase: u.phase, result: u.result ?? null, reason: u.reason ?? null, rule: u.rule ?? null, target: u.target ?? null, step: u.step ?? null,
      deferred_until: u.deferredUntil ?? null, defer_deadline: u.deferDeadline ?? null, now,
    };
  }

  private actionParams(a: NewAction) {
    return { ...a, reason: a.reason ?? null, detail: a.detail === undefined ? null : JSON.stringify(a.detail), finished_at: a.finished_at ?? null, cooldown_until: a.cooldown_until ?? null };
  }

  private ingestOne(alert: ReceivedAlert, now: number): IngestOutcome {
    const service = alert.labels.service ?? null;
    if (alert.status === 'firing') {
      // Insert first: a new occurrence (the common case) costs no lookup; the unique key makes a repeat a no-op.
      const info = this.stmts.insertIncident.run({
        key: alert.key, fingerprint: alert.fingerprint, starts_at: alert.startsAt, service, alertname: alert.labels.alertname ?? null,
        labels: JSON.stringify(alert.labels), annotations: JSON.stringify(alert.annotations), phase: 'pending', result: null, now, resolved_at: null,
      });
      if (info.changes > 0) {
        const incidentId = Number(info.lastInsertRowid);
        this.stmts.audit.run(this.auditRow({ event: 'received', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, detail: { status: 'firing', labels: alert.labels, startsAt: alert.startsAt } }, now));
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
    const endsAt = alert.endsAt && !alert.endsAt.startsWith('0001-') ? new Date(alert.endsAt).toISOString() : new Date(now * 1000).toISOString();
    if (existing?.resolved_at) {
      this.stmts.bumpNotifications.run(existing.id);
      return { kind: 'already_resolved', incidentId: existing.id };
    }
    let incidentId: number;
    let recovery: number | null = null;
    if (existing) {
      incidentId = existing.id;
      recovery = Math.max(0, (Date.parse(endsAt) - Date.parse(alert.startsAt)) / 1000);
      this.stmts.resolve.run({ id: incidentId, resolved_at: endsAt, recovery, now });
    } else {
      const info = this.stmts.insertIncident.run({
        key: alert.key, fingerprint: alert.fingerprint, starts_at: alert.startsAt, service, alertname: alert.labels.alertname ?? null,
        labels: JSON.stringify(alert.labels), annotations: JSON.stringify(alert.annotations), phase: 'done', result: 'resolved', now, resolved_at: endsAt,
      });
      incidentId = Number(info.lastInsertRowid);
    }
    this.stmts.audit.run(this.auditRow({ event: 'resolved', incidentId, fingerprint: alert.fingerprint, service: service ?? undefined, reason: existing ? undefined : 'resolved notification for an alert never seen firing', detail: { endsAt, recoverySeconds: recovery } }, now));
    return { kind: 'resolved', incidentId, recoverySeconds: recovery, service, alert };
  }

  incident(id: number): IncidentRow | undefined {
    return this.stmts.incidentById.get(id);
  }

  incidentByKey(key: string): IncidentRow | undefined {
    return this.stmts.incidentByKey.get(key);
  }

  updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): void {
    this.tx(() => {
      this.stmts.updateIncident.run(this.incidentParams(id, u));
      if (event) this.audit(event);
    });
  }

  insertAction(a: NewAction, event: AuditEvent): number {
    return this.tx(() => {
      const info = this.stmts.insertAction.run(this.actionParams(a));
      this.audit(event);
      return Number(info.lastInsertRowid);
    });
  }

  finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }): void {
    this.tx(() => {
      this.stmts.finishAction.run({ id, status, reason, detail: detail === undefined ? null : JSON.stringify(detail), finished_at: this.now() });
      this.audit(event);
      if (update) this.updateIncident(event.incidentId ?? this.stmts.actionIncident.get(id)?.incident_id ?? 0, update, update.event);
    });
  }

  /** One transaction: an action row (skipped, dry run, ...) with its audit event and the incident's new state. */
  recordStep(s: StepRecord): number {
    return this.tx(() => {
      if (s.announce) this.updateIncident(s.action.incident_id, s.announce.update, s.announce.event);
      const id = this.insertAction(s.action, s.event);
      if (s.update) this.updateIncident(s.action.incident_id, s.update);
      return id;
    });
  }

  /** The guardrails' inputs, read in the caller's transaction. */
  guardSnapshot(c: Pick<ClaimRequest, 'incidentId' | 'target' | 'now' | 'perTargetSince' | 'globalSince' | 'perTargetMax' | 'globalMax'>): GuardSnapshot {
    const saved = this.getSetting('pause');
    const pause = saved ? (JSON.parse(saved) as { paused?: boolean; reason?: string }) : undefined;
    const perTarget = c.perTargetSince.map((since) => this.countActionsOnTarget(c.target, since));
    const global = c.globalSince.map((since) => this.countActions(since));
    // A window at its max lifts when its (n - max + 1)th oldest action leaves it: that action's start + the window.
    const liftsAt = (counts: number[], since: number[], max: number[], nth: (since: number, offset: number) => number | undefined) =>
      counts.map((n, i) => {
        const m = max[i];
        const s = since[i];
        if (m === undefined || s === undefined || m <= 0 || n < m) return undefined;
        const start = nth(s, n - m);
        return start === undefined ? undefined : start + (c.now - s);
      });
    return {
      paused: pause?.paused ? (pause.reason ?? 'api') : undefined,
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
    return this.durably((): ClaimResult => {
      const blocked = c.check(this.guardSnapshot(c));
      if (blocked) return { ok: false, ...blocked };
      if (c.announce) this.updateIncident(c.incidentId, c.announce.update, c.announce.event);
      this.updateIncident(c.incidentId, c.update);
      return { ok: true, actionId: this.insertAction(c.action, c.event) };
    });
  }

  /** The action's result was observed: `started` -> `verifying`, with its audit event. False if it was not `started`. */
  markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): boolean {
    return this.tx(() => {
      if (this.stmts.startedToVerifying.run(actionId).changes === 0) return false;
      if (event) this.audit(event);
      this.updateIncident(incidentId, { phase: 'verifying', step });
      return true;
    });
  }

  deferred(): number {
    return this.stmts.deferred.get()?.n ?? 0;
  }

  actionsOf(incidentId: number): ActionRow[] {
    return this.stmts.actionsOf.all(incidentId);
  }

  setActionStatus(id: number, status: ActionStatus): void {
    this.stmts.setActionStatus.run({ id, status });
  }

  lastAction(incidentId: number): ActionRow | undefined {
    return this.db.prepare<[number], ActionRow>('SELECT * FROM actions WHERE incident_id = ? ORDER BY id DESC LIMIT 1').get(incidentId);
  }

  openAction(incidentId: number): ActionRow | undefined {
    return this.stmts.openAction.get(incidentId);
  }

  countActionsOnTarget(target: string, since: number): number {
    return this.stmts.countTarget.get(target, since)?.n ?? 0;
  }

  countActions(since: number): number {
    return this.stmts.countAll.get(since)?.n ?? 0;
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
    this.durably(() => {
      this.stmts.putSetting.run(key, value);
      if (event) this.audit(event);
    });
  }

  listActions(q: { service?: string; since?: number; limit?: number }): ActionRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.service) { where.push('service = ?'); args.push(q.service); }
    if (q.since !== undefined) { where.push('started_at >= ?'); args.push(q.since); }
    const sql = `SELECT * FROM actions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare<(string | number)[], ActionRow>(sql).all(...args, Math.min(q.limit ?? 500, 5000));
  }

  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): IncidentRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.service) { where.push('service = ?'); args.push(q.service); }
    if (q.since !== undefined) { where.push('received_at >= ?'); args.push(q.since); }
    if (q.state === 'open') where.push('resolved_at IS NULL');
    if (q.state === 'resolved') where.push('resolved_at IS NOT NULL');
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare<(string | number)[], IncidentRow>(sql).all(...args, Math.min(q.limit ?? 500, 5000));
  }

  listAudit(q: { incidentId?: number; since?: number; limit?: number }): AuditRow[] {
    const where: string[] = [];
    const args: number[] = [];
    if (q.incidentId !== undefined) { where.push('incident_id = ?'); args.push(q.incidentId); }
    if (q.since !== undefined) { where.push('ts >= ?'); args.push(q.since); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare<number[], AuditRow>(sql).all(...args, Math.min(q.limit ?? 1000, 10000));
  }

  /** Drops closed incidents, their actions and audit rows older than the retention. */
  prune(olderThanSeconds: number): number {
    const cutoff = this.now() - olderThanSeconds;
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM audit WHERE ts < ?').run(cutoff);
      this.db.prepare(`DELETE FROM actions WHERE started_at < ? AND incident_id IN (SELECT id FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < ?)`).run(cutoff, cutoff);
      return this.db.prepare(`DELETE FROM incidents WHERE phase = 'done' AND resolved_at IS NOT NULL AND updated_at < ? AND id NOT IN (SELECT incident_id FROM actions)`).run(cutoff).changes;
    })();
  }
}
