// Fixes that undo themselves (`revertAfter`). A revert is a durable step of its own, in the `reverts` table:
//   waiting    -> the anomaly score must stay below 1 for revertAfter (PromQL, like verification), then the
//                 guardrails (pause, dry run, blast radius, cooldown, rate limits, maxConcurrent) are checked and the
//                 revert claimed (`started`) in one durable transaction, before the actuator runs;
//   started    -> the actuator undoes the fix (Kubernetes: from the value the fix recorded; http/exec: the declared
//                 call). Found `started` after a crash, nobody saw its result: `unknown`, never repeated;
//   verifying  -> for the verification window, the score is watched: back at or above 1, the revert re-triggered
//                 the incident: `reapplying` (durable), the fix is put back (`reapplied`) and reverting stops for
//                 that target (a durable setting). Otherwise `reverted`.
// With PostgreSQL, a revert belongs to one replica (`owner`); a replica whose lease ran out loses its reverts to a
// live one. Every status change is a compare-and-set, so nothing runs twice, across a crash or across replicas.
import { OPEN_REVERT_STATUSES, roughDuration, type RevertOutcome, type RevertStatus } from '@selfheal/contracts';
import { errorMessage, type ActionRequest, type ActionResult, type Actuator } from '../actuators/types.js';
import type { IncidentRow, RevertRow, RevertTransition } from '../audit/types.js';
import { revertsStoppedKey } from '../audit/revert-sql.js';
import type { RuleConfig, TargetConfig } from '../config/schema.js';
import { guardReason, guardWindows } from '../guardrails/guardrails.js';
import { templateVars } from '../policy/policy.js';
import type { Clock } from '../util/clock.js';
import { promqlEscape } from '../util/promql.js';
import { render, type TemplateVars } from '../util/template.js';
import { calmQuery, returnedQuery } from '../verify/revert-conditions.js';
import type { RevertPlan } from './revert-arm.js';
import { executeWithRetry } from './retry.js';
import { DEFER_RECHECK_SECONDS, iso, Stopped, type EngineContext } from './stage.js';

/** What one revert works with: its row, the fix's plan, the alert's entity, the target and its actuator. */
interface RevertRun {
  r: RevertRow;
  plan: RevertPlan;
  fixDetail: Record<string, unknown>;
  inc: IncidentRow;
  vars: TemplateVars;
  rule: RuleConfig | undefined;
  target: TargetConfig;
  actuator: Actuator;
}

export class RevertRunner {
  private readonly running = new Map<number, Promise<void>>();
  private scanning: Promise<number> | undefined;
  private rescan = false;

  constructor(private readonly ctx: EngineContext, private readonly clock: Clock) {}

  /** Starts a task for every open revert this replica should work on (at start, when armed, on each lease tick). */
  scan(): Promise<number> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      let started = 0;
      do {
        this.rescan = false;
        if (this.ctx.signal.aborted) break;
        for (const r of await this.ctx.d.store.openReverts()) {
          if (this.running.has(r.id)) continue;
          started++;
          const task = this.run(r.id).catch((err: unknown) => {
            if (err instanceof Stopped || this.ctx.signal.aborted) return;
            this.ctx.d.logger.error({ err, revert: r.id }, 'revert task failed unexpectedly; it is taken up again at the next start');
          }).finally(() => this.running.delete(r.id));
          this.running.set(r.id, task);
        }
      } while (this.rescan);
      return started;
    })().finally(() => { this.scanning = undefined; });
    return this.scanning;
  }

  /** Reverts being worked on (or waited for) in this process. */
  get active(): number {
    return this.running.size;
  }

  /** Resolves once every task ended (the engine's stop signal ends their waits). */
  async stop(): Promise<void> {
    await this.scanning?.catch(() => undefined);
    await Promise.allSettled([...this.running.values()]);
  }

  private async sleep(until: number): Promise<void> {
    await this.clock.sleepUntil(until, this.ctx.signal);
    this.ctx.checkStopped();
  }

  private async run(id: number): Promise<void> {
    const { store } = this.ctx.d;
    // What this task did itself: a `started` or `reapplying` row it did not write was left by a crash.
    let claimedHere = false;
    let reapplyingHere = false;
    let deferredAs: string | undefined;
    for (let round = 0; ; round++) {
      this.ctx.checkStopped();
      const r = await store.revert(id);
      if (!r || !isOpen(r.status)) return;
      const run = await this.prepare(r);
      if (!run) return;
      switch (r.status) {
        case 'waiting': {
          const next = await this.waiting(run, deferredAs);
          if (next.claimed) claimedHere = true;
          deferredAs = next.deferredAs ?? deferredAs;
          break;
        }
        case 'started':
          if (claimedHere) await this.undo(run);
          else await this.finish(run, ['started'], 'unknown', `the service stopped while the revert of ${r.action} was running, before its result was seen; not repeating it`, true);
          break;
        case 'verifying':
          if (await this.watch(run)) reapplyingHere = true;
          break;
        case 'reapplying':
          if (reapplyingHere) await this.reapply(run);
          else await this.finish(run, ['reapplying'], 'unknown', `the service stopped while ${r.action} was being put back on ${r.target} (the revert had re-triggered the incident), before its result was seen; not repeating it; reverting stopped for this target`, true, true);
          break;
        default:
          return;
      }
    }
  }

  /** The revert's context from the store and the config; a revert whose target or actuator is gone is skipped. */
  private async prepare(r: RevertRow): Promise<RevertRun | undefined> {
    const { config, store, actuators } = this.ctx.d;
    const plan = JSON.parse(r.plan) as RevertPlan;
    const fixDetail = r.fix_detail ? (JSON.parse(r.fix_detail) as Record<string, unknown>) : {};
    const inc = await store.incident(r.incident_id);
    const target = Object.hasOwn(config.targets, r.target) ? config.targets[r.target] : undefined;
    const actuator = target ? actuators.get(target.actuator) : undefined;
    const why = !inc ? `its incident ${r.incident_id} is no longer in the store` : !target ? `target "${r.target}" is no longer in the config` : !actuator ? `actuator "${target.actuator}" is not available` : undefined;
    if (why || !inc || !target || !actuator) {
      await store.transitionRevert({ id: r.id, from: [r.status], to: r.status === 'waiting' ? 'skipped' : 'unknown', reason: `cannot revert ${r.action}: ${why ?? ''}`,
        event: { event: 'revert_skipped', incidentId: r.incident_id, service: r.service, action: r.action, target: r.target, reason: `cannot revert ${r.action}: ${why ?? ''}` } });
      this.ctx.d.metrics.reverts.record(r.service, r.action, r.status === 'waiting' ? 'skipped' : 'unknown');
      return undefined;
    }
    const alert = { labels: JSON.parse(inc.labels) as Record<string, string>, annotations: JSON.parse(inc.annotations) as Record<string, string>, fingerprint: inc.fingerprint, status: 'firing', startsAt: inc.starts_at };
    const vars = templateVars(alert, config.verify.nonEntityLabels, r.action, r.target);
    const rule = config.rules.find((x) => x.name === r.rule);
    return { r, plan, fixDetail, inc, vars, rule, target, actuator };
  }

  private verifySettings(run: RevertRun): { interval: number; window: number } {
    const v = run.rule?.verify;
    const cfg = this.ctx.d.config.verify;
    return { interval: (v ? v.interval : undefined) ?? cfg.interval, window: (v ? v.timeout : undefined) ?? cfg.timeout };
  }

  private event(run: RevertRun, event: string, reason: string, detail?: unknown) {
    const { r, inc } = run;
    return { event, incidentId: r.incident_id, fingerprint: inc.fingerprint, service: r.service, action: r.action, target: r.target, reason, ...(detail === undefined ? {} : { detail }) };
  }

  /**
   * `waiting`: until the score stayed below 1 for revertAfter and the guardrails allow it; then claimed. Returns
   * whether this call claimed it, and the refusal it recorded (recorded once per guardrail, not at every look).
   */
  private async waiting(run: RevertRun, deferredAs: string | undefined): Promise<{ claimed?: boolean; deferredAs?: string }> {
    const { store, config, prometheus, pause } = this.ctx.d;
    const { r } = run;
    const stopped = await store.getSetting(revertsStoppedKey(r.target));
    if (stopped) {
      const reason = `reverting stopped for target "${r.target}": ${(JSON.parse(stopped) as { reason?: string }).reason ?? 'a revert re-triggered its incident'}; ${r.action} stays in place`;
      await this.finish(run, ['waiting'], 'skipped', reason, false);
      return {};
    }
    const now = this.ctx.now();
    if (now < r.due_at) {
      await this.sleep(r.due_at);
      return {};
    }
    const { interval } = this.verifySettings(run);
    if (!prometheus) return this.defer(run, deferredAs, 'no prometheus.url configured: the revert condition cannot be evaluated', now + interval);
    const calm = calmQuery(run.vars.entity, r.after_seconds);
    let holds = false;
    try {
      holds = await prometheus.holds(calm, this.ctx.signal);
    } catch (err) {
      this.ctx.checkStopped();
      this.ctx.d.logger.warn({ revert: r.id, err: errorMessage(err) }, 'revert condition could not be evaluated; looking again');
    }
    if (!holds) {
      await this.sleep(now + interval);
      return {};
    }
    // The guardrails, as for an action: the pause and dry run (they hold the revert back; a fix stays in place
    // rather than being undone unwatched), the blast-radius precondition, then the store's transaction.
    const local = pause.local();
    if (config.dryRun || run.rule?.dryRun) return this.defer(run, deferredAs, 'dry run: the revert is not carried out while dry run is on', now + DEFER_RECHECK_SECONDS * 12);
    if (run.rule?.precondition) {
      const q = render(run.rule.precondition, run.vars, promqlEscape);
      let ok = false;
      try {
        ok = await prometheus.holds(q, this.ctx.signal);
      } catch (err) {
        this.ctx.checkStopped();
        return this.defer(run, deferredAs, `blast-radius precondition could not be evaluated: ${errorMessage(err)}`, now + interval, 'blast_radius');
      }
      if (!ok) return this.defer(run, deferredAs, `blast-radius guard: precondition ${q} does not hold`, now + interval, 'blast_radius');
    }
    const cooldown = run.rule?.cooldown ?? config.guardrails.cooldown;
    const description = this.describe(run);
    const result = await store.claimRevert({
      revertId: r.id, incidentId: r.incident_id, target: r.target, now, ...guardWindows(config.guardrails, now),
      check: (snapshot) => guardReason(config.guardrails, snapshot, { incidentId: r.incident_id, target: r.target, cooldownSeconds: cooldown, now }, local ? (local.reason ?? local.source) : undefined),
      reason: description,
      event: this.event(run, 'revert_started', `${description}: the anomaly score stayed below 1 for ${roughDuration(r.after_seconds)} (${calm})`),
    });
    if (result.ok) return { claimed: true };
    if (result.lost) {
      this.ctx.d.logger.warn({ revert: r.id, reason: result.reason }, 'revert taken over by another replica, or no longer waiting; leaving it');
      throw new Stopped();
    }
    const until = result.liftsAt !== undefined && Number.isFinite(result.liftsAt) && result.liftsAt > now ? result.liftsAt : now + DEFER_RECHECK_SECONDS;
    return this.defer(run, deferredAs, result.reason, until, result.guardrail);
  }

  /** A guardrail holds the revert back: recorded (once per guardrail), and looked at again at `until`. */
  private async defer(run: RevertRun, deferredAs: string | undefined, reason: string, until: number, guardrail?: string): Promise<{ deferredAs: string }> {
    const key = guardrail ?? reason;
    if (deferredAs !== key) {
      await this.ctx.d.store.audit(this.event(run, 'revert_deferred', `the revert of ${run.r.action} is held back: ${reason}; looked at again at ${iso(until)}`));
      if (deferredAs === undefined) this.ctx.d.metrics.reverts.record(run.r.service, run.r.action, 'deferred');
      this.ctx.d.logger.info({ revert: run.r.id, reason }, 'revert held back');
    }
    await this.sleep(until);
    return { deferredAs: key };
  }

  private request(run: RevertRun, params: unknown): ActionRequest {
    const { r, target, vars } = run;
    return { action: r.action, targetName: r.target, target, params, vars, signal: this.ctx.signal, prometheus: this.ctx.d.prometheus };
  }

  /** What the revert does, for the audit: the declared call (http/exec), or the value the fix replaced put back. */
  private describe(run: RevertRun): string {
    const { r, plan, actuator, fixDetail } = run;
    if (plan.call !== undefined) return `revert ${r.action}: ${actuator.describe(this.request(run, plan.call))}`;
    const from = fixDetail.from ?? fixDetail.previous;
    return `revert ${r.action} on ${r.target}${from === undefined ? '' : ` (back to ${JSON.stringify(from)})`}`;
  }

  /** `started`, claimed by this task: the actuator undoes the fix. */
  private async undo(run: RevertRun): Promise<void> {
    const { r, plan, actuator, fixDetail } = run;
    const t0 = performance.now();
    let result: ActionResult;
    if (plan.call !== undefined) result = await executeWithRetry(actuator, this.request(run, plan.call));
    else if (actuator.revert) result = await actuator.revert({ ...this.request(run, plan.params), fixDetail });
    else result = { outcome: 'skipped', reason: `the ${actuator.type} actuator cannot undo ${r.action} by itself and no revert call is declared` };
    this.ctx.d.metrics.actionDuration.observe({ action: r.action }, (performance.now() - t0) / 1000);
    this.ctx.checkStopped(); // a stop mid-revert leaves `started`: the next start records `unknown`, never repeats it
    if (result.outcome === 'succeeded') {
      const { window } = this.verifySettings(run);
      const until = this.ctx.now() + window;
      const reason = `${result.reason}; watching that the anomaly does not come back until ${iso(until)}`;
      const ok = await this.ctx.d.store.transitionRevert({ id: r.id, from: ['started'], to: 'verifying', reason: result.reason, detail: result.detail, dueAt: until,
        event: this.event(run, 'revert_applied', reason, result.detail) });
      if (!ok) throw new Stopped();
      return;
    }
    await this.finish(run, ['started'], result.outcome, result.reason, result.outcome === 'failed', false, result.detail);
  }

  /** `verifying`: the window after the revert. True when the anomaly came back and `reapplying` was recorded. */
  private async watch(run: RevertRun): Promise<boolean> {
    const { r } = run;
    const { prometheus, store } = this.ctx.d;
    const { interval, window } = this.verifySettings(run);
    const back = returnedQuery(run.vars.entity, run.vars.labels.feature);
    for (;;) {
      this.ctx.checkStopped();
      const now = this.ctx.now();
      if (now >= r.due_at) {
        await this.finish(run, ['verifying'], 'reverted', `${r.reason ?? `${r.action} reverted`}; the anomaly did not come back within ${roughDuration(window)}`, false);
        return false;
      }
      let returned = false;
      try {
        returned = prometheus ? await prometheus.holds(back, this.ctx.signal) : false;
      } catch (err) {
        this.ctx.checkStopped();
        this.ctx.d.logger.warn({ revert: r.id, err: errorMessage(err) }, 'could not look at the anomaly score after a revert; looking again');
      }
      if (returned) {
        const ok = await store.transitionRevert({ id: r.id, from: ['verifying'], to: 'reapplying',
          event: this.event(run, 'revert_retriggered', `the anomaly came back after the revert of ${r.action} (${back}): putting the fix back`) });
        if (!ok) throw new Stopped();
        return true;
      }
      await this.sleep(Math.min(now + interval, r.due_at));
    }
  }

  /** `reapplying`, recorded by this task: the fix runs again with its own parameters; reverting stops for the target. */
  private async reapply(run: RevertRun): Promise<void> {
    const { r } = run;
    const local = this.ctx.d.pause.local();
    const paused = local ? (local.reason ?? local.source) : (await this.ctx.d.pause.state()).paused ? 'api' : undefined;
    if (paused) {
      await this.finish(run, ['reapplying'], 'skipped', `the revert of ${r.action} re-triggered the incident, but the service is paused (${paused}): the fix was not put back; reverting stopped for this target`, true, true);
      return;
    }
    const result = await executeWithRetry(run.actuator, this.request(run, run.plan.params));
    this.ctx.checkStopped();
    if (result.outcome === 'succeeded') {
      await this.finish(run, ['reapplying'], 'reapplied', `the revert re-triggered the incident: ${result.reason}; reverting stopped for target "${r.target}"`, true, true, result.detail);
    } else {
      await this.finish(run, ['reapplying'], 'failed', `the revert re-triggered the incident and putting ${r.action} back ${result.outcome === 'skipped' ? 'was refused' : 'failed'}: ${result.reason}; reverting stopped for target "${r.target}"`, true, true, result.detail);
    }
  }

  /** A final status, its audit event and metric; `notify`: a person is told; `stop`: reverting stops for the target. */
  private async finish(run: RevertRun, from: RevertStatus[], outcome: Exclude<RevertOutcome, 'deferred'>, reason: string, notify: boolean, stop = false, detail?: unknown): Promise<void> {
    const { r } = run;
    const transition: RevertTransition = {
      id: r.id, from, to: outcome, reason, ...(detail === undefined ? {} : { detail }),
      event: this.event(run, outcome === 'reverted' || outcome === 'reapplied' ? outcome : `revert_${outcome}`, reason, detail),
      ...(stop ? { setting: { key: revertsStoppedKey(r.target), value: JSON.stringify({ revert: r.id, action: r.action, since: iso(this.ctx.now()), reason: `the revert of ${r.action} (incident ${r.incident_id}) re-triggered it` }) } } : {}),
    };
    if (!(await this.ctx.d.store.transitionRevert(transition))) throw new Stopped();
    this.ctx.d.metrics.reverts.record(r.service, r.action, outcome);
    this.ctx.d.logger.info({ revert: r.id, action: r.action, target: r.target, reason }, `revert ${outcome}`);
    if (notify && this.ctx.d.notifier) {
      const text = outcome === 'reapplied'
        ? `:leftwards_arrow_with_hook: Selfheal reverted ${r.action} on ${r.target}, the anomaly came back, and the fix was put back: ${reason}. Reverting stays stopped for ${r.target} until a person looks.`
        : `:warning: Selfheal could not revert ${r.action} on ${r.target} (${outcome}): ${reason}. The fix may still be in place; a person needs to check.`;
      await this.ctx.d.notifier.send(text, { service: r.service, target: r.target, action: r.action, rule: r.rule, fingerprint: run.inc.fingerprint })
        .catch((err: unknown) => this.ctx.d.logger.warn({ err: errorMessage(err) }, 'revert notification failed'));
    }
  }
}

function isOpen(status: RevertStatus): boolean {
  return (OPEN_REVERT_STATUSES as readonly RevertStatus[]).includes(status);
}
