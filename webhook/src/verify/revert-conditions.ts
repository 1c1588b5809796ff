// The PromQL conditions of a revert, built like the default verification query from the alert's entity: the
// anomaly score stayed below the alerting threshold for `revertAfter` (then the fix is undone), and the anomaly's
// feature is back above it (after a revert: the revert re-triggered the incident).
import { ANOMALY_THRESHOLD, SCORE_FAMILIES, escapePromqlString } from '@selfheal/contracts';

/** A range for PromQL: whole seconds as `1800s`, anything finer in milliseconds. */
export function promRange(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;
}

/** Holds (returns a sample) when the entity's score stayed below the threshold over the last `seconds`. */
export function calmQuery(entity: string, seconds: number): string {
  return `max_over_time(${SCORE_FAMILIES.anomalyScore.name}{ ${entity} }[${promRange(seconds)}]) < ${ANOMALY_THRESHOLD}`;
}

/**
 * Holds when the anomaly the fix answered is back: the score of the feature that drove it (the alert's `feature`
 * label) at or above the threshold, so another fault of the same entity (its memory while a CPU fix is reverted) is
 * not taken for a re-trigger; the entity's score when the alert named no feature.
 */
export function returnedQuery(entity: string, feature?: string): string {
  if (feature) return `${SCORE_FAMILIES.featureScore.name}{ ${entity},feature="${escapePromqlString(feature)}" } >= ${ANOMALY_THRESHOLD}`;
  return `${SCORE_FAMILIES.anomalyScore.name}{ ${entity} } >= ${ANOMALY_THRESHOLD}`;
}
