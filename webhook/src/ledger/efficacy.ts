// The efficacy ledger's figures, computed from the store's rows (pure functions: the SQL is in ledger.ts). An
// attempt is an executed action whose outcome is known (succeeded, failed, unknown); its time to recover runs from
// the alert starting to the fix verified. Costs: replicas added by scale-ups (the fix's detail says from and to)
// until a revert scaled them back, and quarantines not reverted.

/** An executed action in the window, with its incident's alert (labels JSON, startsAt). */
export interface AttemptRow {
  action: string;
  target: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  labels: string;
  starts_at: string;
}

/** A scale-up or quarantine that was applied, with its revert if it has one. */
export interface CostRow {
  action: string;
  target: string;
  status: string;
  detail: string | null;
  started_at: number;
  revert_status: string | null;
  revert_started_at: number | null;
}

export interface Figures {
  attempts: number;
  successes: number;
  failures: number;
  unknown: number;
  /** successes / attempts (0-1). */
  successRatio: number;
  /** Median time to recover of the successful attempts (seconds); null without one. */
  medianRecoverySeconds: number | null;
}

export type LedgerEntry = { feature: string; action: string; target: string } & Figures;

export interface TargetCost {
  target: string;
  /** Replica-seconds added by scale-ups within the window. */
  replicaSeconds: number;
  /** Replicas added by scale-ups and not reverted. */
  addedReplicas: number;
  /** Quarantines in place (not reverted). */
  quarantinedInstances: number;
}

/** Features beyond this many (the most attempted first) are counted as `other`: a bounded label. */
export const MAX_FEATURES = 50;

/** A revert in these statuses moved the fix back (at its start); in any other (or none), the fix is in place. */
const RELEASED = new Set(['verifying', 'reverted']);

function feature(labels: string): string {
  try {
    const parsed = JSON.parse(labels) as Record<string, unknown>;
    return typeof parsed.feature === 'string' ? parsed.feature : '';
  } catch {
    return '';
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface Tally { attempts: number; successes: number; failures: number; unknown: number; recoveries: number[] }

function figures(t: Tally): Figures {
  return {
    attempts: t.attempts, successes: t.successes, failures: t.failures, unknown: t.unknown,
    successRatio: t.attempts === 0 ? 0 : t.successes / t.attempts, medianRecoverySeconds: median(t.recoveries),
  };
}

function add(map: Map<string, Tally>, key: string, row: AttemptRow): void {
  let t = map.get(key);
  if (!t) {
    t = { attempts: 0, successes: 0, failures: 0, unknown: 0, recoveries: [] };
    map.set(key, t);
  }
  t.attempts++;
  if (row.status === 'succeeded') {
    t.successes++;
    const start = Date.parse(row.starts_at) / 1000;
    const healed = row.finished_at ?? row.started_at;
    if (Number.isFinite(start)) t.recoveries.push(Math.max(0, healed - start));
  } else if (row.status === 'failed') t.failures++;
  else t.unknown++;
}

const SEP = '\u0000';

/** The ledger: per (feature, action, target), and aggregated per (feature, action) and per (target, action). */
export function computeLedger(rows: readonly AttemptRow[]): { entries: LedgerEntry[]; byAction: ({ feature: string; action: string } & Figures)[]; byTarget: ({ target: string; action: string } & Figures)[] } {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const f = feature(r.labels);
    counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  const kept = new Set([...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, MAX_FEATURES).map(([f]) => f));
  const full = new Map<string, Tally>();
  const byAction = new Map<string, Tally>();
  const byTarget = new Map<string, Tally>();
  for (const r of rows) {
    const raw = feature(r.labels);
    const f = kept.has(raw) ? raw : 'other';
    add(full, [f, r.action, r.target].join(SEP), r);
    add(byAction, [f, r.action].join(SEP), r);
    add(byTarget, [r.target, r.action].join(SEP), r);
  }
  const sorted = <T>(m: Map<string, Tally>, make: (parts: string[], fig: Figures) => T): T[] =>
    [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, t]) => make(k.split(SEP), figures(t)));
  return {
    entries: sorted(full, ([f = '', action = '', target = ''], fig) => ({ feature: f, action, target, ...fig })),
    byAction: sorted(byAction, ([f = '', action = ''], fig) => ({ feature: f, action, ...fig })),
    byTarget: sorted(byTarget, ([target = '', action = ''], fig) => ({ target, action, ...fig })),
  };
}

/** Replicas a scale-up added (its detail: from and to), or 0 when the detail does not say. */
function replicasAdded(detail: string | null): number {
  if (!detail) return 0;
  try {
    const d = JSON.parse(detail) as Record<string, unknown>;
    return typeof d.from === 'number' && typeof d.to === 'number' && d.to > d.from ? d.to - d.from : 0;
  } catch {
    return 0;
  }
}

/** What healing spent, per target: over the window [from, now] for replica-seconds, now for what is held. */
export function computeCosts(rows: readonly CostRow[], from: number, now: number): TargetCost[] {
  const byTarget = new Map<string, TargetCost>();
  for (const r of rows) {
    let c = byTarget.get(r.target);
    if (!c) {
      c = { target: r.target, replicaSeconds: 0, addedReplicas: 0, quarantinedInstances: 0 };
      byTarget.set(r.target, c);
    }
    const released = r.revert_status !== null && RELEASED.has(r.revert_status) && r.revert_started_at !== null;
    const end = released ? Math.min(r.revert_started_at ?? now, now) : now;
    if (r.action === 'scale_up') {
      const added = replicasAdded(r.detail);
      c.replicaSeconds += added * Math.max(0, end - Math.max(r.started_at, from));
      if (!released) c.addedReplicas += added;
    } else if (r.action === 'quarantine' && !released) {
      c.quarantinedInstances++;
    }
  }
  return [...byTarget.values()].sort((a, b) => a.target.localeCompare(b.target));
}
