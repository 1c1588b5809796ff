// Panel options: what the panel reads (metric names or query refIds, label names) and how it draws.

/**
 * Healing outcomes the healing service reports (docs/contracts.md). `unknown`: the action ran but nobody saw its
 * result (the service stopped mid-action and could not verify it); `deferred`: held back by a guardrail that lifts.
 */
export const OUTCOMES = ['succeeded', 'failed', 'unknown', 'dry_run', 'skipped', 'deferred'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type SortOrder = 'worst' | 'name';

export interface HealthTimelineOptions {
  /** Each "query" option matches a series by its `__name__` label or by the query's refId. */
  healthQuery: string;
  anomalyQuery: string;
  topFeatureQuery: string;
  featureScoreQuery: string;
  lastActionQuery: string;
  actionsTotalQuery: string;

  serviceLabel: string;
  featureLabel: string;
  actionLabel: string;
  outcomeLabel: string;

  /** Anomaly score above which a period is shaded as anomalous (the alerting threshold). */
  anomalyThreshold: number;
  sortBy: SortOrder;
  /** Services per page; 0 shows every service in a scrolling list. */
  pageSize: number;
  rowHeight: number;
  showSparkline: boolean;
  showLegend: boolean;
  /** Link opened when an event is clicked; ${__from}, ${__to}, ${service}, ${action}, ${outcome} are filled in. */
  eventLink: string;
  eventLinkNewTab: boolean;
}

export const DEFAULT_OPTIONS: HealthTimelineOptions = {
  healthQuery: 'selfheal_health_score',
  anomalyQuery: 'selfheal_anomaly_score',
  topFeatureQuery: 'selfheal_anomaly_top_feature_info',
  featureScoreQuery: 'selfheal_anomaly_feature_score',
  lastActionQuery: 'selfheal_healing_last_action_timestamp_seconds',
  actionsTotalQuery: 'selfheal_healing_actions_total',
  serviceLabel: 'service',
  featureLabel: 'feature',
  actionLabel: 'action',
  outcomeLabel: 'outcome',
  anomalyThreshold: 1,
  sortBy: 'worst',
  pageSize: 0,
  rowHeight: 44,
  showSparkline: true,
  showLegend: true,
  eventLink: '',
  eventLinkNewTab: false,
};
