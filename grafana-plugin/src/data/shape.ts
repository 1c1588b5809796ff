// From the query results to one timeline per service: health, anomaly periods and healing events.
import type { DataFrame } from '@grafana/data';

import type { HealthTimelineOptions } from '../types';
import { attributionAt, findAnomalySpans, topFeatureFor, typicalStep } from './anomalies';
import { demotionPeriods } from './demotions';
import { attachSpans, eventsFromCounters, eventsFromTimestamps } from './events';
import { groupByRole, type LabelledSeries, mergeSeries, ROLES } from './frames';
import type { DemotionPeriod, HealingEvent, QueryRole, ServiceTimeline, ShapedData } from './model';

export const NO_SERVICE = '(no service label)';

function byService(list: LabelledSeries[] | undefined, label: string): Map<string, LabelledSeries[]> {
  const out = new Map<string, LabelledSeries[]>();
  for (const s of list ?? []) {
    const service = s.labels[label] ?? NO_SERVICE;
    const group = out.get(service) ?? [];
    group.push(s);
    out.set(service, group);
  }
  return out;
}

export interface TimeWindow {
  from: number;
  to: number;
}

export function shapeData(frames: DataFrame[], options: HealthTimelineOptions, window: TimeWindow): ShapedData {
  const roles = groupByRole(frames, options);
  const missing: QueryRole[] = ROLES.filter((r) => !roles.has(r));
  const label = options.serviceLabel;

  const health = byService(roles.get('health'), label);
  const anomaly = byService(roles.get('anomaly'), label);
  const topFeature = byService(roles.get('topFeature'), label);
  const featureScore = byService(roles.get('featureScore'), label);
  const eventLabels = { serviceLabel: label, actionLabel: options.actionLabel, outcomeLabel: options.outcomeLabel };
  const timestampEvents = eventsFromTimestamps(roles.get('lastAction') ?? [], eventLabels, window.from, window.to);
  const counterEvents = eventsFromCounters(roles.get('actionsTotal') ?? [], timestampEvents, eventLabels, window.from, window.to);
  const revertEvents = eventsFromCounters(roles.get('revertsTotal') ?? [], [], eventLabels, window.from, window.to, 'revert');
  const events = new Map<string, HealingEvent[]>();
  for (const e of [...timestampEvents, ...counterEvents, ...revertEvents]) {
    const service = e.service === '' ? NO_SERVICE : e.service;
    const list = events.get(service) ?? [];
    list.push(e);
    events.set(service, list);
  }

  // A demotion is per target; it is drawn on the row of the service named like the target (the policy's targets
  // are usually named after the services they heal). Gaps up to 5 minutes (a missed scrape or two) do not end one.
  const demotions = new Map<string, DemotionPeriod[]>();
  const demotionLabels = { actionLabel: options.actionLabel, targetLabel: options.targetLabel };
  for (const d of demotionPeriods(roles.get('demotions') ?? [], demotionLabels, 5 * 60_000, window.to)) {
    if (d.end < window.from || d.start > window.to) {
      continue;
    }
    const service = d.target === '' ? NO_SERVICE : d.target;
    demotions.set(service, [...(demotions.get(service) ?? []), d]);
  }

  const names = new Set<string>([...health.keys(), ...anomaly.keys(), ...events.keys(), ...demotions.keys()]);
  const services: ServiceTimeline[] = [];
  for (const service of names) {
    const timeline: ServiceTimeline = {
      service,
      spans: [],
      events: (events.get(service) ?? []).sort((a, b) => a.time - b.time),
      demotions: demotions.get(service) ?? [],
    };
    const h = health.get(service);
    if (h) {
      timeline.health = mergeSeries(h, Math.min);
      timeline.currentHealth = timeline.health.values.at(-1);
    }
    const a = anomaly.get(service);
    let step = 0;
    if (a) {
      timeline.anomaly = mergeSeries(a, Math.max);
      timeline.currentScore = timeline.anomaly.values.at(-1);
      step = typicalStep(timeline.anomaly.times);
      timeline.spans = findAnomalySpans(timeline.anomaly, options.anomalyThreshold);
      const tops = topFeature.get(service) ?? [];
      const scores = featureScore.get(service) ?? [];
      for (const span of timeline.spans) {
        span.attribution = attributionAt(span.peakTime, scores, options.featureLabel, step);
        span.feature = topFeatureFor(span, tops, options.featureLabel, step) ?? span.attribution[0]?.feature;
      }
    }
    attachSpans(timeline.events, timeline.spans, step);
    services.push(timeline);
  }
  sortServices(services, options.sortBy);
  return { services, missing };
}

/** Worst first: lowest health, then highest anomaly score, then name. */
export function sortServices(services: ServiceTimeline[], order: HealthTimelineOptions['sortBy']): void {
  const byName = (a: ServiceTimeline, b: ServiceTimeline) => a.service.localeCompare(b.service);
  if (order === 'name') {
    services.sort(byName);
    return;
  }
  services.sort(
    (a, b) =>
      (a.currentHealth ?? 101) - (b.currentHealth ?? 101) ||
      (b.currentScore ?? -1) - (a.currentScore ?? -1) ||
      byName(a, b)
  );
}

/** What the panel needs at least: a health or anomaly series, or healing events. */
export function hasUsableData(shaped: ShapedData): boolean {
  return shaped.services.length > 0;
}
