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
