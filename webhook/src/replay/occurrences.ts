// From an alert's samples to its occurrences, and from those to the notifications Alertmanager would have sent
// the healing service. Pure functions: the times are Prometheus's evaluation times (alert-history.ts).
//
// An occurrence is a run of `firing` samples. Prometheus evaluates the rule every evaluation interval; a run ends
// where the next firing sample is more than two intervals away (one missed evaluation is tolerated; a new
// occurrence needs the rule's `for` in `pending` first, so it cannot follow that closely) or where a `pending`
// sample comes between. Its alert starts (startsAt, Prometheus's activeAt) at the first sample of the pending run
// just before it, and resolves one interval after its last firing sample (the evaluation that found it inactive).

/** One firing of an alert, as Prometheus would have sent it. Times in seconds since the epoch. */
export interface AlertOccurrence {
  labels: Record<string, string>;
  /** activeAt: when it became pending (Alertmanager's startsAt). */
  startsAt: number;
  /** The first evaluation at which it fired. */
  firedAt: number;
  lastFiringAt: number;
  /** When it resolved; undefined: still firing at the end of the window. */
  endsAt?: number;
  /** It was already firing when the window began: the service decided on it before the window. */
  beforeWindow: boolean;
}

export interface SampleTimes {
  labels: Record<string, string>;
  firing: readonly number[];
  pending: readonly number[];
}

/** The rule's evaluation interval, as the samples show it: the median gap between consecutive samples of a series. */
export function evaluationInterval(series: readonly SampleTimes[], fallback = 15): number {
  const gaps: number[] = [];
  for (const s of series) {
    for (const times of [s.firing, s.pending]) for (let i = 1; i < times.length; i++) gaps.push((times[i] ?? 0) - (times[i - 1] ?? 0));
  }
  const positive = gaps.filter((g) => g > 0).sort((a, b) => a - b);
  if (positive.length === 0) return fallback;
  return positive[Math.floor(positive.length / 2)] ?? fallback;
}

export function occurrencesOf(series: readonly SampleTimes[], w: { since: number; until: number; interval: number }): AlertOccurrence[] {
  const tolerance = 2 * w.interval;
  const out: AlertOccurrence[] = [];
  for (const s of series) {
    const pending = s.pending;
    let p = 0; // pending samples before the current firing run's start are consumed in order
    let q = 0; // the first pending sample after the run's last firing sample so far
    let i = 0;
    while (i < s.firing.length) {
      const firedAt = s.firing[i] ?? 0;
      let last = firedAt;
      let j = i + 1;
      for (; j < s.firing.length; j++) {
        const t = s.firing[j] ?? 0;
        while (q < pending.length && (pending[q] ?? 0) <= last) q++;
        if (t - last > tolerance || (q < pending.length && (pending[q] ?? 0) < t)) break;
        last = t;
      }
      // The pending run just before it: consecutive pending samples ending within a tolerance of firedAt.
      while (p < pending.length && (pending[p] ?? 0) < firedAt) p++;
      let k = p - 1;
      let startsAt = firedAt;
      if (k >= 0 && firedAt - (pending[k] ?? 0) <= tolerance) {
        startsAt = pending[k] ?? firedAt;
        while (k > 0 && (pending[k] ?? 0) - (pending[k - 1] ?? 0) <= tolerance) startsAt = pending[--k] ?? startsAt;
      }
      const beforeWindow = startsAt === firedAt && firedAt - w.since <= tolerance;
      const endsAt = w.until - last <= tolerance ? undefined : last + w.interval;
      out.push({ labels: s.labels, startsAt, firedAt, lastFiringAt: last, endsAt, beforeWindow });
      i = j;
    }
  }
  return out.sort((a, b) => a.firedAt - b.firedAt);
}

/** The shipped route of SelfhealAnomaly to the healing service (prometheus/alertmanager.yml), seconds. */
export interface RouteTiming {
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
}

export const SHIPPED_ROUTE: RouteTiming = { groupWait: 0, groupInterval: 30, repeatInterval: 4 * 3600 };

export interface Notification {
  at: number;
  status: 'firing' | 'resolved';
}

/**
 * When Alertmanager would have notified the healing service of an occurrence (each alert in its own group, as
 * `group_by: ['...']` makes it): firing after group_wait, again every repeat_interval while it fires (at the group's
 * group_interval ticks), resolved at the first tick after it resolved; nothing after `until`.
 */
export function notificationsOf(o: AlertOccurrence, r: RouteTiming, until: number): Notification[] {
  const first = o.firedAt + r.groupWait;
  if (first > until) return [];
  const out: Notification[] = [{ at: first, status: 'firing' }];
  const tick = (t: number) => first + Math.ceil((t - first) / r.groupInterval) * r.groupInterval;
  const resolvedAt = o.endsAt === undefined ? undefined : tick(o.endsAt);
  const firingUntil = Math.min(resolvedAt ?? Infinity, until);
  for (let at = tick(first + r.repeatInterval); at < firingUntil; at = tick(at + r.repeatInterval)) out.push({ at, status: 'firing' });
  if (resolvedAt !== undefined && resolvedAt <= until) out.push({ at: resolvedAt, status: 'resolved' });
  return out;
}
