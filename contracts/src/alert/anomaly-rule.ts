// What the other components need to know of the shipped alerting rule SelfhealAnomaly
// (prometheus/rules/selfheal-alerts.yml and its copy in deploy/kubernetes/prometheusrule.yaml): `selfheal backtest`
// says when it would have fired, the policy replay when an occurrence's alert started. Tests compare both with the files.

/** The rule fires on selfheal_anomaly_score above this. */
export const ANOMALY_ALERT_THRESHOLD = 1;

/**
 * The rule's `for:`, in seconds: the score must stay above the threshold this long before the alert fires. A
 * minute, not a number of samples: at a 1-minute step it asks for two scorings in a row above 1 (on the SMD server
 * metrics this cut false alarms from 2.9 to 0.6 per machine-day, event F1 0.24 -> 0.37, exporter/src/detector/README.md),
 * while one scoring of data sampled every 5 minutes or slower stays above 1 for longer than that on its own.
 */
export const ANOMALY_ALERT_FOR_SECONDS = 60;
