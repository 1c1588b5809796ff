// The exporter's own metrics, in a private prom-client registry. Scores are read from the in-memory
// snapshot the scheduled cycles keep (never computed on a scrape); a score older than its group's
// maxScoreAge is withheld, so that no alert fires on stale data.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REQUEST_OUTCOMES, type Endpoint, type RequestOutcome } from '../source/types.js';

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
  readonly unobservedValues: Counter<'group'>;
  readonly configReloadSuccessful: Gauge;
  readonly configReloadTimestamp: Gauge;
  readonly shardInfo: Gauge<'index' | 'count'>;
  readonly shardPushdown: Gauge<'group' | 'feature'>;

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
    this.unobservedValues = new Counter({
      name: 'selfheal_exporter_unobserved_values_total',
      help: 'Feature values fed to the detectors as missing because Prometheus did not observe them: no sample within twice their scrape spacing (a scrape gap, e.g. Prometheus was down), so the value was its lookback repeating an older sample.',
      labelNames: ['group'],
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
    // So that operators can check that shards 0..count-1 are all up: count(selfheal_exporter_shard_info) == count.
    // The score series carry no shard label (dashboards and alert rules do not change with sharding).
    this.shardInfo = new Gauge({
      name: 'selfheal_exporter_shard_info',
      help: 'The shard this exporter is (index of count); it scores only the entities that hash to it. Value 1.',
      labelNames: ['index', 'count'],
      registers,
    });
    this.shardPushdown = new Gauge({
      name: 'selfheal_exporter_shard_pushdown',
      help: "Sharded exporters: 1 when a feature's training reads carry this shard's entity matchers (Prometheus answers mostly this shard's series), 0 when its PromQL is not provably safe to filter (the reads return every shard's series).",
      labelNames: ['group', 'feature'],
      registers,
    });
  }

  /** Sets the pushdown series of the current groups (replaced on a reload). */
  setShardPushdown(states: readonly { group: string; feature: string; pushedDown: boolean }[]): void {
    this.shardPushdown.reset();
    for (const state of states) this.shardPushdown.set({ group: state.group, feature: state.feature }, state.pushedDown ? 1 : 0);
  }

  /** Sets the shard info series (one series; replaced on a change). */
  setShard(shard: { index: number; count: number }): void {
    this.shardInfo.reset();
    this.shardInfo.set({ index: String(shard.index), count: String(shard.count) }, 1);
  }

  /** The callback for PrometheusClient.onRequest. */
  readonly onPrometheusRequest = (endpoint: Endpoint, outcome: RequestOutcome, seconds: number): void => {
    this.prometheusRequests.inc({ outcome });
    this.prometheusRequestDuration.observe({ endpoint }, seconds);
  };
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

interface MetricText {
  name: string;
  help: string;
  lines: string[];
}

/**
 * The per-entity score metrics, rendered from the snapshot at every scrape in the Prometheus text format.
 * Rendered here rather than through prom-client Gauges: at 10,000 entities (90,000 series) prom-client's
 * set/format path cost 0.5-1 s of CPU per scrape; this costs a tenth of that (see bench/exporter-bench.ts).
 * The label sets depend on the configuration (the groups' `groupBy`), so a reload builds a new one.
 */
export class ScoreMetrics {
  constructor(private readonly source: ScoreSource) {}

  render(): string {
    const metric = (name: string, help: string): MetricText => ({ name, help, lines: [] });
    const anomaly = metric('selfheal_anomaly_score', 'Calibrated anomaly score, >= 0; above 1 is anomalous (the alerting threshold).');
    const health = metric('selfheal_health_score', 'Health score 0-100, 100 = healthy, derived from the anomaly score.');
    const featureScore = metric('selfheal_anomaly_feature_score', 'Per-feature attribution of the anomaly score, on the same scale.');
    const topFeature = metric(
      'selfheal_anomaly_top_feature_info',
      'The feature that drives the current anomaly (latched while anomalous); one series per scored entity.',
    );
    const trained = metric('selfheal_model_trained_timestamp_seconds', "When the entity's model was last trained (sample time).");
    const samples = metric('selfheal_model_training_samples', 'Rows the current model of the entity was trained on.');
    const states = metric('selfheal_entities', 'Entities by state: warming (not enough history yet), ready (fresh scores), stale (no fresh data).');

    for (const group of this.source()) {
      const groupLabel = `group="${escapeLabelValue(group.group)}"`;
      const featureLabels = group.featureNames.map((name) => `,feature="${escapeLabelValue(name)}"`);
      const counts: Record<EntityState, number> = { warming: 0, ready: 0, stale: 0 };
      for (const entity of group.entities) {
        counts[entity.state]++;
        let labels = groupLabel;
        for (const [key, value] of Object.entries(entity.labels)) labels += `,${key}="${escapeLabelValue(value)}"`;
        const scores = entity.scores;
        if (scores) {
          anomaly.lines.push(`${anomaly.name}{${labels}} ${formatValue(scores.anomalyScore)}`);
          health.lines.push(`${health.name}{${labels}} ${formatValue(scores.healthScore)}`);
          for (let i = 0; i < featureLabels.length; i++) {
            featureScore.lines.push(`${featureScore.name}{${labels}${featureLabels[i] ?? ''}} ${formatValue(scores.featureScores[i] ?? 0)}`);
          }
          // Exactly one series per scored entity: the alert rule joins on it.
          const top = scores.topFeature >= 0 && scores.topFeature < featureLabels.length ? scores.topFeature : 0;
          topFeature.lines.push(`${topFeature.name}{${labels}${featureLabels[top] ?? ''}} 1`);
        }
        if (entity.trainedAt !== undefined) {
          trained.lines.push(`${trained.name}{${labels}} ${formatValue(entity.trainedAt)}`);
          samples.lines.push(`${samples.name}{${labels}} ${formatValue(entity.trainingSamples)}`);
        }
      }
      for (const state of ENTITY_STATES) states.lines.push(`${states.name}{${groupLabel},state="${state}"} ${counts[state]}`);
    }
    // One array of every line and one join: each intermediate string of the size of the whole exposition (7 MiB at
    // 90,000 series) lands in V8's large-object space and stays there until a full GC, so a scrape that built four of
    // them grew the heap by ~27 MiB at 10,000 entities.
    const out: string[] = [];
    for (const m of [anomaly, health, featureScore, topFeature, trained, samples, states]) {
      if (out.length > 0) out.push('');
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} gauge`);
      for (const line of m.lines) out.push(line);
    }
    out.push('');
    return out.join('\n');
  }
}

/** The whole exposition: the process registry's metrics, then the per-entity ones. */
export async function exposition(process: ExporterMetrics, scores: ScoreMetrics | undefined): Promise<string> {
  const base = await process.registry.metrics();
  return scores ? `${base}\n${scores.render()}` : base;
}
