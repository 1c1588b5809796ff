// Arming a fix's revert: when a fix that declares `revertAfter` succeeds, its revert is recorded (`waiting`) in
// the commit that records the success, with what the revert needs later: the fix's parameters (to put it back if
// the anomaly returns), the undoing call (http, exec) and the value the fix replaced (its detail).
import { roughDuration } from '@selfheal/contracts';
import type { ArmRevert, IncidentRow } from '../audit/types.js';
import type { Plan } from '../policy/policy.js';
import { iso, type EngineContext, type Executed } from './stage.js';

/** What a revert keeps of the plan (the `plan` column). */
export interface RevertPlan {
  /** The fix's parameters: a fix put back runs with them again. */
  params: unknown;
  /** http/exec: the call that undoes the fix. */
  call?: unknown;
  step: number;
}

export async function armRevert(ctx: EngineContext, inc: IncidentRow, plan: Plan, row: Executed, detail: Record<string, unknown> | undefined): Promise<ArmRevert | undefined> {
  const planned = plan.steps[row.step];
  if (!planned?.revert || ctx.d.simulate || planned.action !== row.action) return undefined;
  const now = ctx.now();
  const after = planned.revert.after;
  // The fix's detail as the actuator answered it; after a restart, as the row kept it when it was applied.
  let fixDetail: unknown = detail;
  if (fixDetail === undefined) {
    const stored = (await ctx.d.store.actionsOf(inc.id)).find((a) => a.id === row.id)?.detail;
    fixDetail = stored ? JSON.parse(stored) : undefined;
  }
  const revertPlan: RevertPlan = { params: planned.params, step: row.step, ...(planned.revert.call === undefined ? {} : { call: planned.revert.call }) };
  const dueAt = now + after;
  return {
    row: {
      action_id: row.id, incident_id: inc.id, service: row.service, action: row.action, target: row.target, rule: plan.rule.name,
      after_seconds: after, due_at: dueAt, plan: revertPlan, fix_detail: fixDetail, created_at: now,
    },
    event: {
      event: 'revert_scheduled', incidentId: inc.id, fingerprint: inc.fingerprint, service: row.service, action: row.action, target: row.target,
      reason: `${row.action} is reverted once the anomaly score has stayed below 1 for ${roughDuration(after)} (looked at from ${iso(dueAt)})`,
      detail: { revertAfter: after, dueAt: iso(dueAt), fix: fixDetail ?? null },
    },
  };
}
