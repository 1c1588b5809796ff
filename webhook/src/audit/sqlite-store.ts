// The embedded store (default): SQLite through the synchronous HealingStore, behind the asynchronous Store
// interface. One process owns the file, so there is nobody to share incidents with: every claim succeeds and
// everything unfinished is taken over at start.
import type { ActionStatus } from '@selfheal/contracts';
import { HealingStore, type StoreOptions } from './sqlite-db.js';
import type {
  ActionRow, ArmRevert, AuditEvent, AuditRow, ClaimRequest, ClaimResult, GuardQuery, GuardSnapshot, HealthReport, IncidentRow, IncidentUpdate, IngestDecider,
  IngestOutcome, RevertClaim, RevertRow, RevertTransition, StepRecord, Store, StoredAlert,
} from './types.js';

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly replica = 'local';
  readonly sqlite: HealingStore;

  constructor(opts: StoreOptions | HealingStore) {
    this.sqlite = opts instanceof HealingStore ? opts : new HealingStore(opts);
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.sqlite.close();
    return Promise.resolve();
  }

  health(): Promise<HealthReport> {
    if (!this.sqlite.db.open) return Promise.resolve({ ok: false, store: 'sqlite', detail: 'the database is closed' });
    try {
      this.sqlite.db.prepare('SELECT 1').get();
      return Promise.resolve({ ok: true, store: 'sqlite', detail: this.sqlite.db.name });
    } catch (err) {
      return Promise.resolve({ ok: false, store: 'sqlite', detail: (err as Error).message });
    }
  }

  async ingest(batches: readonly (readonly StoredAlert[])[], decide?: IngestDecider): Promise<IngestOutcome[][]> {
    const results = this.sqlite.ingest(batches, decide);
    await this.sqlite.flushToDisk();
    return results;
  }

  incident(id: number): Promise<IncidentRow | undefined> { return Promise.resolve(this.sqlite.incident(id)); }
  claimIncident(): Promise<boolean> { return Promise.resolve(true); }
  takeOver(): Promise<number[]> { return Promise.resolve(this.sqlite.unfinishedIncidents().map((i) => i.id)); }
  heartbeat(): Promise<void> { return Promise.resolve(); }
  updateIncident(id: number, u: IncidentUpdate, event?: AuditEvent): Promise<void> { return call(() => this.sqlite.updateIncident(id, u, event)); }
  audit(e: AuditEvent): Promise<void> { return call(() => this.sqlite.audit(e)); }
  recordStep(s: StepRecord): Promise<number> { return call(() => this.sqlite.recordStep(s)); }
  claimAction(c: ClaimRequest): Promise<ClaimResult> { return call(() => this.sqlite.claimAction(c)); }
  guardrails(q: GuardQuery): Promise<GuardSnapshot> { return call(() => this.sqlite.guardSnapshot(q)); }
  finishAction(id: number, status: ActionStatus, reason: string | null, detail: unknown, event: AuditEvent, update?: IncidentUpdate & { event?: AuditEvent }, revert?: ArmRevert): Promise<void> {
    return call(() => this.sqlite.finishAction(id, status, reason, detail, event, update, revert));
  }
  markVerifying(actionId: number, incidentId: number, step: number, event?: AuditEvent): Promise<boolean> { return call(() => this.sqlite.markVerifying(actionId, incidentId, step, event)); }
  lastAction(incidentId: number): Promise<ActionRow | undefined> { return call(() => this.sqlite.lastAction(incidentId)); }
  openAction(incidentId: number): Promise<ActionRow | undefined> { return call(() => this.sqlite.openAction(incidentId)); }
  actionsOf(incidentId: number): Promise<ActionRow[]> { return call(() => this.sqlite.actionsOf(incidentId)); }
  inFlight(): Promise<number> { return call(() => this.sqlite.inFlight()); }
  deferred(): Promise<number> { return call(() => this.sqlite.deferred()); }
  activeCooldowns(now?: number): Promise<{ service: string; action: string; until: number }[]> { return call(() => this.sqlite.activeCooldowns(now)); }
  lastActionTimes(): Promise<{ service: string; action: string; outcome: string; ts: number }[]> { return call(() => this.sqlite.lastActionTimes()); }
  getSetting(key: string): Promise<string | undefined> { return call(() => this.sqlite.getSetting(key)); }
  putSetting(key: string, value: string, event?: AuditEvent): Promise<void> { return call(() => this.sqlite.putSetting(key, value, event)); }
  listActions(q: { service?: string; since?: number; limit?: number }): Promise<ActionRow[]> { return call(() => this.sqlite.listActions(q)); }
  listIncidents(q: { service?: string; since?: number; state?: 'open' | 'resolved'; limit?: number }): Promise<IncidentRow[]> { return call(() => this.sqlite.listIncidents(q)); }
  listAudit(q: { incidentId?: number; since?: number; limit?: number }): Promise<AuditRow[]> { return call(() => this.sqlite.listAudit(q)); }
  prune(olderThanSeconds: number): Promise<number> { return call(() => this.sqlite.prune(olderThanSeconds)); }
  openReverts(): Promise<RevertRow[]> { return call(() => this.sqlite.openReverts()); }
  revert(id: number): Promise<RevertRow | undefined> { return call(() => this.sqlite.revert(id)); }
  claimRevert(c: RevertClaim): Promise<ClaimResult> { return call(() => this.sqlite.claimRevert(c)); }
  transitionRevert(t: RevertTransition): Promise<boolean> { return call(() => this.sqlite.transitionRevert(t)); }
  unrevertedFixes(): Promise<{ action: string; n: number }[]> { return call(() => this.sqlite.unrevertedFixes()); }
  listReverts(q: { service?: string; since?: number; limit?: number }): Promise<RevertRow[]> { return call(() => this.sqlite.listReverts(q)); }
}

/** A synchronous call as a promise (a throw becomes a rejection, as with a network store). */
function call<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
