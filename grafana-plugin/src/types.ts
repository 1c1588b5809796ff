// Panel options: what the panel reads (metric names or query refIds, label names) and how it draws. The defaults
// are the families and labels declared in @selfheal/contracts (its browser-safe subpaths: no zod, no node:crypto).
import { ANOMALY_THRESHOLD, HEALING_FAMILIES, HEALING_LABELS, SCORE_FAMILIES, SCORE_LABELS } from '@selfheal/contracts/metrics';

export type SortOrder = 'worst' | 'name';

export interface HealthTimelineOptions {
  /** Each "query" option matches a series by its `__name__` label or by the query's refId. */
  healthQuery: string;
  anomalyQuery: string;
  topFeatureQuery: string;
  featureScoreQuery: string;
  lastActionQuery: string;
  actionsTotalQuery: string;
  /** Counter of reverts of fixes, per service, action and outcome. */
  revertsTotalQuery: string;
  /** Gauge, 1 while an action is demoted to approve mode on a target. */
  demotionsQuery: string;

  serviceLabel: string;
  featureLabel: string;
  actionLabel: string;
  outcomeLabel: string;
  /** The demotions gauge's target label: a demotion is drawn on the row of the service of that name. */
  targetLabel: string;

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
  healthQuery: SCORE_FAMILIES.healthScore.name,
  anomalyQuery: SCORE_FAMILIES.anomalyScore.name,
  topFeatureQuery: SCORE_FAMILIES.topFeature.name,
  featureScoreQuery: SCORE_FAMILIES.featureScore.name,
  lastActionQuery: HEALING_FAMILIES.lastAction.name,
  actionsTotalQuery: HEALING_FAMILIES.actions.name,
  revertsTotalQuery: HEALING_FAMILIES.reverts.name,
  demotionsQuery: HEALING_FAMILIES.demotions.name,
  serviceLabel: HEALING_LABELS.service,
  featureLabel: SCORE_LABELS.feature,
  actionLabel: HEALING_LABELS.action,
  outcomeLabel: HEALING_LABELS.outcome,
  targetLabel: 'target',
  anomalyThreshold: ANOMALY_THRESHOLD,
  sortBy: 'worst',
  pageSize: 0,
  rowHeight: 44,
  showSparkline: true,
  showLegend: true,
  eventLink: '',
  eventLinkNewTab: false,
};
