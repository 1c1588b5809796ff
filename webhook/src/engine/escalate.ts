// The last stage: people are told (the escalation webhook) and the incident is closed, `escalated`, or `unknown`
// when an action's outcome was never seen. Nothing is reverted: an applied action stays applied.
import type { ActionRow, IncidentRow } from '../audit/types.js';
import { errorMessage } from '../actuators/types.js';
import type { Plan } from '../policy/policy.js';
import type { EngineContext } from './stage.js';

export async function escalate(ctx: EngineContext, inc: IncidentRow, plan: Plan, o: { reason: string; result?: 'escalated' | 'unknown' }): Promise<void> {
  const { store, notifier } = ctx.d;
  const service = inc.service ?? plan.targetName;
  const result = o.result ?? 'escalated';
  let notified = 'no notification webhook configured';
  if (notifier) {
    const headline = result === 'unknown'
      ? `:warning: Selfheal does not know whether it healed ${service}: ${o.reason}. A person needs to check.`
      : `:rotating_light: Selfheal could not heal ${service}: ${o.reason}. A person is needed.`;
    try {
      await notifier.send(headline, {
        service, target: plan.targetName, rule: plan.rule.name, alert: JSON.parse(inc.labels).alertname ?? '', fingerprint: inc.fingerprint, startsAt: inc.starts_at,
      });
      notified = 'notification sent';
    } catch (err) {
      notified = `notification failed: ${errorMessage(err)}`;
    }
  }
  await store.updateIncident(inc.id, { phase: 'done', result, reason: `${o.reason}; ${notified}` },
    { event: 'escalated', incidentId: inc.id, fingerprint: inc.fingerprint, service, target: plan.targetName, change: plan.change, reason: `${o.reason}; ${notified}` });
}

/** "scale_up failed and restart was skipped: ..." (or without the first part when nothing failed before). */
export function heldBack(actions: readonly ActionRow[], action: string, what: string): string {
  const failed = actions.filter((a) => a.status === 'failed').map((a) => a.action);
  return failed.length > 0 ? `${failed.join(' -> ')} failed and ${action} ${what}` : `${action} ${what}`;
}
