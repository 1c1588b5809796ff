// The act stage: the claimed action runs through its actuator (with the retry stage). Its answer is recorded
// with `verifying` in one commit: a `started` row after a crash means nobody saw the result. Replay describes
// instead of acting.
import { ESCALATED_REFUSALS, type Outcome } from '@selfheal/contracts';
import { escalate, heldBack } from './escalate.js';
import { executeWithRetry } from './retry.js';
import type { Claim } from './claim.js';
import { Stopped, type Executed, type Stage } from './stage.js';

/** An action whose actuator answered: verification decides how it ended. */
export interface Applied {
  row: Executed;
  detail?: Record<string, unknown>;
  /** The actuator's reason (what it did). */
  applied: string;
}

export const act: Stage<Extract<Claim, { kind: 'claimed' }>, Applied> = async (ctx, s, { actionId, startedAt, description }) => {
  const { store, metrics } = ctx.d;
  const { inc, plan, step, action, service, vars, planned } = s;
  ctx.d.logger.info({ incident: inc.id, service, action, target: plan.targetName }, `action started: ${description}`);

  if (ctx.d.simulate) {
    await store.finishAction(actionId, 'succeeded', `replay: would ${description}`, { replay: true }, { event: 'succeeded', incidentId: inc.id, service, action, target: plan.targetName, reason: 'replay (not executed)' },
      { phase: 'done', result: 'healed', reason: 'replay' });
    metrics.recordOutcome(service, action, 'succeeded', startedAt);
    return { end: 'succeeded' };
  }

  const t0 = performance.now();
  const result = await executeWithRetry(s.actuator, { action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, signal: ctx.signal, prometheus: ctx.d.prometheus, changeWindow: ctx.d.config.changes?.window });
  metrics.actionDuration.observe({ action }, (performance.now() - t0) / 1000);
  ctx.checkStopped(); // a stop mid-action leaves `started`: the next start verifies instead of repeating
  if (result.outcome !== 'succeeded') {
    const status: Outcome = result.outcome;
    await store.finishAction(actionId, status, result.reason, result.detail, { event: status, incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail, change: plan.change },
      status === 'skipped' ? { phase: 'done', result: 'skipped', reason: result.reason } : undefined);
    ctx.waits.capacityFreed();
    metrics.recordOutcome(service, action, status, ctx.now());
    ctx.d.logger.warn({ incident: inc.id, service, action, reason: result.reason }, `action ${status}`);
    if (status === 'skipped' && result.refusal && !ESCALATED_REFUSALS.has(result.refusal)) {
      // Refused with a reason (e.g. a rollback outside the change window): counted; after a failed step the
      // incident's run escalates it, as any skipped step.
      metrics.recordRefusal(result.refusal, step > 0 ? 'escalated' : 'skipped');
    } else if (status === 'skipped' && result.refusal) {
      // Only a person can resolve it (e.g. change Git): tell one now, whatever step this was.
      metrics.recordRefusal(result.refusal, 'escalated');
      await escalate(ctx, inc, plan, { reason: heldBack(await store.actionsOf(inc.id), action, `was refused: ${result.reason}`) });
      return { end: 'ended' };
    }
    return { end: status === 'skipped' ? 'skipped' : 'failed' };
  }
  const applied = await store.markVerifying(actionId, inc.id, step, { event: 'applied', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, reason: result.reason, detail: result.detail, change: plan.change });
  if (!applied) {
    // Finished meanwhile by another replica that took the incident over (this one looked dead): it owns it now.
    ctx.d.logger.warn({ incident: inc.id, action }, 'action finished by another replica meanwhile; leaving the incident to it');
    throw new Stopped();
  }
  return { next: { row: { id: actionId, service, action, target: plan.targetName, step, started_at: startedAt }, detail: result.detail, applied: result.reason } };
};
