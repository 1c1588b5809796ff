// The healing engine: for each new alert occurrence, decide (policy), guard (guardrails), act (actuator),
// verify (PromQL) and escalate (next action, then people). Every step is written to the store before it
// happens, so a restart resumes where it stopped and never repeats an action that had started.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ActionName, Outcome } from './actions.js';
import type { Actuator } from './actuators/types.js';
import { errorMessage } from './actuators/types.js';
import type { Config } from './config/schema.js';
import type { GrafanaAnnotator } from './escalation/grafana.js';
import type { Notifier } from './escalation/notify.js';
import { guardReason } from './guardrails/guardrails.js';
import type { PauseSwitch } from './guardrails/pause.js';
import type { HealingMetrics } from './metrics.js';
import { templateVars, type Plan, type Policy } from './policy/policy.js';
import type { ActionRow, HealingStore, IncidentRow } from './store/store.js';
import { formatDuration } from './util/duration.js';
import { render, type TemplateVars } from './util/template.js';
import type { PrometheusClient } from './verify/prometheus.js';

export interface EngineDeps {
  config: Config;
  store: HealingStore;
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
        try {
          this.d.store.updateIncident(incidentId, { phase: 'done', result: 'failed', reason: `internal error: ${errorMessage(err)}` }, { event: 'failed', incidentId, reason: `internal error: ${errorMessage(err)}` });
        } catch { /* store closed */ }
      })
      .finally(() => this.running.delete(incidentId));
    this.running.set(incidentId, task);
    return task;
  }

  private queued: number[] = [];

  /**
   * Starts work on new incidents in batches: everything the decisions write synchronously (matched, skipped,
   * dry-run) lands in one transaction per batch. Real actions yield first (see attempt), so their `started`
   * row is committed durably on its own, after the batch.
   */
  enqueue(incidentId: number): void {
    this.queued.push(incidentId);
    if (this.queued.length > 1) return;
    setImmediate(() => {
      const ids = this.queued;
      this.queued = [];
      if (this.abort.signal.aborted) return;
      try {
        this.d.store.tx(() => { for (const id of ids) void this.submit(id); });
      } catch (err) {
        this.d.logger.error({ err }, 'could not start work on new incidents; they resume at the next start');
      }
    });
  }

  /** A resolved notification arrived: ends any verification waiting on it. */
  onResolved(incidentId: number): void {
    for (const wake of this.wakers.get(incidentId) ?? []) wake();
  }

  /** After a restart: picks up every incident that was not finished. */
  recover(): number {
    const open = this.d.store.unfinishedIncidents();
    for (const inc of open) void this.submit(inc.id);
    return open.length;
  }

  /** Resolves when no incident is being worked on. */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.queued.length > 0) {
      if (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
      else await new Promise((resolve) => setImmediate(resolve));
    }
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
    const inc = store.incident(incidentId);
    if (!inc || inc.phase === 'done') return;
    const alert = { labels: JSON.parse(inc.labels) as Record<string, string>, annotations: JSON.parse(inc.annotations) as Record<string, string>, fingerprint: inc.fingerprint, status: 'firing', startsAt: inc.starts_at };
    const baseVars = templateVars(alert, this.d.config.verify.nonEntityLabels);
    const service = inc.service ?? 'unknown';

    if (inc.phase === 'pending' && inc.resolved_at) {
      store.updateIncident(incidentId, { phase: 'done', result: 'resolved', reason: 'resolved before any action' });
      return;
    }
    const decision = policy.decide(alert.labels, baseVars);
    if (decision.kind === 'skip') {
      store.updateIncident(incidentId, { phase: 'done', result: decision.rule ? 'skipped' : 'no_rule', reason: decision.reason, rule: decision.rule },
        { event: 'skipped', incidentId, fingerprint: inc.fingerprint, service, action: decision.action, reason: decision.reason });
      if (decision.rule && decision.action) this.d.metrics.recordOutcome(service, decision.action, 'skipped', this.now());
      return;
    }
    const plan = decision.plan;
    let step = inc.step;
    // Written in the same transaction as the first step's record (one commit per alert on the fast path).
    let announce: (() => void) | undefined;
    if (inc.phase === 'pending') {
      announce = () => store.updateIncident(incidentId, { phase: 'acting', rule: plan.rule.name, target: plan.targetName, step: 0 },
        { event: 'matched', incidentId, fingerprint: inc.fingerprint, service, target: plan.targetName, reason: `rule "${plan.rule.name}"`, detail: { actions: plan.steps.map((s) => s.action), dryRun: plan.dryRun } });
    } else {
      // Resumed after a restart. An action that had started is never run again: we verify it instead.
      const open = store.openAction(incidentId);
      const last = store.lastAction(incidentId);
      if (!open && last) {
        // Stopped between steps: carry on after the last recorded one.
        if (last.status !== 'failed') {
          store.updateIncident(incidentId, { phase: 'done', result: last.status === 'succeeded' ? 'healed' : last.status, reason: last.reason });
          return;
        }
        step = last.step + 1;
      }
      if (open) {
        store.audit({ event: 'interrupted', incidentId, fingerprint: inc.fingerprint, service, action: open.action, target: open.target, reason: `the service restarted while ${open.action} was ${open.status === 'started' ? 'running' : 'being verified'}; not repeating it, verifying instead` });
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
      if (result === 'skipped' && step > 0) await this.escalate(inc, plan, `${plan.steps[step]?.action ?? 'the next action'} was skipped: ${store.lastAction(incidentId)?.reason ?? ''}`);
      return; // succeeded / skipped / dry_run closed the incident themselves; stopped leaves it for the next start
    }
    await this.escalate(inc, plan);
  }

  private skip(inc: IncidentRow, plan: Plan, step: number, action: ActionName, reason: string, announce?: () => void): 'skipped' {
    const service = inc.service ?? plan.targetName;
    const now = this.now();
    const { store } = this.d;
    store.tx(() => {
      announce?.();
      store.insertAction({ incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'skipped', reason, started_at: now, finished_at: now },
        { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason });
      store.updateIncident(inc.id, { phase: 'done', result: 'skipped', reason });
    });
    this.d.metrics.recordOutcome(service, action, 'skipped', now);
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason }, 'action skipped');
    return 'skipped';
  }

  private async attempt(inc: IncidentRow, plan: Plan, step: number, baseVars: TemplateVars, announceFirst?: () => void): Promise<StepResult> {
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
    if (store.incident(inc.id)?.resolved_at) return this.skip(inc, plan, step, action, 'the alert resolved before the action started', announce);

    // Blast-radius guard (asynchronous): fail safe, an unanswerable precondition blocks the action.
    if (plan.rule.precondition && !this.d.simulate) {
      announce?.(); // before waiting on Prometheus, so the audit keeps its order
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
      store.tx(() => {
        announce?.();
        store.insertAction({ incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'dry_run', reason: `dry run: would ${description}`, started_at: now, finished_at: now },
          { event: 'dry_run', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: `would ${description}` });
        store.updateIncident(inc.id, { phase: 'done', result: 'dry_run', reason: null });
      });
      metrics.recordOutcome(service, action, 'dry_run', now);
      return 'dry_run';
    }
    // Leave any batch transaction (see enqueue) before the guard check and the durable `started` commit.
    await Promise.resolve();
    this.checkStopped();
    now = this.now();
    const cooldown = plan.rule.cooldown ?? config.guardrails.cooldown;
    // Synchronous from here to the insert of the `started` row: limits cannot be raced.
    const blocked = guardReason(config.guardrails, store, this.d.pause, { incidentId: inc.id, target: plan.targetName, cooldownSeconds: cooldown, now });
    if (blocked) return this.skip(inc, plan, step, action, blocked, announce);
    // On disk before the action runs: after a crash this row stops the action from being repeated.
    const actionId = store.durably(() => {
      announce?.();
      store.updateIncident(inc.id, { phase: 'acting', step });
      return store.insertAction({ incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, step, status: 'started', reason: description, started_at: now, cooldown_until: now + cooldown },
        { event: 'started', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: description });
    });
    this.d.logger.info({ incident: inc.id, service, action, target: plan.targetName }, `action started: ${description}`);

    if (this.d.simulate) {
      store.tx(() => {
        store.finishAction(actionId, 'succeeded', `replay: would ${description}`, { replay: true }, { event: 'succeeded', incidentId: inc.id, service, action, target: plan.targetName, reason: 'replay (not executed)' });
        store.updateIncident(inc.id, { phase: 'done', result: 'healed', reason: 'replay' });
      });
      metrics.recordOutcome(service, action, 'succeeded', now);
      return 'succeeded';
    }

    const t0 = performance.now();
    const result = await actuator.execute({ action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, signal: this.abort.signal, prometheus: this.d.prometheus });
    metrics.actionDuration.observe({ action }, (performance.now() - t0) / 1000);
    this.checkStopped(); // a stop mid-action leaves `started`: the next start verifies instead of repeating
    if (result.outcome !== 'succeeded') {
      const status: Outcome = result.outcome;
      store.finishAction(actionId, status, result.reason, result.detail, { event: status, incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail });
      metrics.recordOutcome(service, action, status, this.now());
      this.d.logger.warn({ incident: inc.id, service, action, reason: result.reason }, `action ${status}`);
      if (status === 'skipped') {
        store.updateIncident(inc.id, { phase: 'done', result: 'skipped', reason: result.reason });
        return 'skipped';
      }
      return 'failed';
    }
    store.audit({ event: 'applied', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail });
    const row = store.openAction(inc.id);
    if (!row) return 'failed';
    return this.verifyAndFinish(inc, plan, row, vars, result.detail, result.reason);
  }

  /** Polls the verification condition until it holds, the alert resolves, or the deadline passes. */
  private async verifyAndFinish(inc: IncidentRow, plan: Plan, row: ActionRow, vars: TemplateVars, detail?: Record<string, unknown>, applied?: string): Promise<'succeeded' | 'failed'> {
    const { store, config, metrics } = this.d;
    const service = row.service;
    store.setActionStatus(row.id, 'verifying');
    store.updateIncident(inc.id, { phase: 'verifying', step: row.step });
    const finish = (ok: boolean, verdict: string): 'succeeded' | 'failed' => {
      const outcome = ok ? 'succeeded' : 'failed';
      const reason = applied ? `${applied}; ${verdict}` : verdict;
      store.finishAction(row.id, outcome, reason, detail, { event: outcome, incidentId: inc.id, fingerprint: inc.fingerprint, service, action: row.action, target: row.target, reason });
      const at = this.now();
      metrics.recordOutcome(service, row.action, outcome, at);
      this.d.logger.info({ incident: inc.id, service, action: row.action, reason }, `action ${outcome}`);
      if (this.d.grafana) {
        this.d.grafana.annotate(`selfheal ${row.action} on ${row.target} (${service}): ${outcome} — ${reason}`, [`service:${service}`, `action:${row.action}`, `outcome:${outcome}`], at * 1000)
          .catch((err: unknown) => this.d.logger.warn({ err: errorMessage(err) }, 'Grafana annotation failed'));
      }
      if (ok) store.updateIncident(inc.id, { phase: 'done', result: 'healed', reason, step: row.step });
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
      if (store.incident(inc.id)?.resolved_at) return finish(true, 'the alert resolved');
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
    const tried = store.listActions({ service: inc.service ?? undefined, limit: 50 }).filter((a) => a.incident_id === inc.id && a.status === 'failed').reverse().map((a) => a.action);
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
    store.updateIncident(inc.id, { phase: 'done', result: 'escalated', reason: `${reason}; ${notified}` },
      { event: 'escalated', incidentId: inc.id, fingerprint: inc.fingerprint, service, target: plan.targetName, reason: `${reason}; ${notified}` });
  }
}
