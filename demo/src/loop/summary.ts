// The figures of a run: per-fault rows for the terminal table, and medians/p95 for the benchmark.
import type { FaultRunResult } from './fault-milestones.js';

export const seconds = (v: number | undefined): string => (v === undefined ? '—' : `${v.toFixed(1)} s`);

/** Quantile with linear interpolation of sorted values; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (pos - lo);
}

/** A plain-text table (monospace), columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function resultsTable(results: readonly FaultRunResult[]): string {
  return table(
    ['fault', 'service', 'feature', 'MTTD', 'to action', 'MTTR', 'score<1', 'resolved', 'action', 'verified', 'outcome'],
    results.map((r) => [
      r.kind,
      r.service,
      r.alertFeature ?? r.detectedFeature ?? '—',
      seconds(r.firingAfter),
      seconds(r.actionAfter),
      seconds(r.recoveredAfter),
      seconds(r.scoreNormalAfter),
      seconds(r.resolvedAfter),
      r.action ?? '—',
      r.actionStatus ?? '—',
      r.outcome,
    ]),
  );
}

export interface LoopFigures {
  faults: number;
  healed: number;
  successRate: number;
  mttd: { median: number; p95: number };
  timeToAction: { median: number; p95: number };
  mttr: { median: number; p95: number };
  resolve: { median: number; p95: number };
}

export function loopFigures(results: readonly FaultRunResult[]): LoopFigures {
  const stat = (values: (number | undefined)[]) => {
    const v = values.filter((x): x is number => x !== undefined);
    return { median: quantile(v, 0.5), p95: quantile(v, 0.95) };
  };
  const healed = results.filter((r) => r.outcome === 'healed').length;
  return {
    faults: results.length,
    healed,
    successRate: results.length ? healed / results.length : Number.NaN,
    mttd: stat(results.map((r) => r.firingAfter)),
    timeToAction: stat(results.map((r) => r.actionAfter)),
    mttr: stat(results.map((r) => r.recoveredAfter)),
    resolve: stat(results.map((r) => r.resolvedAfter)),
  };
}
