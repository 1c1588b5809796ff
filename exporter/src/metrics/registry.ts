// The exporter's own metrics, in a private prom-client registry. Scores are read from the in-memory
// snapshot the scheduled cycles keep (never computed on a scrape); a score older than its group's
// maxScoreAge is withheld, so that no alert fires on stale data.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REQUEST_OUTCOMES, type Endpoint, type RequestOutcome } from '../prometheus/client.js';

export type EntityState = 'warming' | 'ready' | 'stale';
export const ENTITY_STATES: readonly EntityState[] = ['warming', 'ready', 'stale'];
export type CyclePhase = 'train' | 'catch_up' | 'score';

/** What the metrics publish about one entity (a view of the service's in-memory state). */
export interface EntitySnapshot {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: EntityState;
  /** Undefined while warming, or when the score is older than maxScoreAge. */
  readonly scores:
    | {
        readonly anomalyScore: number;
        readonly healthScore: number;
        readonly featureScores: ArrayLike<number>;
        readonly topFeature: number;
      }
    | undefined;
  readonly trainedAt: number | undefined;
  readonly trainingSamples: number;
}

export interface GroupSnapshot {
  readonly group: string;
  readonly featureNames: readonly string[];
  readonly entities: Iterable<EntitySnapshot>;
}

/** Where the score metrics read from at scrape time. */
export type ScoreSource = () => Iterable<GroupSnapshot>;

/** Metrics that live as long as the process (counters survive config reloads). */
export class ExporterMetrics {
  readonly registry = new Registry();
  readonly prometheusRequests: Counter<'outcome'>;
  readonly prometheusRequestDuration: Histogram<'endpoint'>;
  readonly cycleDuration: Histogram<'group' | 'phase'>;
  readonly cycles: Counter<'group' | 'phase' | 'outcome'>;
  readonly stateErrors: Counter<'operation'>;
  readonly configReloadSuccessful: Gauge;
  readonly configReloadTimestamp: Gauge;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.prometheusRequests = new Counter({
      name: 'selfheal_prometheus_requests_total',
      help: 'HTTP requests of the exporter to the Prometheus API, by outcome (retries counted individually).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of REQUEST_OUTCOMES) this.prometheusRequests.inc({ outcome }, 0);
    this.prometheusRequestDuration = new Histogram({
      name: 'selfheal_prometheus_request_duration_seconds',
      help: 'Duration of the exporter requests to the Prometheus API.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.cycleDuration = new Histogram({
      name: 'selfheal_exporter_cycle_duration_seconds',
      help: 'Wall time of a scoring or training cycle of a group (queries included).',
      labelNames: ['group', 'phase'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.cycles = new Counter({
      name: 'selfheal_exporter_cycles_total',
      help: 'Cycles run per group and phase, by outcome (success, failure).',
      labelNames: ['group', 'phase', 'outcome'],
      registers,
    });
    this.stateErrors = new Counter({
      name: 'selfheal_exporter_state_errors_total',
      help: 'Model state files or entries that could not be saved or restored (reported and skipped).',
      labelNames: ['operation'],
      registers,
    });
    this.stateErrors.inc({ operation: 'load' }, 0);
    this.stateErrors.inc({ operation: 'save' }, 0);
    this.configReloadSuccessful = new Gauge({
      name: 'selfheal_exporter_config_last_reload_successful',
      help: 'Whether the last configuration reload succeeded (1) or was rejected (0).',
      registers,
    });
    this.configReloadTimestamp = new Gauge({
      name: 'selfheal_exporter_config_last_reload_success_timestamp_seconds',
      help: 'When the configuration was last loaded successfully.',
      registers,
    });
  }

  /** The callback for PrometheusClient.onRequest. */
  readonly onPrometheusRequest = (endpoint: Endpoint, outcome: RequestOutcome, seconds: number): void => {
    this.prometheusRequests.inc({ outcome });
    this.prometheusRequestDuration.observe({ endpoint }, seconds);
  };
}

/**
 * The per-entity score metrics. Their label names depend on the configuration (the union of the
 * groups' `groupBy` labels), so a reload builds a new one; they read `source` at every scrape.
 */
export class ScoreMetrics {
  readonly registry = new Registry();

  constructor(entityLabels: readonly string[], source: ScoreSource) {
    const base = ['group', ...entityLabels];
    const registers = [this.registry];
    type Setter = (snapshot: GroupSnapshot, entity: EntitySnapshot, labels: Record<string, string>) => void;
    // One gauge per metric, each refilled from the snapshot when scraped.
    const gauge = (name: string, help: string, labelNames: string[], fill: (gauge: Gauge) => Setter): Gauge => {
      const g: Gauge = new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          g.reset();
          const setter = fill(g);
          for (const group of source()) {
            for (const entity of group.entities) setter(group, entity, { group: group.group, ...entity.labels });
          }
        },
      });
      return g;
    };
    gauge('selfheal_anomaly_score', 'Calibrated anomaly score, >= 0; above 1 is anomalous (the alerting threshold).', base, (g) => (_group, entity, labels) => {
      if (entity.scores) g.set(labels, entity.scores.anomalyScore);
    });
    gauge('selfheal_health_score', 'Health score 0-100, 100 = healthy, derived from the anomaly score.', base, (g) => (_group, entity, labels) => {
      if (entity.scores) g.set(labels, entity.scores.healthScore);
    });
    gauge(
      'selfheal_anomaly_feature_score',
      'Per-feature attribution of the anomaly score, on the same scale.',
      [...base, 'feature'],
      (g) => (group, entity, labels) => {
        if (!entity.scores) return;
        const scores = entity.scores.featureScores;
        for (let i = 0; i < group.featureNames.length; i++) {
          g.set({ ...labels, feature: group.featureNames[i] ?? String(i) }, scores[i] ?? 0);
        }
      },
    );
    gauge(
      'selfheal_anomaly_top_feature_info',
      'The feature that drives the current anomaly (latched while anomalous); one series per scored entity.',
      [...base, 'feature'],
      (g) => (group, entity, labels) => {
        if (!entity.scores) return;
        // Exactly one series per scored entity: the alert rule joins on it.
        const top = entity.scores.topFeature >= 0 ? entity.scores.topFeature : 0;
        g.set({ ...labels, feature: group.featureNames[top] ?? String(top) }, 1);
      },
    );
    gauge('selfheal_model_trained_timestamp_seconds', "When the entity's model was last trained (sample time).", base, (g) => (_group, entity, labels) => {
      if (entity.trainedAt !== undefined) g.set(labels, entity.trainedAt);
    });
    gauge('selfheal_model_training_samples', 'Rows the current model of the entity was trained on.', base, (g) => (_group, entity, labels) => {
      if (entity.trainedAt !== undefined) g.set(labels, entity.trainingSamples);
    });
    const entities: Gauge = new Gauge({
      name: 'selfheal_entities',
      help: 'Entities by state: warming (not enough history yet), ready (fresh scores), stale (no fresh data).',
      labelNames: ['group', 'state'],
      registers,
      collect() {
        entities.reset();
        for (const group of source()) {
          const counts: Record<EntityState, number> = { warming: 0, ready: 0, stale: 0 };
          for (const entity of group.entities) counts[entity.state]++;
          for (const state of ENTITY_STATES) entities.set({ group: group.group, state }, counts[state]);
        }
      },
    });
  }
}

/** The exposition of both registries (their metric names are disjoint). */
export async function exposition(process: ExporterMetrics, scores: ScoreMetrics | undefined): Promise<string> {
  const parts = [await process.registry.metrics()];
  if (scores) parts.push(await scores.registry.metrics());
  return parts.join('');
}
