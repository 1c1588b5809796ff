// The claim stage: one durable transaction reads the guardrails' counters, checks them and records `started`,
// so limits cannot be raced (not by another incident, not by another replica). On disk before the action runs:
// after a crash this row stops the action from being repeated. In shadow mode (dry run) it records what would run instead.
import { guardReason, guardWindows } from '../guardrails/guardrails.js';
import { deferOrSkip } from './defer.js';
import type { Admission } from './guard.js';
import { Stopped, type Deferral, type Stage } from './stage.js';

export type Claim =
  | { kind: 'claimed'; actionId: number; startedAt: number; description: string }
  /** A guardrail that lifts refused it: the guard stage waits, then both run again. */
  | { kind: 'deferred'; deferral: Deferral };

export const claim: Stage<Admission, Claim> = async (ctx, s, { announce, deferral }) => {
  const { store, config, metrics } = ctx.d;
  const { inc, plan, step, action, service, vars, planned } = s;
  const now = ctx.now();
  const description = s.actuator.describe({ action, targetName: plan.targetName, target: plan.target, params: planned.params, vars, prometheus: ctx.d.prometheus });
  if (planned.mode === 'shadow') {
    await store.recordStep({
      announce,
      action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, change: plan.change, step, status: 'dry_run', reason: `dry run: would ${description}`, started_at: now, finished_at: now },
      event: { event: 'dry_run', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason: `would ${description}` },
      update: { phase: 'done', result: 'dry_run', reason: null },
    });
    metrics.recordOutcome(service, action, 'dry_run', now);
    return { end: 'dry_run' };
  }
  ctx.checkStopped();
  const cooldown = plan.rule.cooldown ?? config.guardrails.cooldown;
  const local = ctx.d.pause.local();
  const input = { incidentId: inc.id, target: plan.targetName, cooldownSeconds: cooldown, now };
  const result = await store.claimAction({
    incidentId: inc.id, target: plan.targetName, now, ...guardWindows(config.guardrails, now),
    check: (snapshot) => guardReason(config.guardrails, snapshot, input, local ? (local.reason ?? local.source) : undefined),
    announce,
    update: { phase: 'acting', step },
    action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, change: plan.change, step, status: 'started', reason: description, started_at: now, cooldown_until: cooldown > 0 ? now + cooldown : null },
    event: { event: 'started', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason: description },
  });
  if (result.ok) return { next: { kind: 'claimed', actionId: result.actionId, startedAt: now, description } };
  if (result.lost) {
    ctx.d.logger.warn({ incident: inc.id, reason: result.reason }, 'incident taken over by another replica; leaving it');
    throw new Stopped();
  }
  const next = await deferOrSkip(ctx, s, result, announce, deferral);
  if (next === 'skipped' || next === 'ended') return { end: next };
  return { next: { kind: 'deferred', deferral: next } };
};
