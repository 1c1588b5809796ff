// The healing engine: for each new alert occurrence, decide (policy), then guard, claim, act, verify and escalate
// (the stages, one file each in this folder). Every stage is written to the store before it happens, so a restart
// resumes where it stopped and never repeats an action that had started. With several replicas on one PostgreSQL
// store, an incident is worked on by the replica that claimed it in the store. An action held back by a guardrail
// that lifts by itself (cooldown, rate limit, concurrency) is deferred: the incident waits, durably (phase
// `deferred`), and the action is decided again when the guardrail lifts.
// This class runs the incidents' tasks: starting, waking, stopping, and telling when it is idle.
import { errorMessage } from '../actuators/types.js';
import type { ImmediateDecision, StoredAlert } from '../audit/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { runIncident } from './incident.js';
import { decideAtIngest } from './ingest-decision.js';
import { RevertRunner } from './revert.js';
import { Stopped, type EngineContext, type EngineDeps } from './stage.js';
import { Waits } from './waits.js';

export class HealingEngine {
  private readonly running = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly waits: Waits;
  private readonly ctx: EngineContext;
  /** Fixes that undo themselves: their reverts' tasks. */
  readonly reverts: RevertRunner;

  constructor(private readonly d: EngineDeps) {
    this.clock = d.clock ?? systemClock;
    this.waits = new Waits(this.clock);
    const signal = this.abort.signal;
    this.ctx = {
      d, waits: this.waits, signal,
      now: () => this.clock.now(),
      checkStopped: () => { if (signal.aborted) throw new Stopped(); },
      revertArmed: () => { void this.reverts.scan().catch((err: unknown) => d.logger.warn({ err: errorMessage(err) }, 'could not pick up a revert; retried at the next start')); },
    };
    this.reverts = new RevertRunner(this.ctx, this.clock);
  }

  /** Starts work on an incident (no-op if already running or finished). */
  submit(incidentId: number): Promise<void> {
    const existing = this.running.get(incidentId);
    if (existing) return existing;
    if (this.abort.signal.aborted) return Promise.resolve();
    const task = runIncident(this.ctx, this.d.policy, incidentId)
      .catch((err: unknown) => {
        if (err instanceof Stopped || this.abort.signal.aborted) return;
        this.d.logger.error({ err, incidentId }, 'healing task failed unexpectedly');
        return this.d.store.updateIncident(incidentId, { phase: 'done', result: 'failed', reason: `internal error: ${errorMessage(err)}` }, { event: 'failed', incidentId, reason: `internal error: ${errorMessage(err)}` })
          .catch(() => undefined); // store closed or unreachable: the incident stays unfinished and is taken over later
      })
      .finally(() => {
        this.running.delete(incidentId);
        this.waits.changed();
      });
    this.running.set(incidentId, task);
    return task;
  }

  /**
   * Decides a new alert inside the ingest transaction when nothing needs waiting for (see ingest-decision.ts);
   * undefined: the incident needs the stages.
   */
  decideAtIngest(alert: StoredAlert, incidentId: number): ImmediateDecision | undefined {
    return decideAtIngest(this.ctx, alert, incidentId);
  }

  /** Metrics of decisions made at ingest, once their commit is durable. */
  recordDecided(d: ImmediateDecision): void {
    if (d.outcome) this.d.metrics.recordOutcome(d.outcome.service, d.outcome.action, d.outcome.outcome, this.clock.now());
  }

  /** Starts work on a new incident after its ingest commit (no-op if already running or finished). */
  enqueue(incidentId: number): void {
    void this.submit(incidentId);
  }

  /** A resolved notification arrived: ends any verification or deferral waiting on it. */
  onResolved(incidentId: number): void {
    this.waits.wake(incidentId, 'resolved');
  }

  /** A person approved or rejected an action of the incident here (the API): its wait ends now. */
  onApprovalDecided(incidentId: number): void {
    this.waits.wake(incidentId, 'decided');
  }

  /** After a restart, or when another replica died: picks up every unfinished incident left to this one. */
  async recover(): Promise<number> {
    const open = await this.d.store.takeOver();
    for (const id of open) void this.submit(id);
    // Reverts: this replica's after a restart, and those of a replica whose lease ran out (not counted: the count
    // is of incidents, and a revert armed here a moment ago may be picked up by this scan first).
    await this.reverts.scan();
    return open.length;
  }

  /** Resolves when no incident is being worked on, apart from deferred ones and ones awaiting a person's approval. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.busy === 0) return;
      await this.waits.nextChange();
    }
  }

  /** Incidents being worked on now (deferred ones waiting for their guardrail, and ones awaiting approval, excluded). */
  get busy(): number {
    let n = 0;
    for (const id of this.running.keys()) if (!this.waits.isDeferred(id) && !this.waits.isAwaiting(id)) n++;
    return n;
  }

  /** Incidents of this process whose action waits for a person's approval. */
  get waitingApproval(): number {
    return this.waits.awaitingCount;
  }

  /** Incidents waiting in a deferral in this process. */
  get waitingDeferred(): number {
    return this.waits.deferredCount;
  }

  /** Stops working: tasks stop at their next step, leaving durable state for the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.waits.wakeAll('stop');
    await Promise.allSettled([...this.running.values(), this.reverts.stop()]);
  }
}
