// Resuming an incident that was being acted on when the service stopped (or whose replica died). An action that
// had started is never run again: it is verified instead. Says which step to carry on with, or that the incident
// is finished.
import type { IncidentRow } from '../audit/types.js';
import type { Plan } from '../policy/policy.js';
import type { TemplateVars } from '../util/template.js';
import { escalate, heldBack } from './escalate.js';
import type { EngineContext } from './stage.js';
import { verifyAndFinish } from './verify.js';

export async function resumeActing(ctx: EngineContext, inc: IncidentRow, plan: Plan, baseVars: TemplateVars): Promise<{ step: number } | 'finished'> {
  const { store } = ctx.d;
  const incidentId = inc.id;
  const service = inc.service ?? 'unknown';
  let step = inc.step;
  const open = await store.openAction(incidentId);
  const last = await store.lastAction(incidentId);
  if (!open && last) {
    // Stopped between steps: carry on after the last recorded one.
    if (last.status === 'unknown') {
      await escalate(ctx, inc, plan, { result: 'unknown', reason: last.reason ?? `the outcome of ${last.action} is unknown` });
      return 'finished';
    }
    if (last.status === 'skipped' && last.step > 0) {
      await escalate(ctx, inc, plan, { reason: heldBack(await store.actionsOf(incidentId), last.action, `was skipped: ${last.reason ?? ''}`) });
      return 'finished';
    }
    if (last.status === 'deferred') step = last.step;
    else if (last.status === 'failed') step = last.step + 1;
    else {
      await store.updateIncident(incidentId, { phase: 'done', result: last.status === 'succeeded' ? 'healed' : last.status, reason: last.reason });
      return 'finished';
    }
  }
  if (open) {
    // `verifying`: the actuator's answer was recorded. `started`: it never was; the action may or may not have run.
    const observed = open.status === 'verifying';
    await store.audit({ event: 'interrupted', incidentId, fingerprint: inc.fingerprint, service, action: open.action, target: open.target,
      reason: observed ? `the service restarted while ${open.action} was being verified; not repeating it, verifying again`
        : `the service restarted while ${open.action} was running, before its result was seen; not repeating it, verifying instead` });
    const result = await verifyAndFinish(ctx, inc, plan, open, { ...baseVars, action: open.action, target: open.target }, { observed });
    if (result === 'succeeded') return 'finished';
    if (result === 'unknown') {
      await escalate(ctx, inc, plan, { result: 'unknown', reason: (await store.lastAction(incidentId))?.reason ?? `the outcome of ${open.action} is unknown` });
      return 'finished';
    }
    step = open.step + 1;
  }
  return { step };
}
