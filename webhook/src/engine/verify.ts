// The verify stage: polls the verification condition (PromQL) until it holds, the alert resolves, or the deadline
// passes, then records how the action ended. `observed`: the actuator's answer was seen; if not (the service
// stopped while it ran) and nothing can verify it, the outcome is `unknown`.
import { roughDuration } from '@selfheal/contracts';
import { errorMessage } from '../actuators/types.js';
import type { IncidentRow } from '../audit/types.js';
import type { Plan } from '../policy/policy.js';
import { render, type TemplateVars } from '../util/template.js';
import type { Applied } from './act.js';
import { promqlEscape } from '../util/promql.js';
import { armRevert } from './revert-arm.js';
import type { EngineContext, Executed, FinalStage } from './stage.js';

export type Verified = 'succeeded' | 'failed' | 'unknown';

export const verify: FinalStage<Applied> = async (ctx, s, a) => ({
  end: await verifyAndFinish(ctx, s.inc, s.plan, a.row, s.vars, { observed: true, detail: a.detail, applied: a.applied }),
});

/** Also run for an action found open after a restart (observed or not). */
export async function verifyAndFinish(ctx: EngineContext, inc: IncidentRow, plan: Plan, row: Executed, vars: TemplateVars, o: { observed: boolean; detail?: Record<string, unknown>; applied?: string }): Promise<Verified> {
  const { store, config, metrics, prometheus } = ctx.d;
  const service = row.service;
  if (!o.observed) await store.updateIncident(inc.id, { phase: 'verifying', step: row.step });
  const finish = async (outcome: Verified, verdict: string): Promise<Verified> => {
    const reason = o.applied ? `${o.applied}; ${verdict}` : verdict;
    // A fix that undoes itself (revertAfter): its revert is armed in the same commit as its success.
    const revert = outcome === 'succeeded' ? await armRevert(ctx, inc, plan, row, o.detail) : undefined;
    await store.finishAction(row.id, outcome, reason, o.detail, { event: outcome, incidentId: inc.id, fingerprint: inc.fingerprint, service, action: row.action, target: row.target, reason },
      outcome === 'succeeded' ? { phase: 'done', result: 'healed', reason, step: row.step } : undefined, revert);
    if (revert) ctx.revertArmed?.();
    ctx.waits.capacityFreed();
    const at = ctx.now();
    metrics.recordOutcome(service, row.action, outcome, at);
    ctx.d.logger.info({ incident: inc.id, service, action: row.action, reason }, `action ${outcome}`);
    if (ctx.d.grafana) {
      ctx.d.grafana.annotate(`selfheal ${row.action} on ${row.target} (${service}): ${outcome} — ${reason}`, [`service:${service}`, `action:${row.action}`, `outcome:${outcome}`], at * 1000)
        .catch((err: unknown) => ctx.d.logger.warn({ err: errorMessage(err) }, 'Grafana annotation failed'));
    }
    return outcome;
  };
  const v = plan.rule.verify;
  const unverifiable = v === false ? 'verification disabled by the rule' : !prometheus ? 'no prometheus.url configured' : undefined;
  if (v === false || !prometheus) {
    if (o.observed) return finish('succeeded', v === false ? 'applied (verification disabled by the rule)' : 'applied (not verified: no prometheus.url configured)');
    if ((await store.incident(inc.id))?.resolved_at) return finish('succeeded', 'the alert resolved');
    return finish('unknown', `outcome unknown: the service stopped while ${row.action} was running, before its result was seen, and it cannot be verified (${unverifiable})`);
  }
  const query = render(v?.query ?? config.verify.query, vars, promqlEscape);
  const interval = v?.interval ?? config.verify.interval;
  const timeout = v?.timeout ?? config.verify.timeout;
  const deadline = row.started_at + timeout;
  let lastError = '';
  for (;;) {
    ctx.checkStopped();
    if ((await store.incident(inc.id))?.resolved_at) return finish('succeeded', 'the alert resolved');
    try {
      if (await prometheus.holds(query, ctx.signal)) return finish('succeeded', `verified: ${query}`);
      lastError = '';
    } catch (err) {
      ctx.checkStopped();
      lastError = errorMessage(err);
    }
    const now = ctx.now();
    if (deadline - now <= 0) return finish('failed', `verification failed: ${query} did not hold within ${roughDuration(timeout)}${lastError ? ` (last error: ${lastError})` : ''}`);
    await ctx.waits.sleep(inc.id, Math.min(now + interval, deadline));
  }
}
