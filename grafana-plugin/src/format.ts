// Human-readable durations and scores for tooltips.
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    const rest = s % 60;
    return rest ? `${m}m ${rest}s` : `${m}m`;
  }
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${h}h ${rest}m` : `${h}h`;
}

export function formatScore(v: number | undefined): string {
  return v === undefined ? '–' : v.toFixed(2);
}

export const OUTCOME_TEXT: Record<string, string> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  unknown: 'Outcome unknown',
  dry_run: 'Dry run',
  skipped: 'Skipped',
  deferred: 'Deferred',
  pending_approval: 'Awaiting approval',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Approval expired',
};

/** What an outcome means when its name alone does not say it (a tooltip row). */
export const OUTCOME_NOTE: Record<string, string> = {
  unknown:
    'Nobody saw the result: the healing service stopped while the action ran and could not verify it afterwards. ' +
    'It was not counted as healed; a person was told to check.',
  deferred: 'Held back by a guardrail that lifts by itself (cooldown, rate limit, concurrency); decided again when it lifts.',
  pending_approval: 'Approve mode: waits for a person to approve or reject it; given up and escalated after the approval timeout.',
  approved:
    'A person approved it (who and why: the healing service\'s approvals API and audit log); the guardrails were checked again ' +
    'and the action\'s own outcome is its next marker.',
  rejected: 'A person rejected it (who and why: the approvals API and audit log); it did not run.',
  expired: 'Nobody approved or rejected it in time; it did not run and a person was told.',
};

export function outcomeText(outcome: string): string {
  return OUTCOME_TEXT[outcome] ?? outcome;
}

/** How the revert of a fix (`revertAfter`) ended: the outcome label of selfheal_healing_reverts_total. */
export const REVERT_TEXT: Record<string, string> = {
  reverted: 'Reverted',
  reapplied: 'Fix put back (re-triggered)',
  failed: 'Revert failed',
  unknown: 'Revert outcome unknown',
  skipped: 'Revert skipped',
  deferred: 'Revert deferred',
};

export const REVERT_NOTE: Record<string, string> = {
  reverted: 'The fix was undone once it was no longer needed, and the anomaly did not come back within the verification window.',
  reapplied:
    'The fix was undone, the anomaly came back within the verification window, so the fix was put back; ' +
    'the healing service stopped reverting it on this target.',
  failed: 'Undoing the fix failed: it is still in place.',
  unknown: 'Undoing the fix started but nobody saw the result (the healing service stopped); it may still be in place.',
  skipped: 'Nothing to undo, or someone else changed it since: left as it is.',
  deferred: 'Held back by a guardrail that lifts by itself; tried again when it lifts.',
};

export function revertText(outcome: string): string {
  return REVERT_TEXT[outcome] ?? `Revert ${outcome}`;
}

/** An event's outcome in words: an action's outcome, or how the revert of a fix ended. */
export function eventOutcomeText(e: { kind: 'action' | 'revert'; outcome: string }): string {
  return e.kind === 'revert' ? revertText(e.outcome) : outcomeText(e.outcome);
}

/** An event's title: `scale_up · Succeeded`; a revert: `reverted scale_up`, `scale_up · fix put back (re-triggered)`. */
export function eventTitle(e: { kind: 'action' | 'revert'; action: string; outcome: string }): string {
  if (e.kind === 'action') {
    return `${e.action} · ${outcomeText(e.outcome)}`;
  }
  return e.outcome === 'reverted' ? `reverted ${e.action}` : `${e.action} · ${revertText(e.outcome).toLowerCase()}`;
}

/** A demotion in words: `demoted to approve: restart on checkout`. */
export function demotionText(d: { action: string; target: string }): string {
  return `demoted to approve: ${d.action} on ${d.target}`;
}

export const DEMOTION_NOTE =
  'Its success rate on this target fell below the efficacy floor: it runs here only when a person approves it, ' +
  'until a person lifts the demotion (the healing service\'s demotions API).';
