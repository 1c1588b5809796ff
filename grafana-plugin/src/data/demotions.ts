// Demotions to approve mode as periods: from the healing service's `selfheal_healing_demotions{action,target}` gauge,
// 1 while an action is demoted on a target (a person lifts it; the series then reads 0 or ends).
import type { LabelledSeries } from './frames';
import type { DemotionPeriod } from './model';

export interface DemotionLabels {
  actionLabel: string;
  targetLabel: string;
}

/**
 * One period per run of samples at 1 (≥ 0.5) of a series; a sample at 0, a missing sample or a gap longer than
 * `maxGapMs` between samples ends it. A period still at 1 within `maxGapMs` of the window's end (`to`) is open.
 */
export function demotionPeriods(series: LabelledSeries[], l: DemotionLabels, maxGapMs: number, to: number): DemotionPeriod[] {
  const periods: DemotionPeriod[] = [];
  for (const s of series) {
    const action = s.labels[l.actionLabel] ?? 'unknown';
    const target = s.labels[l.targetLabel] ?? '';
    let current: DemotionPeriod | undefined;
    let lastSeen: number | undefined;
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i];
      const t = s.times[i]!;
      const demoted = v !== null && v !== undefined && !Number.isNaN(v) && v >= 0.5;
      if (current && (!demoted || (lastSeen !== undefined && t - lastSeen > maxGapMs))) {
        periods.push(current);
        current = undefined;
      }
      if (demoted) {
        current = current ?? { action, target, start: t, end: t, open: false };
        current.end = t;
        lastSeen = t;
      }
    }
    if (current) {
      current.open = to - current.end <= maxGapMs;
      periods.push(current);
    }
  }
  return periods.sort((a, b) => a.start - b.start);
}
