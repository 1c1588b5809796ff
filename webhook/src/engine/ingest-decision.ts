// Decides a new alert inside the ingest transaction when nothing needs waiting for: no rule, a policy skip, or a
// first action in shadow mode (dry run) without a blast-radius precondition. One commit per alert instead of two; the metrics are recorded by
// the caller once the commit is durable.
import type { ImmediateDecision, StoredAlert } from '../audit/types.js';
import { templateVars, type Plan } from '../policy/policy.js';
import type { TemplateVars } from '../util/template.js';
import type { EngineContext } from './stage.js';

export function decideAtIngest(ctx: EngineContext, alert: StoredAlert, incidentId: number): ImmediateDecision | undefined {
  if (ctx.d.simulate) return undefined;
  const baseVars = templateVars(alert, ctx.d.config.verify.nonEntityLabels);
  const service = alert.labels.service ?? 'unknown';
  // A rule with `when:` needs the target's last rollout (asynchronous): decided by the engine.
  if (ctx.d.policy.needsChange(alert.labels)) return undefined;
  const decision = ctx.d.policy.decide(alert.labels, baseVars);
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
  const actuator = ctx.d.actuators.get(plan.target.actuator);
  if (!first || first.mode !== 'shadow' || plan.rule.precondition || !actuator) return undefined;
  const now = ctx.now();
  const service2 = alert.labels.service ?? plan.targetName;
  const vars: TemplateVars = { ...baseVars, action: first.action, target: plan.targetName };
  const description = actuator.describe({ action: first.action, targetName: plan.targetName, target: plan.target, params: first.params, vars, prometheus: ctx.d.prometheus });
  return {
    events: [matchedEvent(incidentId, alert.fingerprint, service, plan)],
    action: {
      row: { incident_id: incidentId, service: service2, action: first.action, target: plan.targetName, rule: plan.rule.name, step: 0, status: 'dry_run', reason: `dry run: would ${description}`, started_at: now, finished_at: now },
      event: { event: 'dry_run', incidentId, fingerprint: alert.fingerprint, service: service2, action: first.action, target: plan.targetName, reason: `would ${description}` },
    },
    incident: { phase: 'done', result: 'dry_run', reason: null, rule: plan.rule.name, target: plan.targetName, step: 0 },
    outcome: { service: service2, action: first.action, outcome: 'dry_run' },
  };
}

/** The audit record of the rule an incident matched. */
export function matchedEvent(incidentId: number, fingerprint: string, service: string, plan: Plan) {
  const when = plan.rule.when ? `; when: ${plan.rule.when} (${plan.changeNote ?? ''})` : '';
  return {
    event: 'matched', incidentId, fingerprint, service, target: plan.targetName, reason: `rule "${plan.rule.name}"${when}`, change: plan.change,
    detail: { actions: plan.steps.map((s) => s.action), dryRun: plan.dryRun, ...(plan.rule.when ? { when: plan.rule.when, change: plan.changeNote } : {}) },
  };
}
