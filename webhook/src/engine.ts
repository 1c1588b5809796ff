// The healing engine: for each new alert occurrence, decide (policy), guard (guardrails), act (actuator),
// verify (PromQL) and escalate (next action, then people). Every step is written to the store before it
// happens, so a restart resumes where it stopped and never repeats an action that had started. With several
// replicas on one PostgreSQL store, an incident is worked on by the replica that claimed it in the store.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ActionName, Outcome } from './actions.js';
import type { Actuator } from './actuators/types.js';
import { errorMessage } from './actuators/types.js';
import type { Config } from './config/schema.js';
import type { GrafanaAnnotator } from './escalation/grafana.js';
import type { Notifier } from './escalation/notify.js';
import { guardReason, guardWindows } from './guardrails/guardrails.js';
import type { PauseSwitch } from './guardrails/pause.js';
import type { HealingMetrics } from './metrics.js';
import { templateVars, type Plan, type Policy } from './policy/policy.js';
import type { ReceivedAlert } from './receiver/payload.js';
import type { ActionRow, AuditEvent, ImmediateDecision, IncidentRow, IncidentUpdate, Store } from './store/types.js';
import { formatDuration } from './util/duration.js';
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
  /** Seconds since the epoch; replay runs on the alerts' own clock. */
  now?: () => number;
  /** Replay: describe instead of execute, assume verification passes, but count actions for the guardrails. */
  simulate?: boolean;
}

type StepResult = 'succeeded' | 'failed' | 'skipped' | 'dry_run' | 'stopped';

/** A value substituted into PromQL lands inside a double-quoted string literal. */
const promqlEscape = (value: string, ref: string): string => (ref === 'entity' ? value : JSON.stringify(value).slice(1, -1));

class Stopped extends Error {}

/** The `matched` record of a pending incident, written with its first step's record. */
type Announce = { update: IncidentUpdate; event: AuditEvent };

export class HealingEngine {
  private readonly running = new Map<number, Promise<void>>();
  private readonly wakers = new Map<number, Set<() => void>>();
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly d: EngineDeps) {
    this.now = d.now ?? (() => Date.now() / 1000);
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
      .finally(() => this.running.delete(incidentId));
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

  /** A resolved notification arrived: ends any verification waiting on it. */
  onResolved(incidentId: number): void {
    for (const wake of this.wakers.get(incidentId) ?? []) wake();
  }

  /** After a restart, or when another replica died: picks up every unfinished incident left to this one. */
  async recover(): Promise<number> {
    const open = await this.d.store.takeOver();
    for (const id of open) void this.submit(id);
    return open.length;
  }

  /** Resolves when no incident is being worked on. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  get busy(): number {
    return this.running.size;
  }

  /** Stops working: tasks stop at their next step, leaving durable state for the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const set of this.wakers.values()) for (const wake of set) wake();
    await Promise.allSettled([...this.running.values()]);
  }

  private checkStopped(): void {
    if (this.abort.signal.aborted) throw new Stopped();
  }

  /** Sleeps up to `seconds`, waking early when the incident resolves or the engine stops. */
  private async pause(incidentId: number, seconds: number): Promise<void> {
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => { wake = resolve; });
    const set = this.wakers.get(incidentId) ?? new Set();
    set.add(wake);
    this.wakers.set(incidentId, set);
    const timer = new AbortController();
    try {
      await Promise.race([woken, sleep(Math.max(0, seconds) * 1000, undefined, { signal: timer.signal }).catch(() => undefined)]);
    } finally {
      timer.abort();
      set.delete(wake);
      if (set.size === 0) this.wakers.delete(incidentId);
    }
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
    if (inc.phase === 'pending') {
      announce = { update: { phase: 'acting', rule: plan.rule.name, target: plan.targetName, step: 0 }, event: this.matchedEvent(incidentId, inc.fingerprint, service, plan) };
    } else {
      // Resumed after a restart (or taken over from a dead replica). An action that had started is never run
      // again: we verify it instead.
      const open = await store.openAction(incidentId);
      const last = await store.lastAction(incidentId);
      if (!open && last) {
        // Stopped between steps: carry on after the last recorded one.
        if (last.status !== 'failed') {
          await store.updateIncident(incidentId, { phase: 'done', result: last.status === 'succeeded' ? 'healed' : last.status, reason: last.reason });
          return;
        }
        step = last.step + 1;
      }
      if (open) {
        await store.audit({ event: 'interrupted', incidentId, fingerprint: inc.fingerprint, service, action: open.action, target: open.target, reason: `the service restarted while ${open.action} was ${open.status === 'started' ? 'running' : 'being verified'}; not repeating it, verifying instead` });
        const result = await this.verifyAndFinish(inc, plan, open, { ...baseVars, action: open.action, target: open.target });
        if (result === 'succeeded') return;
        step = open.step + 1;
      }
    }
    for (; step < plan.steps.length; step++) {
      const result = await this.attempt(inc, plan, step, baseVars, announce);
      announce = undefined;
      if (result === 'failed') continue;
      // An earlier action failed and the next one may not run (guardrail, refusal): people must know.
      if (result === 'skipped' && step > 0) await this.escalate(inc, plan, `${plan.steps[step]?.action ?? 'the next action'} was skipped: ${(await store.lastAction(incidentId))?.reason ?? ''}`);
      return; // succeeded / skipped / dry_run closed the incident themselves; stopped leaves it for the next start
    }
    await this.escalate(inc, plan);
  }

  private async skip(inc: IncidentRow, plan: Plan, step: number, action: ActionName, reason: string, announce?: Announce): Promise<'skipped'> {
    const service = inc.service ?? plan.targetName;
    const now = this.now();
    await this.d.store.recordStep({
      announce,
      action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'skipped', reason, started_at: now, finished_at: now },
      event: { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason },
      update: { phase: 'done', result: 'skipped', reason },
    });
    this.d.metrics.recordOutcome(service, action, 'skipped', now);
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason }, 'action skipped');
    return 'skipped';
  }

  private async attempt(inc: IncidentRow, plan: Plan, step: number, baseVars: TemplateVars, announceFirst?: Announce): Promise<StepResult> {
    let announce = announceFirst;
    const { store, config, metrics } = this.d;
    const planned = plan.steps[step];
    if (!planned) return 'failed';
    const { action } = planned;
    const service = inc.service ?? plan.targetName;
    const vars: TemplateVars = { ...baseVars, action, target: plan.targetName };
    const actuator = this.d.actuators.get(plan.target.actuator);
    if (!actuator) return this.skip(inc, plan, step, action, `actuator "${plan.target.actuator}" is not available`, announce);
    this.checkStopped();
    if ((await store.incident(inc.id))?.resolved_at) return this.skip(inc, plan, step, action, 'the alert resolved before the action started', announce);

    // Blast-radius guard (asynchronous): fail safe, an unanswerable precondition blocks the action.
    if (plan.rule.precondition && !this.d.simulate) {
      if (announce) await store.updateIncident(inc.id, announce.update, announce.event); // before waiting on Prometheus, so the audit keeps its order
      announce = undefined;
      if (!this.d.prometheus) return this.skip(inc, plan, step, action, 'blast-radius precondition set but no prometheus.url configured');
      const q = render(plan.rule.precondition, vars, promqlEscape);
      let holds: boolean;
      try {
        holds = await this.d.prometheus.holds(q, this.abort.signal);
      } catch (err) {
        this.checkStopped();
        return this.skip(inc, plan, step, action, `blast-radius precondition could not be evaluated: ${errorMessage(err)}`);
      }
      this.checkStopped();
      if (!holds) return this.skip(inc, plan, step, action, `blast-radius guard: precondition ${q} does not hold`);
    }

    let now = this.now();
    const description = actuator.describe({ action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, prometheus: this.d.prometheus });
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
    now = this.now();
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
    if (!claim.ok && claim.lost) {
      this.d.logger.warn({ incident: inc.id, reason: claim.reason }, 'incident taken over by another replica; leaving it');
      throw new Stopped();
    }
    if (!claim.ok) return this.skip(inc, plan, step, action, claim.reason, announce);
    const actionId = claim.actionId;
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName }, `action started: ${description}`);

    if (this.d.simulate) {
      await store.finishAction(actionId, 'succeeded', `replay: would ${description}`, { replay: true }, { event: 'succeeded', incidentId: inc.id, service, action, target: plan.targetName, reason: 'replay (not executed)' },
        { phase: 'done', result: 'healed', reason: 'replay' });
      metrics.recordOutcome(service, action, 'succeeded', now);
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
      metrics.recordOutcome(service, action, status, this.now());
      this.d.logger.warn({ incident: inc.id, service, action, reason: result.reason }, `action ${status}`);
      return status === 'skipped' ? 'skipped' : 'failed';
    }
    await store.audit({ event: 'applied', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail });
    const row = await store.openAction(inc.id);
    if (!row) {
      // Finished meanwhile by another replica that took the incident over (this one looked dead): it owns it now.
      this.d.logger.warn({ incident: inc.id, action }, 'action finished by another replica meanwhile; leaving the incident to it');
      throw new Stopped();
    }
    return this.verifyAndFinish(inc, plan, row, vars, result.detail, result.reason);
  }

  /** Polls the verification condition until it holds, the alert resolves, or the deadline passes. */
  private async verifyAndFinish(inc: IncidentRow, plan: Plan, row: ActionRow, vars: TemplateVars, detail?: Record<string, unknown>, applied?: string): Promise<'succeeded' | 'failed'> {
    const { store, config, metrics } = this.d;
    const service = row.service;
    await store.markVerifying(row.id, inc.id, row.step);
    const finish = async (ok: boolean, verdict: string): Promise<'succeeded' | 'failed'> => {
      const outcome = ok ? 'succeeded' : 'failed';
      const reason = applied ? `${applied}; ${verdict}` : verdict;
      await store.finishAction(row.id, outcome, reason, detail, { event: outcome, incidentId: inc.id, fingerprint: inc.fingerprint, service, action: row.action, target: row.target, reason },
        ok ? { phase: 'done', result: 'healed', reason, step: row.step } : undefined);
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
    if (v === false) return finish(true, 'applied (verification disabled by the rule)');
    if (!this.d.prometheus) return finish(true, 'applied (not verified: no prometheus.url configured)');
    const query = render(v?.query ?? config.verify.query, vars, promqlEscape);
    const interval = v?.interval ?? config.verify.interval;
    const deadline = row.started_at + (v?.timeout ?? config.verify.timeout);
    let lastError = '';
    for (;;) {
      this.checkStopped();
      if ((await store.incident(inc.id))?.resolved_at) return finish(true, 'the alert resolved');
      try {
        if (await this.d.prometheus.holds(query, this.abort.signal)) return finish(true, `verified: ${query}`);
        lastError = '';
      } catch (err) {
        this.checkStopped();
        lastError = errorMessage(err);
      }
      const left = deadline - this.now();
      if (left <= 0) return finish(false, `verification failed: ${query} did not hold within ${formatDuration(deadline - row.started_at)}${lastError ? ` (last error: ${lastError})` : ''}`);
      await this.pause(inc.id, Math.min(interval, left));
    }
  }

  private async escalate(inc: IncidentRow, plan: Plan, why?: string): Promise<void> {
    const { store } = this.d;
    const service = inc.service ?? plan.targetName;
    const tried = (await store.actionsOf(inc.id)).filter((a) => a.status === 'failed').map((a) => a.action);
    const reason = why ? `${tried.join(' -> ')} failed and ${why}` : `every action failed (${plan.steps.map((s) => s.action).join(' -> ')})`;
    let notified = 'no notification webhook configured';
    if (this.d.notifier) {
      try {
        await this.d.notifier.send(`:rotating_light: Selfheal could not heal ${service}: ${reason}. A person is needed.`, {
          service, target: plan.targetName, rule: plan.rule.name, alert: JSON.parse(inc.labels).alertname ?? '', fingerprint: inc.fingerprint, startsAt: inc.starts_at,
        });
        notified = 'notification sent';
      } catch (err) {
        notified = `notification failed: ${errorMessage(err)}`;
      }
    }
    await store.updateIncident(inc.id, { phase: 'done', result: 'escalated', reason: `${reason}; ${notified}` },
      { event: 'escalated', incidentId: inc.id, fingerprint: inc.fingerprint, service, target: plan.targetName, reason: `${reason}; ${notified}` });
  }
}
