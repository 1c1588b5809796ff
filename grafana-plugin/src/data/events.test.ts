import { describe, expect, it } from 'vitest';

import { attachSpans, eventsFromCounters, eventsFromTimestamps } from './events';
import type { AnomalySpan, HealingEvent } from './model';

const L = { serviceLabel: 'service', actionLabel: 'action', outcomeLabel: 'outcome' };
const S = 15_000;
const T0 = 1_700_000_000_000;
const times = [0, 1, 2, 3, 4, 5].map((i) => T0 + i * S);
const labels = { service: 'checkout', action: 'restart', outcome: 'succeeded' };

describe('eventsFromTimestamps', () => {
  it('turns each new gauge value into an event at that time, once', () => {
    const a = (T0 + S + 500) / 1000;
    const b = (T0 + 4 * S + 200) / 1000;
    const events = eventsFromTimestamps([{ labels, times, values: [null, a, a, a, b, b] }], L, T0, T0 + 10 * S);
    expect(events.map((e) => e.time)).toEqual([a * 1000, b * 1000]);
    expect(events[0]).toMatchObject({ service: 'checkout', action: 'restart', outcome: 'succeeded', approximate: false, count: 1 });
  });

  it('ignores actions before the range (a gauge remembers old ones)', () => {
    const old = (T0 - 3600_000) / 1000;
    expect(eventsFromTimestamps([{ labels, times, values: [old, old, old, old, old, old] }], L, T0, T0 + 10 * S)).toEqual([]);
  });

  it('uses "unknown" when the action or outcome label is missing', () => {
    const events = eventsFromTimestamps([{ labels: { service: 'x' }, times, values: [null, (T0 + S) / 1000, null, null, null, null] }], L, T0, T0 + 10 * S);
    expect(events[0]).toMatchObject({ action: 'unknown', outcome: 'unknown' });
  });
});

describe('eventsFromCounters', () => {
  it('adds increases the timestamps do not explain, and handles a counter reset', () => {
    const known = eventsFromTimestamps([{ labels, times, values: [null, (T0 + S - 100) / 1000, null, null, null, null] }], L, T0, T0 + 10 * S);
    // +1 at sample 1 (explained), +2 at sample 3 (unexplained), reset to 1 at sample 5 (one more).
    const counter = [{ labels, times, values: [0, 1, 1, 3, 3, 1] }];
    const extra = eventsFromCounters(counter, known, L, T0, T0 + 10 * S);
    expect(extra.map((e) => [e.time - T0, e.count, e.approximate])).toEqual([
      [3 * S, 2, true],
      [5 * S, 1, true],
    ]);
  });
});

describe('attachSpans', () => {
  const span = (start: number, end: number, open = false): AnomalySpan => ({ start, end, open, peakScore: 2, peakTime: start, attribution: [] });

  it('links an action to the anomaly it falls in and measures recovery', () => {
    const e: HealingEvent = { kind: 'action', time: T0 + 2 * S, service: 's', action: 'restart', outcome: 'succeeded', approximate: false, count: 1 };
    attachSpans([e], [span(T0 + S, T0 + 6 * S)], S);
    expect(e.span?.start).toBe(T0 + S);
    expect(e.recoveredAfterMs).toBe(4 * S);
  });

  it('leaves recovery undefined while the anomaly lasts, and falls back to a recent earlier anomaly', () => {
    const open: HealingEvent = { kind: 'action', time: T0 + 2 * S, service: 's', action: 'a', outcome: 'failed', approximate: false, count: 1 };
    attachSpans([open], [span(T0, T0 + 5 * S, true)], S);
    expect(open.span).toBeDefined();
    expect(open.recoveredAfterMs).toBeUndefined();

    const late: HealingEvent = { kind: 'action', time: T0 + 20 * S, service: 's', action: 'a', outcome: 'skipped', approximate: false, count: 1 };
    attachSpans([late], [span(T0, T0 + 5 * S)], S);
    expect(late.span?.end).toBe(T0 + 5 * S);
    expect(late.recoveredAfterMs).toBe(0);

    const lonely: HealingEvent = { kind: 'action', time: T0 + 200 * S, service: 's', action: 'a', outcome: 'dry_run', approximate: false, count: 1 };
    attachSpans([lonely], [span(T0, T0 + 5 * S)], S);
    expect(lonely.span).toBeUndefined();
  });
});
