// The healing engine: for each new alert occurrence, decide (policy), guard (guardrails), act (actuator),
// verify (PromQL) and escalate (next action, then people). Every step is written to the store before it
// happens, so a restart resumes where it stopped and never repeats an action that had started. With several
// replicas on one PostgreSQL store, an incident is worked on by the replica that claimed it in the store.
// An action held back by a guardrail that lifts by itself (cooldown, rate limit, concurrency) is deferred: the
// incident waits, durably (phase `deferred`), and the action is decided again when the guardrail lifts.
import { escapePromqlString, roughDuration } from '@selfheal/contracts';
import type { Logger } from 'pino';
import { LIFTING_GUARDRAILS, type ActionName, type Guardrail, type Outcome } from './actions.js';
import type { Actuator } from './actuators/types.js';
import { errorMessage } from './actuators/types.js';
import type { Config } from './config/schema.js';
import type { GrafanaAnnotator } from './escalation/grafana.js';
import type { Notifier } from './escalation/notify.js';
import { guardReason, guardWindows, NEVER } from './guardrails/guardrails.js';
import type { PauseSwitch } from './guardrails/pause.js';
import type { HealingMetrics } from './metrics.js';
import { templateVars, type Plan, type Policy } from './policy/policy.js';
import type { ReceivedAlert } from './receiver/payload.js';
import type { ActionRow, AuditEvent, GuardVerdict, ImmediateDecision, IncidentRow, IncidentUpdate, Store } from './store/types.js';
import { systemClock, type Clock } from './util/clock.js';
import { render, type TemplateVars } from './util/template.js';
import type { PrometheusClient } from './verify/prometheus.js';

export interface EngineDeps {
  config: Config;
  store: Store;
  policy: Policy;
  actuators: ReadonlyMap<string, Actuator>;
  metrics: HealingMetrics;
  pause: PauseSwitch;
  logger: Logger;
  prometheus?: PrometheusClient;
  notifier?: Notifier;
  grafana?: GrafanaAnnotator;
  /** The time decisions are made with, and waits are made on (replay: the alerts' own clock; tests: a manual one). */
  clock?: Clock;
  /** Replay: describe instead of execute, assume verification passes, but count actions for the guardrails. */
  simulate?: boolean;
}

/** `ended`: the step closed the incident itself (escalated, or dropped because the alert resolved while deferred). */
type StepResult = 'succeeded' | 'failed' | 'unknown' | 'skipped' | 'dry_run' | 'ended';

/** How often a deferral whose guardrail has no known end (maxConcurrent) is decided again; sooner when an action here ends. */
export const DEFER_RECHECK_SECONDS = 5;

/** A deferral in progress: when the action is decided again, and when it is given up. */
interface Deferral {
  until: number;
  deadline: number;
  guardrail?: Guardrail;
}

/** Why a wait ended early. */
type Wake = 'resolved' | 'capacity' | 'stop';

/** The action row fields verification needs. */
type Executed = Pick<ActionRow, 'id' | 'service' | 'action' | 'target' | 'step' | 'started_at'>;

/** A value substituted into PromQL lands inside a double-quoted string literal. */
const promqlEscape = (value: string, ref: string): string => (ref === 'entity' ? value : escapePromqlString(value));

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

class Stopped extends Error {}

/** The `matched` record of a pending incident, written with its first step's record. */
type Announce = { update: IncidentUpdate; event: AuditEvent };

export class HealingEngine {
  private readonly running = new Map<number, Promise<void>>();
  private readonly wakers = new Map<number, Set<(why: Wake) => void>>();
  /** Incidents whose task waits for a guardrail to lift (not busy: idle() does not wait for them). */
  private readonly deferredWaits = new Set<number>();
  /** Of those, the ones held back by maxConcurrent: woken when an action here ends. */
  private readonly capacityWaits = new Set<number>();
  private readonly idleListeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;

  constructor(private readonly d: EngineDeps) {
    this.clock = d.clock ?? systemClock;
  }

  private now(): number {
    return this.clock.now();
  }

  /** Starts work on an incident (no-op if already running or finished). */
  submit(incidentId: number): Promise<void> {
    const existing = this.running.get(incidentId);
    if (existing) return existing;
    if (this.abort.signal.aborted) return Promise.resolve();
    const task = this.run(incidentId)
      .catch((err: unknown) => {
        if (err instanceof Stopped || this.abort.signal.aborted) return;
        this.d.logger.error({ err, incidentId }, 'healing task failed unexpectedly');
        return this.d.store.updateIncident(incidentId, { phase: 'done', result: 'failed', reason: `internal error: ${errorMessage(err)}` }, { event: 'failed', incidentId, reason: `internal error: ${errorMessage(err)}` })
          .catch(() => undefined); // store closed or unreachable: the incident stays unfinished and is taken over later
      })
      .finally(() => {
        this.running.delete(incidentId);
        this.changed();
      });
    this.running.set(incidentId, task);
    return task;
  }

  /**
   * Decides a new alert inside the ingest transaction when nothing needs waiting for: no rule, a policy skip,
   * or a dry run without a blast-radius precondition. One commit per alert instead of two; the metrics are
   * recorded by the caller once the commit is durable (see recordDecided).
   */
  decideAtIngest(alert: ReceivedAlert, incidentId: number): ImmediateDecision | undefined {
    if (this.d.simulate) return undefined;
    const baseVars = templateVars(alert, this.d.config.verify.nonEntityLabels);
    const service = alert.labels.service ?? 'unknown';
    const decision = this.d.policy.decide(alert.labels, baseVars);
    if (decision.kind === 'skip') {
      return {
        events: [],
        incident: { phase: 'done', result: decision.rule ? 'skipped' : 'no_rule', reason: decision.reason, rule: decision.rule,
          event: { event: 'skipped', incidentId, fingerprint: alert.fingerprint, service, action: decision.action, reason: decision.reason } },
        outcome: decision.rule && decision.action ? { service, action: decision.action, outcome: 'skipped' } : undefined,
      };
    }
    const { plan } = decision;
    const first = plan.steps[0];
    const actuator = this.d.actuators.get(plan.target.actuator);
    if (!plan.dryRun || plan.rule.precondition || !first || !actuator) return undefined;
    const now = this.now();
    const service2 = alert.labels.service ?? plan.targetName;
    const vars: TemplateVars = { ...baseVars, action: first.action, target: plan.targetName };
    const description = actuator.describe({ action: first.action, targetName: plan.targetName, target: plan.target, params: first.params, vars, prometheus: this.d.prometheus });
    return {
      events: [this.matchedEvent(incidentId, alert.fingerprint, service, plan)],
      action: {
        row: { incident_id: incidentId, service: service2, action: first.action, target: plan.targetName, rule: plan.rule.name, step: 0, status: 'dry_run', reason: `dry run: would ${description}`, started_at: now, finished_at: now },
        event: { event: 'dry_run', incidentId, fingerprint: alert.fingerprint, service: service2, action: first.action, target: plan.targetName, reason: `would ${description}` },
      },
      incident: { phase: 'done', result: 'dry_run', reason: null, rule: plan.rule.name, target: plan.targetName, step: 0 },
      outcome: { service: service2, action: first.action, outcome: 'dry_run' },
    };
  }

  /** Metrics of decisions made at ingest, once their commit is durable. */
  recordDecided(d: ImmediateDecision): void {
    if (d.outcome) this.d.metrics.recordOutcome(d.outcome.service, d.outcome.action, d.outcome.outcome, this.now());
  }

  private matchedEvent(incidentId: number, fingerprint: string, service: string, plan: Plan) {
    return { event: 'matched', incidentId, fingerprint, service, target: plan.targetName, reason: `rule "${plan.rule.name}"`, detail: { actions: plan.steps.map((s) => s.action), dryRun: plan.dryRun } };
  }

  /** Starts work on a new incident after its ingest commit (no-op if already running or finished). */
  enqueue(incidentId: number): void {
    void this.submit(incidentId);
  }

  /** A resolved notification arrived: ends any verification or deferral waiting on it. */
  onResolved(incidentId: number): void {
    for (const wake of this.wakers.get(incidentId) ?? []) wake('resolved');
  }

  /** After a restart, or when another replica died: picks up every unfinished incident left to this one. */
  async recover(): Promise<number> {
    const open = await this.d.store.takeOver();
    for (const id of open) void this.submit(id);
    return open.length;
  }

  /** Resolves when no incident is being worked on, apart from deferred ones waiting for their guardrail to lift. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.busy === 0) return;
      await new Promise<void>((resolve) => this.idleListeners.add(resolve));
    }
  }

  /** Incidents being worked on now (deferred ones waiting for their guardrail excluded). */
  get busy(): number {
    let n = 0;
    for (const id of this.running.keys()) if (!this.deferredWaits.has(id)) n++;
    return n;
  }

  /** Incidents waiting in a deferral in this process. */
  get waitingDeferred(): number {
    return this.deferredWaits.size;
  }

  private changed(): void {
    const listeners = [...this.idleListeners];
    this.idleListeners.clear();
    for (const l of listeners) l();
  }

  /** Stops working: tasks stop at their next step, leaving durable state for the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const set of this.wakers.values()) for (const wake of set) wake('stop');
    await Promise.allSettled([...this.running.values()]);
  }

  private checkStopped(): void {
    if (this.abort.signal.aborted) throw new Stopped();
  }

  /** Waits until `until` (the engine's clock), or until woken: the incident resolved, capacity freed, or a stop. */
  private async pause(incidentId: number, until: number): Promise<Wake | 'time'> {
    let wake: (why: Wake) => void = () => undefined;
    const woken = new Promise<Wake>((resolve) => { wake = resolve; });
    const set = this.wakers.get(incidentId) ?? new Set();
    set.add(wake);
    this.wakers.set(incidentId, set);
    const timer = new AbortController();
    try {
      return await Promise.race([woken, this.clock.sleepUntil(until, timer.signal).then(() => 'time' as const)]);
    } finally {
      timer.abort();
      set.delete(wake);
      if (set.size === 0) this.wakers.delete(incidentId);
    }
  }

  /** An action of this process ended: deferrals held back by maxConcurrent are decided again now. */
  private capacityFreed(): void {
    for (const id of this.capacityWaits) for (const wake of this.wakers.get(id) ?? []) wake('capacity');
  }

  private async run(incidentId: number): Promise<void> {
    const { store, policy } = this.d;
    // Another replica may hold it (it received the same alert): the store says who works on it.
    if (!(await store.claimIncident(incidentId))) return;
    const inc = await store.incident(incidentId);
    if (!inc || inc.phase === 'done') return;
    const alert = { labels: JSON.parse(inc.labels) as Record<string, string>, annotations: JSON.parse(inc.annotations) as Record<string, string>, fingerprint: inc.fingerprint, status: 'firing', startsAt: inc.starts_at };
    const baseVars = templateVars(alert, this.d.config.verify.nonEntityLabels);
    const service = inc.service ?? 'unknown';

    if (inc.phase === 'pending' && inc.resolved_at) {
      await store.updateIncident(incidentId, { phase: 'done', result: 'resolved', reason: 'resolved before any action' });
      return;
    }
    const decision = policy.decide(alert.labels, baseVars);
    if (decision.kind === 'skip') {
      await store.updateIncident(incidentId, { phase: 'done', result: decision.rule ? 'skipped' : 'no_rule', reason: decision.reason, rule: decision.rule },
        { event: 'skipped', incidentId, fingerprint: inc.fingerprint, service, action: decision.action, reason: decision.reason });
      if (decision.rule && decision.action) this.d.metrics.recordOutcome(service, decision.action, 'skipped', this.now());
      return;
    }
    const plan = decision.plan;
    let step = inc.step;
    // Written in the same transaction as the first step's record (one commit per alert on the fast path).
    let announce: Announce | undefined;
    let deferred: Deferral | undefined;
    if (inc.phase === 'pending') {
      announce = { update: { phase: 'acting', rule: plan.rule.name, target: plan.targetName, step: 0 }, event: this.matchedEvent(incidentId, inc.fingerprint, service, plan) };
    } else if (inc.phase === 'deferred') {
      // Resumed while its action was deferred (restart, or taken over from a dead replica): keep waiting, then decide.
      deferred = { until: inc.deferred_until ?? this.now(), deadline: inc.defer_deadline ?? this.now() + this.maxDefer(plan) };
    } else {
      // Resumed after a restart (or taken over from a dead replica). An action that had started is never run
      // again: we verify it instead.
      const open = await store.openAction(incidentId);
      const last = await store.lastAction(incidentId);
      if (!open && last) {
        // Stopped between steps: carry on after the last recorded one.
        if (last.status === 'unknown') return this.escalate(inc, plan, { result: 'unknown', reason: last.reason ?? `the outcome of ${last.action} is unknown` });
        if (last.status === 'skipped' && last.step > 0) return this.escalate(inc, plan, { reason: this.heldBack(await store.actionsOf(incidentId), last.action, `was skipped: ${last.reason ?? ''}`) });
        if (last.status === 'deferred') step = last.step;
        else if (last.status === 'failed') step = last.step + 1;
        else {
          await store.updateIncident(incidentId, { phase: 'done', result: last.status === 'succeeded' ? 'healed' : last.status, reason: last.reason });
          return;
        }
      }
      if (open) {
        // `verifying`: the actuator's answer was recorded. `started`: it never was; the action may or may not have run.
        const observed = open.status === 'verifying';
        await store.audit({ event: 'interrupted', incidentId, fingerprint: inc.fingerprint, service, action: open.action, target: open.target,
          reason: observed ? `the service restarted while ${open.action} was being verified; not repeating it, verifying again`
            : `the service restarted while ${open.action} was running, before its result was seen; not repeating it, verifying instead` });
        const result = await this.verifyAndFinish(inc, plan, open, { ...baseVars, action: open.action, target: open.target }, { observed });
        if (result === 'succeeded') return;
        if (result === 'unknown') return this.escalate(inc, plan, { result: 'unknown', reason: (await store.lastAction(incidentId))?.reason ?? `the outcome of ${open.action} is unknown` });
        step = open.step + 1;
      }
    }
    for (; step < plan.steps.length; step++) {
      const result = await this.attempt(inc, plan, step, baseVars, announce, deferred);
      announce = undefined;
      deferred = undefined;
      if (result === 'failed') continue;
      // An earlier action failed and the next one may not run (guardrail, refusal): people must know.
      if (result === 'skipped' && step > 0) {
        const actions = await store.actionsOf(incidentId);
        return this.escalate(inc, plan, { reason: this.heldBack(actions, plan.steps[step]?.action ?? 'the next action', `was skipped: ${actions.at(-1)?.reason ?? ''}`) });
      }
      return; // succeeded / skipped / dry_run / ended closed the incident themselves; stopped leaves it for the next start
    }
    await this.escalate(inc, plan, { reason: `every action failed (${plan.steps.map((s) => s.action).join(' -> ')})` });
  }

  /** "scale_up failed and restart was skipped: ..." (or without the first part when nothing failed before). */
  private heldBack(actions: readonly ActionRow[], action: string, what: string): string {
    const failed = actions.filter((a) => a.status === 'failed').map((a) => a.action);
    return failed.length > 0 ? `${failed.join(' -> ')} failed and ${action} ${what}` : `${action} ${what}`;
  }

  private maxDefer(plan: Plan): number {
    return plan.rule.maxDefer ?? this.d.config.guardrails.maxDefer;
  }

  private async skip(inc: IncidentRow, plan: Plan, step: number, action: ActionName, reason: string, announce?: Announce, guardrail?: Guardrail): Promise<'skipped'> {
    const service = inc.service ?? plan.targetName;
    const now = this.now();
    await this.d.store.recordStep({
      announce,
      action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'skipped', reason, started_at: now, finished_at: now },
      event: { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason },
      update: { phase: 'done', result: 'skipped', reason },
    });
    this.d.metrics.recordOutcome(service, action, 'skipped', now);
    // After a failed step, a refusal is escalated to people (run() does so).
    if (guardrail) this.d.metrics.recordRefusal(guardrail, step > 0 ? 'escalated' : 'skipped');
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason }, 'action skipped');
    return 'skipped';
  }

  private async attempt(inc: IncidentRow, plan: Plan, step: number, baseVars: TemplateVars, announceFirst?: Announce, resumed?: Deferral): Promise<StepResult> {
    let announce = announceFirst;
    let deferral = resumed;
    const { store, config, metrics } = this.d;
    const planned = plan.steps[step];
    if (!planned) return 'failed';
    const { action } = planned;
    const service = inc.service ?? plan.targetName;
    const vars: TemplateVars = { ...baseVars, action, target: plan.targetName };
    const actuator = this.d.actuators.get(plan.target.actuator);
    if (!actuator) return this.skip(inc, plan, step, action, `actuator "${plan.target.actuator}" is not available`, announce);

    // Decided again each time a deferral ends, until the action runs, is given up, or its alert resolves.
    let actionId: number;
    let description: string;
    let startedAt: number;
    for (;;) {
      if (deferral && (await this.waitDeferred(inc.id, deferral)) === 'resolved') return this.drop(inc, plan, step, action);
      this.checkStopped();
      if ((await store.incident(inc.id))?.resolved_at) {
        return deferral ? this.drop(inc, plan, step, action) : this.skip(inc, plan, step, action, 'the alert resolved before the action started', announce);
      }

      // Blast-radius guard (asynchronous): fail safe, an unanswerable precondition blocks the action.
      if (plan.rule.precondition && !this.d.simulate) {
        if (announce) await store.updateIncident(inc.id, announce.update, announce.event); // before waiting on Prometheus, so the audit keeps its order
        announce = undefined;
        if (!this.d.prometheus) return this.skip(inc, plan, step, action, 'blast-radius precondition set but no prometheus.url configured', undefined, 'blast_radius');
        const q = render(plan.rule.precondition, vars, promqlEscape);
        let holds: boolean;
        try {
          holds = await this.d.prometheus.holds(q, this.abort.signal);
        } catch (err) {
          this.checkStopped();
          return this.skip(inc, plan, step, action, `blast-radius precondition could not be evaluated: ${errorMessage(err)}`, undefined, 'blast_radius');
        }
        this.checkStopped();
        if (!holds) return this.skip(inc, plan, step, action, `blast-radius guard: precondition ${q} does not hold`, undefined, 'blast_radius');
      }

      const now = this.now();
      description = actuator.describe({ action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, prometheus: this.d.prometheus });
      if (plan.dryRun) {
        await store.recordStep({
          announce,
          action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'dry_run', reason: `dry run: would ${description}`, started_at: now, finished_at: now },
          event: { event: 'dry_run', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: `would ${description}` },
          update: { phase: 'done', result: 'dry_run', reason: null },
        });
        metrics.recordOutcome(service, action, 'dry_run', now);
        return 'dry_run';
      }
      this.checkStopped();
      const cooldown = plan.rule.cooldown ?? config.guardrails.cooldown;
      const local = this.d.pause.local();
      const guard = { incidentId: inc.id, target: plan.targetName, cooldownSeconds: cooldown, now };
      // One durable transaction reads the guardrails' counters, checks them and records `started`: limits cannot
      // be raced (not by another incident, not by another replica). On disk before the action runs: after a
      // crash this row stops the action from being repeated.
      const claim = await store.claimAction({
        incidentId: inc.id, target: plan.targetName, now, ...guardWindows(config.guardrails, now),
        check: (snapshot) => guardReason(config.guardrails, snapshot, guard, local ? (local.reason ?? local.source) : undefined),
        announce,
        update: { phase: 'acting', step },
        action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'started', reason: description, started_at: now, cooldown_until: cooldown > 0 ? now + cooldown : null },
        event: { event: 'started', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: description },
      });
      if (claim.ok) {
        actionId = claim.actionId;
        startedAt = now;
        break;
      }
      if (claim.lost) {
        this.d.logger.warn({ incident: inc.id, reason: claim.reason }, 'incident taken over by another replica; leaving it');
        throw new Stopped();
      }
      const next = await this.deferOrSkip(inc, plan, step, action, claim, announce, deferral);
      announce = undefined;
      if (next === 'skipped' || next === 'ended') return next;
      deferral = next;
    }
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName }, `action started: ${description}`);

    if (this.d.simulate) {
      await store.finishAction(actionId, 'succeeded', `replay: would ${description}`, { replay: true }, { event: 'succeeded', incidentId: inc.id, service, action, target: plan.targetName, reason: 'replay (not executed)' },
        { phase: 'done', result: 'healed', reason: 'replay' });
      metrics.recordOutcome(service, action, 'succeeded', startedAt);
      return 'succeeded';
    }

    const t0 = performance.now();
    const result = await actuator.execute({ action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, signal: this.abort.signal, prometheus: this.d.prometheus });
    metrics.actionDuration.observe({ action }, (performance.now() - t0) / 1000);
    this.checkStopped(); // a stop mid-action leaves `started`: the next start verifies instead of repeating
    if (result.outcome !== 'succeeded') {
      const status: Outcome = result.outcome;
      await store.finishAction(actionId, status, result.reason, result.detail, { event: status, incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail },
        status === 'skipped' ? { phase: 'done', result: 'skipped', reason: result.reason } : undefined);
      this.capacityFreed();
      metrics.recordOutcome(service, action, status, this.now());
      this.d.logger.warn({ incident: inc.id, service, action, reason: result.reason }, `action ${status}`);
      return status === 'skipped' ? 'skipped' : 'failed';
    }
    // The actuator's answer and `verifying` in one commit: a `started` row after a crash means nobody saw the result.
    const applied = await store.markVerifying(actionId, inc.id, step, { event: 'applied', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail });
    if (!applied) {
      // Finished meanwhile by another replica that took the incident over (this one looked dead): it owns it now.
      this.d.logger.warn({ incident: inc.id, action }, 'action finished by another replica meanwhile; leaving the incident to it');
      throw new Stopped();
    }
    const row: Executed = { id: actionId, service, action, target: plan.targetName, step, started_at: startedAt };
    return this.verifyAndFinish(inc, plan, row, vars, { observed: true, detail: result.detail, applied: result.reason });
  }

  /**
   * A guardrail refused the action. One that lifts by itself defers it (recorded, durable) until it lifts, within
   * maxDefer of the first refusal; one that does not (pause), or past that deadline, skips or escalates.
   * Returns the deferral to wait for, or how the step ended.
   */
  private async deferOrSkip(inc: IncidentRow, plan: Plan, step: number, action: ActionName, verdict: GuardVerdict, announce: Announce | undefined, current: Deferral | undefined): Promise<Deferral | 'skipped' | 'ended'> {
    const { store, metrics } = this.d;
    const maxDefer = this.maxDefer(plan);
    if (!LIFTING_GUARDRAILS.has(verdict.guardrail) || verdict.liftsAt === NEVER || maxDefer <= 0) {
      return this.skip(inc, plan, step, action, verdict.reason, announce, verdict.guardrail);
    }
    const service = inc.service ?? plan.targetName;
    const now = this.now();
    const deadline = current?.deadline ?? now + maxDefer;
    // An end at or before now (the counters moved since they were read) is no end: look again shortly.
    const liftsAt = verdict.liftsAt !== undefined && verdict.liftsAt > now ? verdict.liftsAt : undefined;
    if ((liftsAt !== undefined && liftsAt > deadline) || (liftsAt === undefined && now >= deadline)) {
      const reason = `${verdict.reason}; it cannot run within maxDefer (${roughDuration(maxDefer)} after it was first held back)`;
      await store.recordStep({
        announce,
        action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'skipped', reason, started_at: now, finished_at: now },
        event: { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason },
      });
      metrics.recordOutcome(service, action, 'skipped', now);
      metrics.recordRefusal(verdict.guardrail, 'escalated');
      await this.escalate(inc, plan, { reason: this.heldBack(await store.actionsOf(inc.id), action, `was held back: ${reason}`) });
      return 'ended';
    }
    if (this.d.simulate) {
      // Replay runs on the alerts' clock and does not wait: it records the deferral and moves on.
      await store.recordStep({
        announce,
        action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'deferred', reason: verdict.reason, started_at: now, finished_at: now },
        event: { event: 'deferred', incidentId: inc.id, service, action, target: plan.targetName, reason: verdict.reason },
        update: { phase: 'deferred', step, reason: verdict.reason, deferredUntil: liftsAt ?? now + DEFER_RECHECK_SECONDS, deferDeadline: deadline },
      });
      metrics.recordOutcome(service, action, 'deferred', now);
      return 'ended';
    }
    const until = liftsAt ?? Math.min(now + DEFER_RECHECK_SECONDS, deadline);
    const reason = `deferred: ${verdict.reason}; decided again at ${iso(until)} (given up at ${iso(deadline)})`;
    const update: IncidentUpdate = { phase: 'deferred', step, reason, deferredUntil: until, deferDeadline: deadline };
    const event: AuditEvent = { event: 'deferred', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: verdict.reason,
      detail: { guardrail: verdict.guardrail, until: iso(until), deadline: iso(deadline) } };
    if (!current) {
      // First refusal of this step: an action row (`deferred`) and the audit event, with the incident's new phase.
      await store.recordStep({
        announce,
        action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'deferred', reason: verdict.reason, started_at: now, finished_at: now },
        event, update,
      });
      metrics.recordOutcome(service, action, 'deferred', now);
      metrics.recordRefusal(verdict.guardrail, 'deferred');
      this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason: verdict.reason, until: iso(until) }, 'action deferred');
    } else {
      // Held back again: the incident says until when; the audit only when the guardrail changed (no row per re-check).
      await store.updateIncident(inc.id, update, current.guardrail === verdict.guardrail ? undefined : event);
    }
    return { until, deadline, guardrail: verdict.guardrail };
  }

  /** Waits for a deferral to end: its time comes, capacity frees up (maxConcurrent), or the alert resolves. */
  private async waitDeferred(incidentId: number, deferral: Deferral): Promise<'due' | 'resolved'> {
    this.deferredWaits.add(incidentId);
    if (deferral.guardrail === 'max_concurrent') this.capacityWaits.add(incidentId);
    this.changed();
    try {
      for (;;) {
        this.checkStopped();
        const row = await this.d.store.incident(incidentId);
        if (!row || row.phase === 'done') throw new Stopped(); // finished elsewhere (another replica took it over)
        if (row.resolved_at) return 'resolved';
        if (this.now() >= deferral.until) return 'due';
        const why = await this.pause(incidentId, deferral.until);
        if (why === 'capacity') return 'due';
      }
    } finally {
      this.deferredWaits.delete(incidentId);
      this.capacityWaits.delete(incidentId);
      this.changed();
    }
  }

  /** The alert resolved while its action was deferred: the action is dropped, and that is recorded. */
  private async drop(inc: IncidentRow, plan: Plan, step: number, action: ActionName): Promise<'ended'> {
    const service = inc.service ?? plan.targetName;
    const reason = `the alert resolved while ${action} was deferred; not run`;
    await this.d.store.updateIncident(inc.id, { phase: 'done', result: 'resolved', reason, step },
      { event: 'dropped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason });
    this.d.logger.info({ incident: inc.id, service, action }, 'deferred action dropped: the alert resolved');
    return 'ended';
  }

  /**
   * Polls the verification condition until it holds, the alert resolves, or the deadline passes. `observed`: the
   * actuator's answer was seen; if not (the service stopped while it ran) and nothing can verify it, the outcome
   * is `unknown`.
   */
  private async verifyAndFinish(inc: IncidentRow, plan: Plan, row: Executed, vars: TemplateVars, o: { observed: boolean; detail?: Record<string, unknown>; applied?: string }): Promise<'succeeded' | 'failed' | 'unknown'> {
    const { store, config, metrics } = this.d;
    const service = row.service;
    if (!o.observed) await store.updateIncident(inc.id, { phase: 'verifying', step: row.step });
    const finish = async (outcome: 'succeeded' | 'failed' | 'unknown', verdict: string): Promise<'succeeded' | 'failed' | 'unknown'> => {
      const reason = o.applied ? `${o.applied}; ${verdict}` : verdict;
      await store.finishAction(row.id, outcome, reason, o.detail, { event: outcome, incidentId: inc.id, fingerprint: inc.fingerprint, service, action: row.action, target: row.target, reason },
        outcome === 'succeeded' ? { phase: 'done', result: 'healed', reason, step: row.step } : undefined);
      this.capacityFreed();
      const at = this.now();
      metrics.recordOutcome(service, row.action, outcome, at);
      this.d.logger.info({ incident: inc.id, service, action: row.action, reason }, `action ${outcome}`);
      if (this.d.grafana) {
        this.d.grafana.annotate(`selfheal ${row.action} on ${row.target} (${service}): ${outcome} — ${reason}`, [`service:${service}`, `action:${row.action}`, `outcome:${outcome}`], at * 1000)
          .catch((err: unknown) => this.d.logger.warn({ err: errorMessage(err) }, 'Grafana annotation failed'));
      }
      return outcome;
    };
    const v = plan.rule.verify;
    const unverifiable = v === false ? 'verification disabled by the rule' : !this.d.prometheus ? 'no prometheus.url configured' : undefined;
    if (unverifiable) {
      if (o.observed) return finish('succeeded', v === false ? 'applied (verification disabled by the rule)' : 'applied (not verified: no prometheus.url configured)');
      if ((await store.incident(inc.id))?.resolved_at) return finish('succeeded', 'the alert resolved');
      return finish('unknown', `outcome unknown: the service stopped while ${row.action} was running, before its result was seen, and it cannot be verified (${unverifiable})`);
    }
    const rv = v === false ? undefined : v;
    const query = render(rv?.query ?? config.verify.query, vars, promqlEscape);
    const interval = rv?.interval ?? config.verify.interval;
    const timeout = rv?.timeout ?? config.verify.timeout;
    const deadline = row.started_at + timeout;
    let lastError = '';
    for (;;) {
      this.checkStopped();
      if ((await store.incident(inc.id))?.resolved_at) return finish('succeeded', 'the alert resolved');
      if (!this.d.prometheus) throw new Error('unreachable: verification without Prometheus');
      try {
        if (await this.d.prometheus.holds(query, this.abort.signal)) return finish('succeeded', `verified: ${query}`);
        lastError = '';
      } catch (err) {
        this.checkStopped();
        lastError = errorMessage(err);
      }
      const now = this.now();
      if (deadline - now <= 0) return finish('failed', `verification failed: ${query} did not hold within ${roughDuration(timeout)}${lastError ? ` (last error: ${lastError})` : ''}`);
      await this.pause(inc.id, Math.min(now + interval, deadline));
    }
  }

  /** Tells people (the escalation webhook) and closes the incident: `escalated`, or `unknown` when an outcome was never seen. */
  private async escalate(inc: IncidentRow, plan: Plan, o: { reason: string; result?: 'escalated' | 'unknown' }): Promise<void> {
    const { store } = this.d;
    const service = inc.service ?? plan.targetName;
    const result = o.result ?? 'escalated';
    let notified = 'no notification webhook configured';
    if (this.d.notifier) {
      const headline = result === 'unknown'
        ? `:warning: Selfheal does not know whether it healed ${service}: ${o.reason}. A person needs to check.`
        : `:rotating_light: Selfheal could not heal ${service}: ${o.reason}. A person is needed.`;
      try {
        await this.d.notifier.send(headline, {
          service, target: plan.targetName, rule: plan.rule.name, alert: JSON.parse(inc.labels).alertname ?? '', fingerprint: inc.fingerprint, startsAt: inc.starts_at,
        });
        notified = 'notification sent';
      } catch (err) {
        notified = `notification failed: ${errorMessage(err)}`;
      }
    }
    await store.updateIncident(inc.id, { phase: 'done', result, reason: `${o.reason}; ${notified}` },
      { event: 'escalated', incidentId: inc.id, fingerprint: inc.fingerprint, service, target: plan.targetName, reason: `${o.reason}; ${notified}` });
  }
}
