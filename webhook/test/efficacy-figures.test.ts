// The efficacy ledger's arithmetic (src/ledger/efficacy.ts) on rows as the stores return them: the bounded feature
// label, medians, and which scale-ups and quarantines still cost (efficacy.test.ts runs the same through the service).
import { describe, expect, it } from 'vitest';
import { computeCosts, computeLedger, MAX_FEATURES, type AttemptRow, type CostRow } from '../src/ledger/efficacy.js';

const attempt = (feature: string | undefined, status: string, startedAgo = 0, extra: Partial<AttemptRow> = {}): AttemptRow => ({
  action: 'restart', target: 'checkout', status, started_at: 1000 - startedAgo, finished_at: 1000, starts_at: new Date(900_000).toISOString(),
  labels: JSON.stringify(feature === undefined ? { service: 'checkout' } : { service: 'checkout', feature }), ...extra,
});

describe('the efficacy ledger figures', () => {
  it('counts features beyond the most attempted ones as "other" (a bounded label) and an alert without feature as ""', () => {
    const rows = [...Array.from({ length: MAX_FEATURES + 5 }, (_, i) => attempt(`f${String(i).padStart(3, '0')}`, 'succeeded')), attempt('f000', 'failed'), attempt(undefined, 'failed'), attempt(undefined, 'failed')];
    const { entries } = computeLedger(rows);
    expect(entries).toHaveLength(MAX_FEATURES + 1);
    expect(entries.find((e) => e.feature === '')).toMatchObject({ attempts: 2, successes: 0, failures: 2, successRatio: 0, medianRecoverySeconds: null });
    expect(entries.find((e) => e.feature === 'f000')).toMatchObject({ attempts: 2, successes: 1, successRatio: 0.5, medianRecoverySeconds: 100 });
    expect(entries.find((e) => e.feature === 'other')?.attempts).toBe(6);
  });

  it('median of an even count is the mean of the middle two; unknown outcomes are attempts, not successes', () => {
    const rows = [10, 20, 40, 80].map((ago) => attempt('cpu', 'succeeded', 0, { starts_at: new Date((1000 - ago) * 1000).toISOString() }));
    const { byTarget } = computeLedger([...rows, attempt('cpu', 'unknown')]);
    expect(byTarget).toEqual([{ target: 'checkout', action: 'restart', attempts: 5, successes: 4, failures: 0, unknown: 1, successRatio: 0.8, medianRecoverySeconds: 30 }]);
  });

  it('costs: a scale-up costs until a revert scaled back (verifying or reverted), also when its verification failed or its revert was put back; quarantines until reverted', () => {
    const base = { target: 'checkout', status: 'succeeded', started_at: 100, revert_status: null, revert_started_at: null };
    const rows: CostRow[] = [
      { ...base, action: 'scale_up', detail: JSON.stringify({ from: 2, to: 4 }), revert_status: 'reverted', revert_started_at: 400 },
      { ...base, action: 'scale_up', status: 'failed', detail: JSON.stringify({ from: 4, to: 5 }), started_at: 500 },
      { ...base, action: 'scale_up', detail: JSON.stringify({ hpa: 'h', from: 3, to: 6 }), started_at: 900, revert_status: 'reapplied', revert_started_at: 950 },
      { ...base, action: 'scale_up', detail: JSON.stringify({ reason: 'no numbers' }) },
      { ...base, target: 'edge', action: 'quarantine', detail: null },
      { ...base, target: 'edge', action: 'quarantine', detail: null, revert_status: 'verifying', revert_started_at: 200 },
    ];
    expect(computeCosts(rows, 300, 1000)).toEqual([
      { target: 'checkout', replicaSeconds: 2 * 100 + 1 * 500 + 3 * 100, addedReplicas: 1 + 3, quarantinedInstances: 0 },
      { target: 'edge', replicaSeconds: 0, addedReplicas: 0, quarantinedInstances: 1 },
    ]);
  });
});
