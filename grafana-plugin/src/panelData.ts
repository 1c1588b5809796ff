// Panel-level helpers between the shaped data and the view: thresholds, link variables, the message for
// data the panel cannot use.
import type { DataFrame, ScopedVars, ThresholdsConfig } from '@grafana/data';

import type { HealingEvent } from './data/model';
import type { HealthTimelineOptions } from './types';

/** Thresholds set on the health field (field config or an override), if any. */
export function healthThresholds(frames: DataFrame[], options: HealthTimelineOptions): ThresholdsConfig | undefined {
  for (const frame of frames) {
    for (const field of frame.fields) {
      const name = field.labels?.__name__ ?? field.name;
      if ((name === options.healthQuery || frame.refId === options.healthQuery) && field.config.thresholds?.steps.length) {
        return field.config.thresholds;
      }
    }
  }
  return undefined;
}

/** The variables a clicked event fills into the link: its anomaly's time range with 5 minutes either side. */
export function eventLinkVars(event: HealingEvent, now: number): ScopedVars {
  const pad = 5 * 60_000;
  const start = (event.span ? Math.min(event.span.start, event.time) : event.time) - pad;
  const end = (event.span ? (event.span.open ? now : Math.max(event.span.end, event.time)) : event.time) + pad;
  const v = (value: string | number) => ({ text: String(value), value });
  return {
    __from: v(Math.round(start)),
    __to: v(Math.round(end)),
    service: v(event.service),
    action: v(event.action),
    outcome: v(event.outcome),
  };
}

export function expectedQueriesMessage(options: HealthTimelineOptions): string {
  return (
    `Expected Prometheus time series with a "${options.serviceLabel}" label: ` +
    `${options.healthQuery} and ${options.anomalyQuery} (health and anomaly scores), ` +
    `${options.topFeatureQuery} (the feature of each anomaly) and ${options.lastActionQuery} ` +
    `(healing actions, with "${options.actionLabel}" and "${options.outcomeLabel}" labels); optional: ` +
    `${options.revertsTotalQuery} (reverts of fixes) and ${options.demotionsQuery} (demotions, by "${options.targetLabel}"). ` +
    `Series are matched by metric name or by query refId (panel options "Queries").`
  );
}

