// Every metric family the loop shares: the exporter publishes the score and self families, the healing service the
// healing families; the alert and recording rules, the dashboards, the Grafana panel, the demo and the healing
// service's default verification query read them. A name is changed here, and the rule-file test
// (test/metric-families.test.ts) then points at every rule or dashboard still using the old one.
import { defineFamily, seriesNames, type MetricFamily } from './family.js';

/** An anomaly score above this is anomalous: the alerting threshold of the rules, the panel and verification. */
export const ANOMALY_THRESHOLD = 1;

/**
 * The fixed labels of the score families (besides the entity's own labels): the configuration group, the feature a
 * series is about, and an entity's state.
 */
export const SCORE_LABELS = { group: 'group', feature: 'feature', state: 'state', bound: 'bound' } as const;
const { group: G, feature: FEATURE, state: STATE, bound: BOUND } = SCORE_LABELS;

/** Per-entity score families, rendered by the exporter from its in-memory snapshot at every scrape. */
export const SCORE_FAMILIES = {
  anomalyScore: defineFamily({
    name: 'selfheal_anomaly_score', type: 'gauge', labels: [G], entityLabels: true,
    help: 'Calibrated anomaly score, >= 0; above 1 is anomalous (the alerting threshold).',
  }),
  healthScore: defineFamily({
    name: 'selfheal_health_score', type: 'gauge', labels: [G], entityLabels: true,
    help: 'Health score 0-100, 100 = healthy, derived from the anomaly score.',
  }),
  featureScore: defineFamily({
    name: 'selfheal_anomaly_feature_score', type: 'gauge', labels: [G, FEATURE], entityLabels: true,
    help: 'Per-feature attribution of the anomaly score, on the same scale.',
  }),
  featureValue: defineFamily({
    name: 'selfheal_feature_value', type: 'gauge', labels: [G, FEATURE], entityLabels: true,
    help: "The feature's value the detector last scored (in the feature's unit; absent where Prometheus had no value).",
  }),
  featureExpected: defineFamily({
    name: 'selfheal_feature_expected', type: 'gauge', labels: [G, FEATURE, BOUND], entityLabels: true,
    help: 'Per feature, the band of values the current model learnt as normal (bound="lower"|"upper", in the feature\'s unit): a value outside it is unusual.',
  }),
  topFeature: defineFamily({
    name: 'selfheal_anomaly_top_feature_info', type: 'info', labels: [G, FEATURE], entityLabels: true,
    help: 'The feature that drives the current anomaly (latched while anomalous); one series per scored entity.',
  }),
  modelTrained: defineFamily({
    name: 'selfheal_model_trained_timestamp_seconds', type: 'gauge', labels: [G], entityLabels: true,
    help: "When the entity's model was last trained (sample time).",
  }),
  trainingSamples: defineFamily({
    name: 'selfheal_model_training_samples', type: 'gauge', labels: [G], entityLabels: true,
    help: 'Rows the current model of the entity was trained on.',
  }),
  entities: defineFamily({
    name: 'selfheal_entities', type: 'gauge', labels: [G, STATE],
    help: 'Entities by state: warming (not enough history yet), ready (fresh scores), stale (no fresh data).',
  }),
} as const;

/** The exporter's own metrics (its work, its requests to Prometheus, its configuration and shard). */
export const EXPORTER_FAMILIES = {
  prometheusRequests: defineFamily({
    name: 'selfheal_prometheus_requests_total', type: 'counter', labels: ['outcome'],
    help: 'HTTP requests of the exporter to the Prometheus API, by outcome (retries counted individually).',
  }),
  prometheusRequestDuration: defineFamily({
    name: 'selfheal_prometheus_request_duration_seconds', type: 'histogram', labels: ['endpoint'],
    help: 'Duration of the exporter requests to the Prometheus API.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  cycleDuration: defineFamily({
    name: 'selfheal_exporter_cycle_duration_seconds', type: 'histogram', labels: ['group', 'phase'],
    help: 'Wall time of a scoring or training cycle of a group (queries included).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  }),
  cycles: defineFamily({
    name: 'selfheal_exporter_cycles_total', type: 'counter', labels: ['group', 'phase', 'outcome'],
    help: 'Cycles run per group and phase, by outcome (success, failure).',
  }),
  stateErrors: defineFamily({
    name: 'selfheal_exporter_state_errors_total', type: 'counter', labels: ['operation'],
    help: 'Model state files or entries that could not be saved or restored (reported and skipped).',
  }),
  unobservedValues: defineFamily({
    name: 'selfheal_exporter_unobserved_values_total', type: 'counter', labels: ['group'],
    help: 'Feature values fed to the detectors as missing because Prometheus did not observe them: no sample within twice their scrape spacing (a scrape gap, e.g. Prometheus was down), so the value was its lookback repeating an older sample.',
  }),
  configReloadSuccessful: defineFamily({
    name: 'selfheal_exporter_config_last_reload_successful', type: 'gauge',
    help: 'Whether the last configuration reload succeeded (1) or was rejected (0).',
  }),
  configReloadTimestamp: defineFamily({
    name: 'selfheal_exporter_config_last_reload_success_timestamp_seconds', type: 'gauge',
    help: 'When the configuration was last loaded successfully.',
  }),
  // So that operators can check that shards 0..count-1 are all up: count(selfheal_exporter_shard_info) == count.
  shardInfo: defineFamily({
    name: 'selfheal_exporter_shard_info', type: 'info', labels: ['index', 'count'],
    help: 'The shard this exporter is (index of count); it scores only the entities that hash to it. Value 1.',
  }),
  shardPushdown: defineFamily({
    name: 'selfheal_exporter_shard_pushdown', type: 'gauge', labels: ['group', 'feature'],
    help: "Sharded exporters: 1 when a feature's training reads carry this shard's entity matchers (Prometheus answers mostly this shard's series), 0 when its PromQL is not provably safe to filter (the reads return every shard's series).",
  }),
} as const;

/** The labels of the healing families that name what was done where (the panel joins them with the scores). */
export const HEALING_LABELS = { service: 'service', action: 'action', outcome: 'outcome' } as const;
const { service: SERVICE, action: ACTION, outcome: OUTCOME } = HEALING_LABELS;

/** The healing service's metrics (the panel reads the actions, last-action, reverts and demotions families). */
export const HEALING_FAMILIES = {
  actions: defineFamily({
    name: 'selfheal_healing_actions_total', type: 'counter', labels: [SERVICE, ACTION, OUTCOME],
    help: 'Healing actions by service, action and outcome.',
  }),
  lastAction: defineFamily({
    name: 'selfheal_healing_last_action_timestamp_seconds', type: 'gauge', labels: [SERVICE, ACTION, OUTCOME],
    help: 'Unix time of the last healing action by service, action and outcome.',
  }),
  actionDuration: defineFamily({
    name: 'selfheal_healing_action_duration_seconds', type: 'histogram', labels: [ACTION],
    help: 'Time an actuator took to carry out an action (verification excluded).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  recovery: defineFamily({
    name: 'selfheal_healing_recovery_seconds', type: 'histogram', labels: [SERVICE],
    help: 'Time from an alert starting to its resolution.',
    buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
  }),
  cooldownRemaining: defineFamily({
    name: 'selfheal_healing_cooldown_remaining_seconds', type: 'gauge', labels: [SERVICE, ACTION],
    help: 'Seconds left before another action may run on the service.',
  }),
  inFlight: defineFamily({
    name: 'selfheal_healing_actions_in_flight', type: 'gauge',
    help: 'Actions being carried out or verified.',
  }),
  deferred: defineFamily({
    name: 'selfheal_healing_deferred_actions', type: 'gauge',
    help: 'Incidents whose next action is deferred until a guardrail (cooldown, rate limit, concurrency) lifts.',
  }),
  pendingApprovals: defineFamily({
    name: 'selfheal_healing_pending_approvals', type: 'gauge',
    help: "Actions waiting for a person's approval (approve mode).",
  }),
  guardrailRefusals: defineFamily({
    name: 'selfheal_healing_guardrail_refusals_total', type: 'counter', labels: ['reason', 'decision'],
    help: 'Actions a guardrail refused, by guardrail (reason) and what followed (decision: skipped, deferred until it lifts, escalated to people).',
  }),
  reverts: defineFamily({
    name: 'selfheal_healing_reverts_total', type: 'counter', labels: [SERVICE, ACTION, OUTCOME],
    help: 'Reverts of fixes (revertAfter) by service, action and outcome (reverted, reapplied, failed, unknown, skipped, deferred).',
  }),
  unrevertedFixes: defineFamily({
    name: 'selfheal_healing_unreverted_fixes', type: 'gauge', labels: [ACTION],
    help: 'Revertible fixes still in place: waiting for their revert, or left in place (the anomaly came back, the revert failed or its result is unknown). Read from the store.',
  }),
  // The efficacy ledger: read from the store at scrape time, over the ledger's window (efficacy.window). Targets and
  // actions are bounded by the policy; features by the ledger (the most attempted ones, the rest as `other`).
  efficacyAttempts: defineFamily({
    name: 'selfheal_healing_efficacy_attempts', type: 'gauge', labels: ['feature', ACTION, 'target'],
    help: 'Actions executed within the efficacy window whose outcome is known (succeeded, failed or unknown), by the alert feature, action and target.',
  }),
  efficacySuccesses: defineFamily({
    name: 'selfheal_healing_efficacy_successes', type: 'gauge', labels: ['feature', ACTION, 'target'],
    help: 'Of those attempts, the ones verified to have healed.',
  }),
  efficacySuccessRatio: defineFamily({
    name: 'selfheal_healing_efficacy_success_ratio', type: 'gauge', labels: ['feature', ACTION, 'target'],
    help: 'Successes / attempts within the efficacy window (0-1).',
  }),
  efficacyRecovery: defineFamily({
    name: 'selfheal_healing_efficacy_recovery_seconds', type: 'gauge', labels: ['feature', ACTION, 'target'],
    help: 'Median time to recover of the successful attempts within the efficacy window: from the alert starting to the fix verified.',
  }),
  demotions: defineFamily({
    name: 'selfheal_healing_demotions', type: 'gauge', labels: [ACTION, 'target'],
    help: 'Actions demoted to approve mode on a target because their success rate fell below the efficacy floor (1 while demoted; a person lifts it).',
  }),
  costReplicaSeconds: defineFamily({
    name: 'selfheal_healing_cost_replica_seconds', type: 'gauge', labels: ['target'],
    help: 'Replica-seconds added by scale-ups within the efficacy window (from the fix until its revert scaled back, or until now).',
  }),
  costAddedReplicas: defineFamily({
    name: 'selfheal_healing_cost_added_replicas', type: 'gauge', labels: ['target'],
    help: 'Replicas added by scale-ups and not reverted (yet).',
  }),
  quarantinedInstances: defineFamily({
    name: 'selfheal_healing_quarantined_instances', type: 'gauge', labels: ['target'],
    help: 'Instances held in quarantine: quarantine actions that succeeded and were not reverted (yet).',
  }),
  webhookRequests: defineFamily({
    name: 'selfheal_webhook_requests_total', type: 'counter', labels: ['code'],
    help: 'Webhook requests by HTTP status code.',
  }),
  alertsReceived: defineFamily({
    name: 'selfheal_webhook_alerts_received_total', type: 'counter', labels: ['status'],
    help: 'Alerts received by status.',
  }),
  snsMessages: defineFamily({
    name: 'selfheal_webhook_sns_messages_total', type: 'counter', labels: ['type', 'outcome'],
    help: 'Amazon SNS messages received at POST /api/v1/alerts/sns, by SNS message type and what became of them.',
  }),
} as const;

/** Every declared family, once. */
export const METRIC_FAMILIES: readonly MetricFamily[] = [
  ...Object.values(SCORE_FAMILIES),
  ...Object.values(EXPORTER_FAMILIES),
  ...Object.values(HEALING_FAMILIES),
];

/**
 * The declared family a series name belongs to: a family's name, or a histogram's _bucket, _sum and _count series
 * (a classic histogram's bare name selects no series).
 */
export function familyOfSeries(series: string): MetricFamily | undefined {
  return METRIC_FAMILIES.find((family) => seriesNames(family).includes(series));
}
