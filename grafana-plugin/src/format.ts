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
  dry_run: 'Dry run',
  skipped: 'Skipped',
};

export function outcomeText(outcome: string): string {
  return OUTCOME_TEXT[outcome] ?? outcome;
}
