// The shaped, render-ready model of the panel: one timeline per service.

/** A time series as parallel arrays (epoch ms, value), sorted by time. */
export interface Series {
  times: number[];
  values: number[];
}

export interface FeatureScore {
  feature: string;
  score: number;
}

/** A period in which the anomaly score stayed above the threshold. */
export interface AnomalySpan {
  start: number;
  end: number;
  /** Still anomalous at the last sample. */
  open: boolean;
  peakScore: number;
  peakTime: number;
  /** The feature that drove the anomaly (top-feature series, else highest attribution at the peak). */
  feature?: string;
  /** Per-feature attribution at the peak, highest first. */
  attribution: FeatureScore[];
}

export interface HealingEvent {
  /** A healing action, or the revert of an earlier fix (`revertAfter`; its outcome is a revert outcome). */
  kind: 'action' | 'revert';
  time: number;
  service: string;
  action: string;
  outcome: string;
  /** Seen only as a counter increase between two samples: the time is the later sample's. */
  approximate: boolean;
  count: number;
  /** The anomaly the action answered, if one was seen. */
  span?: AnomalySpan;
  /** From the action to the end of its anomaly; undefined while the anomaly lasts. */
  recoveredAfterMs?: number;
}

/** A period in which an action was demoted to approve mode on a target (the demotions gauge was 1). */
export interface DemotionPeriod {
  action: string;
  target: string;
  start: number;
  end: number;
  /** Still demoted at the last sample. */
  open: boolean;
}

export interface ServiceTimeline {
  service: string;
  health?: Series;
  /** Last health value in range. */
  currentHealth?: number;
  anomaly?: Series;
  currentScore?: number;
  spans: AnomalySpan[];
  events: HealingEvent[];
  /** Demotions on the target named like this service. */
  demotions: DemotionPeriod[];
}

export type QueryRole = 'health' | 'anomaly' | 'topFeature' | 'featureScore' | 'lastAction' | 'actionsTotal' | 'revertsTotal' | 'demotions';

export interface ShapedData {
  services: ServiceTimeline[];
  /** Roles with no matching series in the data. */
  missing: QueryRole[];
}
