// One incident from start to end: claimed in the store (several replicas may have received it), decided by the
// policy, then each step of the plan through the stages until one heals it; when none can, people are told.
import { changeVerdict } from '../changes/index.js';
import type { Policy, TargetChange } from '../policy/policy.js';
import { templateVars } from '../policy/policy.js';
import type { TemplateVars } from '../util/template.js';
import { escalate, heldBack } from './escalate.js';
import type { Admission } from './guard.js';
import { matchedEvent } from './ingest-decision.js';
import { resumeActing } from './resume.js';
import { maxDefer, type EngineContext } from './stage.js';
import { runStep } from './step.js';

export async function runIncident(ctx: EngineContext, policy: Policy, incidentId: number): Promise<void> {
  const { store } = ctx.d;
  // Another replica may hold it (it received the same alert): the store says who works on it.
  if (!(await store.claimIncident(incidentId))) return;
  const inc = await store.incident(incidentId);
  if (!inc || inc.phase === 'done') return;
  const alert = { labels: JSON.parse(inc.labels) as Record<string, string>, annotations: JSON.parse(inc.annotations) as Record<string, string>, fingerprint: inc.fingerprint, status: 'firing', startsAt: inc.starts_at };
  const baseVars = templateVars(alert, ctx.d.config.verify.nonEntityLabels);
  const service = inc.service ?? 'unknown';

  if (inc.phase === 'pending' && inc.resolved_at) {
    await store.updateIncident(incidentId, { phase: 'done', result: 'resolved', reason: 'resolved before any action' });
    return;
  }
  // Rules with `when:` need the targets' last rollouts; an incident decided before keeps its rule.
  const changes = await targetChanges(ctx, policy, alert.labels, baseVars, inc.starts_at);
  ctx.checkStopped();
  const decision = policy.decide(alert.labels, baseVars, { changes, ...(inc.phase !== 'pending' && inc.rule ? { rule: inc.rule } : {}) });
  if (decision.kind === 'skip') {
    await store.updateIncident(incidentId, { phase: 'done', result: decision.rule ? 'skipped' : 'no_rule', reason: decision.reason, rule: decision.rule },
      { event: 'skipped', incidentId, fingerprint: inc.fingerprint, service, action: decision.action, reason: decision.reason });
    if (decision.rule && decision.action) ctx.d.metrics.recordOutcome(service, decision.action, 'skipped', ctx.now());
    return;
  }
  const plan = decision.plan;
  let step = inc.step;
  // The first step's admission: the `matched` record, written in the same transaction as the first step's record
  // (one commit per alert on the fast path), or the deferral it was waiting in.
  let first: Admission = {};
  if (inc.phase === 'pending') {
    first = { announce: { update: { phase: 'acting', rule: plan.rule.name, target: plan.targetName, step: 0 }, event: matchedEvent(incidentId, inc.fingerprint, service, plan) } };
  } else if (inc.phase === 'deferred') {
    // Resumed while its action was deferred (restart, or taken over from a dead replica): keep waiting, then decide.
    first = { deferral: { until: inc.deferred_until ?? ctx.now(), deadline: inc.defer_deadline ?? ctx.now() + maxDefer(ctx, plan) } };
  } else if (inc.phase === 'awaiting_approval') {
    // Resumed while its action awaited a person: the approval stage finds the approval and goes on waiting.
  } else {
    const resumed = await resumeActing(ctx, inc, plan, baseVars);
    if (resumed === 'finished') return;
    step = resumed.step;
  }
  for (; step < plan.steps.length; step++) {
    const result = await runStep(ctx, inc, plan, step, baseVars, first);
    first = {};
    if (result === 'failed') continue;
    // An earlier action failed and the next one may not run (guardrail, refusal): people must know.
    if (result === 'skipped' && step > 0) {
      const actions = await store.actionsOf(incidentId);
      return escalate(ctx, inc, plan, { reason: heldBack(actions, plan.steps[step]?.action ?? 'the next action', `was skipped: ${actions.at(-1)?.reason ?? ''}`) });
    }
    return; // succeeded / skipped / dry_run / ended closed the incident themselves; stopped leaves it for the next start
  }
  await escalate(ctx, inc, plan, { reason: `every action failed (${plan.steps.map((s) => s.action).join(' -> ')})` });
}

/** Whether the anomaly began within changes.window of each `when:` rule's target's last rollout (the change source). */
async function targetChanges(ctx: EngineContext, policy: Policy, labels: Record<string, string>, vars: TemplateVars, startsAt: string): Promise<Map<string, TargetChange>> {
  const out = new Map<string, TargetChange>();
  const { changes: source, config } = ctx.d;
  const targets = policy.changeTargets(labels, vars);
  if (targets.length === 0 || !config.changes) return out;
  const began = Date.parse(startsAt) / 1000;
  for (const { targetName, target } of targets) {
    out.set(targetName, source
      ? await changeVerdict(source, config.changes.window, targetName, target, began, ctx.signal)
      : { recent: false, error: 'no change source configured' });
  }
  return out;
}
