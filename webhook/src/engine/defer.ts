// Guardrails that lift by themselves (cooldown, rate limits, maxConcurrent): the action they refuse is deferred,
// durably (phase `deferred`), and decided again when the guardrail lifts, within maxDefer of the first refusal.
import { LIFTING_GUARDRAILS, roughDuration } from '@selfheal/contracts';
import type { AuditEvent, GuardVerdict, IncidentUpdate } from '../audit/types.js';
import { NEVER } from '../guardrails/guardrails.js';
import { escalate, heldBack } from './escalate.js';
import { skip } from './skip.js';
import { DEFER_RECHECK_SECONDS, iso, maxDefer, Stopped, type Announce, type Deferral, type EngineContext, type StepRef } from './stage.js';

/**
 * A guardrail refused the action. One that lifts by itself defers it (recorded, durable) until it lifts, within
 * maxDefer of the first refusal; one that does not (pause), or past that deadline, skips or escalates.
 * Returns the deferral to wait for, or how the step ended.
 */
export async function deferOrSkip(ctx: EngineContext, s: StepRef, verdict: GuardVerdict, announce: Announce | undefined, current: Deferral | undefined): Promise<Deferral | 'skipped' | 'ended'> {
  const { store, metrics } = ctx.d;
  const { inc, plan, step, action } = s;
  const limit = maxDefer(ctx, plan);
  if (!LIFTING_GUARDRAILS.has(verdict.guardrail) || verdict.liftsAt === NEVER || limit <= 0) {
    return skip(ctx, s, verdict.reason, announce, verdict.guardrail);
  }
  const service = inc.service ?? plan.targetName;
  const now = ctx.now();
  const deadline = current?.deadline ?? now + limit;
  // An end at or before now (the counters moved since they were read) is no end: look again shortly.
  const liftsAt = verdict.liftsAt !== undefined && verdict.liftsAt > now ? verdict.liftsAt : undefined;
  if ((liftsAt !== undefined && liftsAt > deadline) || (liftsAt === undefined && now >= deadline)) {
    const reason = `${verdict.reason}; it cannot run within maxDefer (${roughDuration(limit)} after it was first held back)`;
    await store.recordStep({
      announce,
      action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, change: plan.change, step, status: 'skipped', reason, started_at: now, finished_at: now },
      event: { event: 'skipped', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason },
    });
    metrics.recordOutcome(service, action, 'skipped', now);
    metrics.recordRefusal(verdict.guardrail, 'escalated');
    await escalate(ctx, inc, plan, { reason: heldBack(await store.actionsOf(inc.id), action, `was held back: ${reason}`) });
    return 'ended';
  }
  const until = liftsAt ?? Math.min(now + DEFER_RECHECK_SECONDS, deadline);
  const reason = `deferred: ${verdict.reason}; decided again at ${iso(until)} (given up at ${iso(deadline)})`;
  const update: IncidentUpdate = { phase: 'deferred', step, reason, deferredUntil: until, deferDeadline: deadline };
  const event: AuditEvent = { event: 'deferred', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason: verdict.reason,
    detail: { guardrail: verdict.guardrail, until: iso(until), deadline: iso(deadline) } };
  if (!current) {
    // First refusal of this step: an action row (`deferred`) and the audit event, with the incident's new phase.
    await store.recordStep({
      announce,
      action: { incident_id: inc.id, service, action, target: plan.targetName, rule: plan.rule.name, change: plan.change, step, status: 'deferred', reason: verdict.reason, started_at: now, finished_at: now },
      event, update,
    });
    metrics.recordOutcome(service, action, 'deferred', now);
    metrics.recordRefusal(verdict.guardrail, 'deferred');
    ctx.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, reason: verdict.reason, until: iso(until) }, 'action deferred');
  } else {
    // Held back again: the incident says until when; the audit only when the guardrail changed (no row per re-check).
    await store.updateIncident(inc.id, update, current.guardrail === verdict.guardrail ? undefined : event);
  }
  return { until, deadline, guardrail: verdict.guardrail };
}

/** Waits for a deferral to end: its time comes, capacity frees up (maxConcurrent), or the alert resolves. */
export function waitDeferred(ctx: EngineContext, incidentId: number, deferral: Deferral): Promise<'due' | 'resolved'> {
  return ctx.waits.deferredWhile(incidentId, deferral.guardrail, async () => {
    for (;;) {
      ctx.checkStopped();
      const row = await ctx.d.store.incident(incidentId);
      if (!row || row.phase === 'done') throw new Stopped(); // finished elsewhere (another replica took it over)
      if (row.resolved_at) return 'resolved';
      if (ctx.now() >= deferral.until) return 'due';
      const why = await ctx.waits.sleep(incidentId, deferral.until);
      if (why === 'capacity') return 'due';
    }
  });
}
