// The two ways a step ends without running its action: skipped (a guardrail that does not lift, a refusal, the
// alert resolved before it started), or dropped (the alert resolved while the action was deferred).
import type { Guardrail } from '@selfheal/contracts';
import type { Announce, EngineContext, StepRef } from './stage.js';

export async function skip(ctx: EngineContext, s: StepRef, reason: string, announce?: Announce, guardrail?: Guardrail): Promise<'skipped'> {
  const { inc, plan, step, action, service } = s;
  const now = ctx.now();
  await ctx.d.store.recordStep({
    announce,
    action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, change: plan.change, step, status: 'skipped', reason, started_at: now, finished_at: now },
    event: { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason },
    update: { phase: 'done', result: 'skipped', reason },
  });
  ctx.d.metrics.recordOutcome(service, action, 'skipped', now);
  // After a failed step, a refusal is escalated to people (the incident's run does so).
  if (guardrail) ctx.d.metrics.recordRefusal(guardrail, step > 0 ? 'escalated' : 'skipped');
  ctx.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason }, 'action skipped');
  return 'skipped';
}

/** The alert resolved while its action was deferred: the action is dropped, and that is recorded. */
export async function drop(ctx: EngineContext, s: StepRef): Promise<'ended'> {
  const { inc, plan, step, action, service } = s;
  const reason = `the alert resolved while ${action} was deferred; not run`;
  await ctx.d.store.updateIncident(inc.id, { phase: 'done', result: 'resolved', reason, step },
    { event: 'dropped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason });
  ctx.d.logger.info({ incident: inc.id, service, action }, 'deferred action dropped: the alert resolved');
  return 'ended';
}
