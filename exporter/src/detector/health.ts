// health_score = 100 / (1 + a^2) for the calibrated anomaly score a: 100 when normal, 50 at the alerting threshold
// (a = 1), 20 at a = 2, 10 at a = 3 (where the alert turns critical). Smooth and monotone, so dashboards can band it.
export function healthScore(anomalyScore: number): number {
  if (!(anomalyScore > 0)) return 100;
  return 100 / (1 + anomalyScore * anomalyScore);
}
