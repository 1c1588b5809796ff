// When the shipped alert rule (`selfheal_anomaly_score > 1` for `for:`) would have fired over a backtest's scores:
// what a user's Alertmanager, and so the healing service, would have seen. Prometheus keeps each scoring's value
// until the next one, so a row above 1 holds from its timestamp to the next row's; a run of such rows starting at t
// fires at t + for if the run still holds then, and stays firing to the run's end. (Rule evaluations every
// `evaluation_interval` add up to one interval of delay; not modelled.)

/**
 * Per row, 1 while the rule fires, else 0. `timestamps` in seconds, increasing; `anomalyScores` the detector's a.
 * The last row holds for as long as the gap before it (a lone row: for ever).
 */
export function alertFiring(timestamps: Float64Array, anomalyScores: Float64Array, forSeconds: number, threshold = 1): Uint8Array {
  const n = timestamps.length;
  const firing = new Uint8Array(n);
  const end = (i: number): number =>
    i + 1 < n ? (timestamps[i + 1] as number) : (timestamps[i] as number) + (n > 1 ? (timestamps[i] as number) - (timestamps[i - 1] as number) : Infinity);
  let i = 0;
  while (i < n) {
    if (!((anomalyScores[i] as number) > threshold)) {
      i++;
      continue;
    }
    let last = i;
    while (last + 1 < n && (anomalyScores[last + 1] as number) > threshold) last++;
    const firesAt = (timestamps[i] as number) + forSeconds;
    if (firesAt < end(last)) {
      // The row holding at firesAt, and every row after it in the run.
      let j = i;
      while (j < last && (timestamps[j + 1] as number) <= firesAt) j++;
      firing.fill(1, j, last + 1);
    }
    i = last + 1;
  }
  return firing;
}
