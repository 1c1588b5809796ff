// The backtest's reconstruction of alert occurrences from ALERTS samples, of Alertmanager's notification times, and
// of the shipped rule's annotations (checked against the rule file itself, so the two cannot drift apart).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDuration } from '@selfheal/contracts';
import { evaluationInterval, notificationsOf, occurrencesOf, SHIPPED_ROUTE } from '../src/replay/occurrences.js';
import { chunksOf } from '../src/replay/alert-history.js';
import { SHIPPED_ANOMALY_RULE, shippedAnnotations } from '../src/replay/shipped-rule.js';

const every = (from: number, to: number, step = 15): number[] => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
const labels = { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu_usage', severity: 'warning' };

describe('occurrences from ALERTS samples', () => {
  it('a firing run is one occurrence: startsAt at its pending run, resolved one evaluation after its last firing sample', () => {
    const series = [{ labels, pending: every(1000, 1015), firing: every(1030, 1300) }];
    expect(evaluationInterval(series)).toBe(15);
    expect(occurrencesOf(series, { since: 0, until: 5000, interval: 15 })).toEqual([
      { labels, startsAt: 1000, firedAt: 1030, lastFiringAt: 1300, endsAt: 1315, beforeWindow: false },
    ]);
  });

  it('one missed evaluation does not split a run; a longer gap or a pending sample between does', () => {
    const firing = [...every(1030, 1300).filter((t) => t !== 1150), ...every(1400, 1505), ...every(1600, 1705)];
    const series = [{ labels, pending: [...every(1000, 1015), 1570, 1585], firing }];
    const occ = occurrencesOf(series, { since: 0, until: 5000, interval: 15 });
    expect(occ.map((o) => [o.startsAt, o.firedAt, o.lastFiringAt, o.endsAt])).toEqual([[1000, 1030, 1300, 1315], [1400, 1400, 1505, 1520], [1570, 1600, 1705, 1720]]);
  });

  it('already firing when the window began: flagged, not to be replayed; still firing at its end: no endsAt', () => {
    const series = [{ labels, pending: [], firing: every(0, 300) }, { labels: { ...labels, service: 'cart' }, pending: [4900, 4915], firing: every(4930, 5000) }];
    const occ = occurrencesOf(series, { since: 0, until: 5000, interval: 15 });
    expect(occ.map((o) => [o.labels.service, o.beforeWindow, o.endsAt])).toEqual([['checkout', true, 315], ['cart', false, undefined]]);
  });

  it('a pending run that never fired is no occurrence', () => {
    expect(occurrencesOf([{ labels, pending: every(1000, 1015), firing: [] }], { since: 0, until: 5000, interval: 15 })).toEqual([]);
  });
});

describe('notifications on the shipped route', () => {
  it('firing after group_wait, repeated every repeat_interval, resolved at the next group_interval tick', () => {
    const o = { labels, startsAt: 1000, firedAt: 1030, lastFiringAt: 1030 + 5 * 3600, endsAt: 1045 + 5 * 3600, beforeWindow: false };
    expect(notificationsOf(o, SHIPPED_ROUTE, 1e9)).toEqual([
      { at: 1030, status: 'firing' }, { at: 1030 + 4 * 3600, status: 'firing' }, { at: 1030 + 5 * 3600 + 30, status: 'resolved' },
    ]);
    expect(notificationsOf({ ...o, endsAt: undefined }, { groupWait: 10, groupInterval: 60, repeatInterval: 3600 }, 1030 + 7200)).toEqual([
      { at: 1040, status: 'firing' }, { at: 1040 + 3600, status: 'firing' },
    ]);
  });
});

describe('the shipped route', () => {
  it('SHIPPED_ROUTE is the SelfhealAnomaly route of prometheus/alertmanager.yml (repeat_interval inherited from the root)', () => {
    type Route = { receiver?: string; group_wait?: string; group_interval?: string; repeat_interval?: string; matchers?: string[]; routes?: Route[] };
    const file = fileURLToPath(new URL('../../prometheus/alertmanager.yml', import.meta.url));
    const root = (parse(readFileSync(file, 'utf8')) as { route: Route }).route;
    const route = root.routes?.find((r) => r.matchers?.some((m) => m.includes('SelfhealAnomaly')));
    const seconds = (d: string | undefined) => parseDuration(d ?? '');
    expect({ groupWait: seconds(route?.group_wait ?? root.group_wait), groupInterval: seconds(route?.group_interval ?? root.group_interval), repeatInterval: seconds(route?.repeat_interval ?? root.repeat_interval) }).toEqual(SHIPPED_ROUTE);
  });
});

describe('the history is read in chunks', () => {
  it('contiguous chunks cover the window, the last one shorter', () => {
    expect(chunksOf({ since: 0, until: 250, chunkSeconds: 100 })).toEqual([{ start: 0, end: 100 }, { start: 100, end: 200 }, { start: 200, end: 250 }]);
  });
});

describe('the shipped rule', () => {
  it('labels, for and annotation templates are those of prometheus/rules/selfheal-alerts.yml', () => {
    const file = fileURLToPath(new URL('../../prometheus/rules/selfheal-alerts.yml', import.meta.url));
    const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[] };
    const rule = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === SHIPPED_ANOMALY_RULE.alert);
    expect(rule?.labels).toEqual(SHIPPED_ANOMALY_RULE.labels);
    expect(rule?.annotations).toEqual(SHIPPED_ANOMALY_RULE.annotations);
    expect(parseDuration(rule?.for ?? '')).toBe(SHIPPED_ANOMALY_RULE.forSeconds);
  });

  it('renders $labels and $value as Prometheus does; without a score, the annotations that show it are left out', () => {
    const l = { ...labels, group: 'shop' };
    expect(shippedAnnotations(l, 1.23456)).toMatchObject({ summary: 'Anomaly in checkout, driven by cpu_usage', anomaly_score: '1.235', description: expect.stringContaining('(group shop) at 1.23, above') });
    expect(Object.keys(shippedAnnotations(l, undefined)).sort()).toEqual(['runbook_url', 'summary']);
  });
});
