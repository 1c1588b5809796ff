// Healing actions as point events: from the healing service's last-action timestamp gauge (exact times),
// completed by increases of its actions counter that the gauge's samples did not show (several actions
// between two samples, or no timestamp query at all).
import type { LabelledSeries } from './frames';
import type { AnomalySpan, HealingEvent } from './model';

export interface EventLabels {
  serviceLabel: string;
  actionLabel: string;
  outcomeLabel: string;
}

function keyOf(service: string, action: string, outcome: string): string {
  return `${service}\u0000${action}\u0000${outcome}`;
}

function labelsOf(s: LabelledSeries, l: EventLabels) {
  return {
    service: s.labels[l.serviceLabel] ?? '',
    action: s.labels[l.actionLabel] ?? 'unknown',
    outcome: s.labels[l.outcomeLabel] ?? 'unknown',
  };
}

/** Events from `..._last_action_timestamp_seconds`: every new value is an action at that time. */
export function eventsFromTimestamps(series: LabelledSeries[], l: EventLabels, from: number, to: number): HealingEvent[] {
  const seen = new Set<string>();
  const events: HealingEvent[] = [];
  for (const s of series) {
    const { service, action, outcome } = labelsOf(s, l);
    let previous: number | null = null;
    for (const v of s.values) {
      if (v === null || v === previous || Number.isNaN(v)) {
        continue;
      }
      previous = v;
      const time = v * 1000;
      const key = `${keyOf(service, action, outcome)}\u0000${time}`;
      if (v <= 0 || time < from || time > to || seen.has(key)) {
        continue;
      }
      seen.add(key);
      events.push({ kind: 'action', time, service, action, outcome, approximate: false, count: 1 });
    }
  }
  return events;
}

/**
 * Events from `..._actions_total` increases not already explained by a timestamp event in the same
 * sample interval. A drop is a counter reset (the service restarted): the new value is the increase.
 * `kind` says what the counter counts: actions, or reverts of fixes (`..._reverts_total`, which has no timestamp gauge).
 */
export function eventsFromCounters(
  series: LabelledSeries[],
  known: HealingEvent[],
  l: EventLabels,
  from: number,
  to: number,
  kind: HealingEvent['kind'] = 'action'
): HealingEvent[] {
  const knownTimes = new Map<string, number[]>();
  for (const e of known) {
    const k = keyOf(e.service, e.action, e.outcome);
    const list = knownTimes.get(k) ?? [];
    list.push(e.time);
    knownTimes.set(k, list);
  }
  const events: HealingEvent[] = [];
  for (const s of series) {
    const { service, action, outcome } = labelsOf(s, l);
    const times = knownTimes.get(keyOf(service, action, outcome)) ?? [];
    let prevT: number | undefined;
    let prevV: number | undefined;
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i];
      if (v === null || v === undefined || Number.isNaN(v)) {
        continue;
      }
      const t = s.times[i]!;
      if (prevV !== undefined && prevT !== undefined) {
        const increase = v >= prevV ? v - prevV : v;
        if (increase >= 0.5 && t >= from && t <= to) {
          const lo = prevT;
          const explained = times.filter((k) => k > lo && k <= t).length;
          const extra = Math.round(increase) - explained;
          if (extra > 0) {
            events.push({ kind, time: t, service, action, outcome, approximate: true, count: extra });
          }
        }
      }
      prevT = t;
      prevV = v;
    }
  }
  return events;
}

/**
 * The anomaly an action answered: the span containing it (with a step of slack), else the latest span
 * that ended at most `lookbackMs` before it. Fills `span` and `recoveredAfterMs`.
 */
export function attachSpans(events: HealingEvent[], spans: AnomalySpan[], slackMs: number, lookbackMs = 10 * 60_000): void {
  for (const e of events) {
    let match: AnomalySpan | undefined;
    for (const s of spans) {
      if (e.time >= s.start - slackMs && e.time <= s.end + slackMs) {
        match = s;
        break;
      }
      if (s.end < e.time && e.time - s.end <= lookbackMs && (!match || s.end > match.end)) {
        match = s;
      }
    }
    if (match) {
      e.span = match;
      e.recoveredAfterMs = match.open ? undefined : Math.max(0, match.end - e.time);
    }
  }
}
