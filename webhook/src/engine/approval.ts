// The approval stage (approve mode), before the guard and the claim: a person decides whether the action runs.
// The request is recorded durably (approvals table, action row `pending_approval`, incident phase
// `awaiting_approval`) and people are told (the Slack-compatible webhook: the action, the alert's evidence, the
// approve link). The incident then waits, not counted as busy, until a person decides through the API
// (POST /api/v1/approvals/{id}), the approval expires (approvalTimeout: given up and escalated), or its alert
// resolves (cancelled). Approved, the step goes on to the guard and the claim, which check the guardrails as they
// are then: a cooldown or limit that started meanwhile still applies. Everything lives in the store: after a
// restart (or a take-over by another replica) the wait resumes on the same approval, and the action runs once.
import { roughDuration } from '@selfheal/contracts';
import { errorMessage } from '../actuators/types.js';
import { approvalsOf, type ApprovalRecord } from '../audit/approvals.js';
import { approvalEvidence, approvalNotice } from '../escalation/approval-notice.js';
import { escalate, heldBack } from './escalate.js';
import { guardReason, guardWindows } from '../guardrails/guardrails.js';
import { deferOrSkip } from './defer.js';
import { guard, type Admission } from './guard.js';
import { iso, Stopped, type EngineContext, type Stage, type StageResult, type StepRun } from './stage.js';

/** How often a pending approval is looked at again (a decision or a resolve taken by another replica); sooner when woken here. */
export const APPROVAL_RECHECK_SECONDS = 5;

export const approval: Stage<Admission, Admission> = async (ctx, s, admission) => {
  // Replay describes what would have happened had it been approved.
  if (ctx.d.simulate) return { next: admission };
  const approvals = approvalsOf(ctx.d.store);
  const { inc, plan, step, action, service } = s;
  let row = await approvals.forStep(inc.id, step);
  let admitted = admission;
  if (!row) {
    // Not worth a person's time if the alert resolved already, the blast-radius precondition refuses it, or a
    // guardrail would hold it back now (a cooldown after the last fix on this target, a rate limit): then it is
    // deferred first, like any action, and asked for once the guardrail lifts, if the alert still fires.
    const guarded = await lookAhead(ctx, s, admission);
    if ('end' in guarded) return guarded;
    admitted = guarded.next;
    const now = ctx.now();
    const timeout = plan.rule.approvalTimeout ?? ctx.d.config.approvalTimeout;
    const description = s.actuator.describe({ action, targetName: plan.targetName, target: plan.target, params: s.planned.params, vars: s.vars, prometheus: ctx.d.prometheus });
    const requested = await approvals.request({
      incidentId: inc.id, step, service, action, target: plan.targetName, rule: plan.rule.name, fingerprint: inc.fingerprint, now, expiresAt: now + timeout,
      evidence: { ...approvalEvidence(inc), ...(s.demotion ? { demoted: s.demotion } : {}) }, description, announce: guarded.next.announce, replica: ctx.d.store.replica,
    });
    if (requested.kind === 'lost') {
      ctx.d.logger.warn({ incident: inc.id, reason: requested.reason }, 'incident taken over by another replica; leaving it');
      throw new Stopped();
    }
    row = requested.approval;
    if (requested.kind === 'requested') {
      ctx.d.metrics.recordOutcome(service, action, 'pending_approval', now);
      ctx.d.logger.info({ incident: inc.id, service, action, target: plan.targetName, approval: row.id, expiresAt: iso(row.expires_at) }, 'action awaits approval');
    }
  }
  if (row.status === 'pending' && row.notified_at === null) await notify(ctx, s, row, approvals);
  const decided = await waitForDecision(ctx, s, row);
  // Approved: on to the guard and the claim, in the deferral it was resumed in, if any (its deadline stands).
  return 'end' in decided ? decided : { next: { deferral: admitted.deferral } };
};

/**
 * The guard stage, then the guardrails the claim will check, read ahead (pause, cooldown, rate limits; not
 * maxConcurrent, which is about this moment, not about when a person answers): while one would refuse the action,
 * it is deferred (or skipped, escalated past maxDefer) as the claim would, and looked at again when it lifts.
 * The claim still checks them all, in its transaction, after the approval.
 */
async function lookAhead(ctx: EngineContext, s: StepRun, admission: Admission): Promise<StageResult<Admission>> {
  const { store, config } = ctx.d;
  let current = admission;
  for (;;) {
    const guarded = await guard(ctx, s, current);
    if ('end' in guarded) return guarded;
    const now = ctx.now();
    const target = s.plan.targetName;
    const snapshot = await store.guardrails({ incidentId: s.inc.id, target, now, ...guardWindows(config.guardrails, now) });
    const local = ctx.d.pause.local();
    const cooldownSeconds = s.plan.rule.cooldown ?? config.guardrails.cooldown;
    const verdict = guardReason(config.guardrails, { ...snapshot, inFlight: 0 }, { incidentId: s.inc.id, target, cooldownSeconds, now }, local ? (local.reason ?? local.source) : undefined);
    if (!verdict) return guarded;
    const deferral = await deferOrSkip(ctx, s, verdict, guarded.next.announce, guarded.next.deferral);
    if (deferral === 'skipped' || deferral === 'ended') return { end: deferral };
    current = { deferral };
  }
}

/** Tells people (once: a restart before it was sent sends it then). A failed notification is logged, the wait goes on. */
async function notify(ctx: EngineContext, s: StepRun, row: ApprovalRecord, approvals: ReturnType<typeof approvalsOf>): Promise<void> {
  const { notifier, config } = ctx.d;
  if (!notifier) return;
  const notice = approvalNotice(config, row, s.plan.rule.name);
  try {
    await notifier.send(notice.text, notice.fields);
    await approvals.markNotified(row.id, ctx.now());
  } catch (err) {
    ctx.d.logger.warn({ incident: s.inc.id, approval: row.id, err: errorMessage(err) }, 'approval notification failed');
  }
}

/** Waits until the approval is decided: `next` once approved, `end` when it ended otherwise. */
async function waitForDecision(ctx: EngineContext, s: StepRun, requested: ApprovalRecord): Promise<{ next: 'approved' } | { end: 'ended' }> {
  const { store, metrics, logger } = ctx.d;
  const approvals = approvalsOf(store);
  const { inc, plan, step, action, service } = s;
  for (;;) {
    ctx.checkStopped();
    const row = await approvals.get(requested.id);
    const current = await store.incident(inc.id);
    if (!row || !current) throw new Stopped();
    // Another replica took the incident over (this one looked dead): it waits on the approval now.
    if (current.owner && current.owner !== store.replica) throw new Stopped();
    if (row.status === 'approved') {
      logger.info({ incident: inc.id, action, approval: row.id, by: row.decided_by }, 'action approved');
      return { next: 'approved' };
    }
    // Rejected (the API closed the incident) or cancelled: nothing more to do.
    if (row.status === 'rejected' || row.status === 'cancelled') return { end: 'ended' };
    if (current.phase === 'done') throw new Stopped();
    const now = ctx.now();
    if (row.status === 'pending' && current.resolved_at) {
      const reason = `the alert resolved while ${action} awaited approval ${row.id}; not run`;
      const closed = await approvals.close(row.id, 'cancelled', reason, now,
        { event: 'cancelled', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason, detail: { approval: row.id } },
        { phase: 'done', result: 'resolved', reason, step });
      if (!closed) continue; // decided meanwhile
      logger.info({ incident: inc.id, action, approval: row.id }, 'approval cancelled: the alert resolved');
      return { end: 'ended' };
    }
    if (row.status === 'pending' && now >= row.expires_at) {
      const timeout = roughDuration(row.expires_at - row.requested_at);
      const reason = `nobody approved or rejected ${action} within ${timeout} (approval ${row.id} expired)`;
      const closed = await approvals.close(row.id, 'expired', reason, now,
        { event: 'expired', incidentId: inc.id, fingerprint: inc.fingerprint, service, action, target: plan.targetName, change: plan.change, reason, detail: { approval: row.id } });
      if (!closed) continue;
      metrics.recordOutcome(service, action, 'expired', now);
    }
    if (row.status === 'expired' || now >= row.expires_at) {
      // Expired (here, or before a restart that came before the escalation): a person must look at it.
      await escalate(ctx, current, plan, { reason: heldBack(await store.actionsOf(inc.id), action, `was not approved within ${roughDuration(row.expires_at - row.requested_at)} (approval ${row.id} expired)`) });
      return { end: 'ended' };
    }
    const until = Math.min(row.expires_at, now + APPROVAL_RECHECK_SECONDS);
    await ctx.waits.awaitingWhile(inc.id, () => ctx.waits.sleep(inc.id, until));
  }
}
