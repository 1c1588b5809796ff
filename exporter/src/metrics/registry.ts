// The exporter's own metrics, in a private prom-client registry. Scores are read from the in-memory
// snapshot the scheduled cycles keep (never computed on a scrape); a score older than its group's
// maxScoreAge is withheld, so that no alert fires on stale data.
import { EXPORTER_FAMILIES as F, SCORE_FAMILIES as S, SCORE_LABELS, expositionType, promClientOptions, type MetricFamily } from '@selfheal/contracts';
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
        readonly expected?: { readonly lower: ArrayLike<number>; readonly upper: ArrayLike<number> };
      }
    | undefined;
  readonly trainedAt: number | undefined;
  readonly trainingSamples: number;
  /** The feature values last scored (NaN where missing); published only with the scores. */
  readonly values?: ArrayLike<number>;
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
    this.prometheusRequests = new Counter({ ...promClientOptions(F.prometheusRequests), registers });
    for (const outcome of REQUEST_OUTCOMES) this.prometheusRequests.inc({ outcome }, 0);
    this.prometheusRequestDuration = new Histogram({ ...promClientOptions(F.prometheusRequestDuration), registers });
    this.cycleDuration = new Histogram({ ...promClientOptions(F.cycleDuration), registers });
    this.cycles = new Counter({ ...promClientOptions(F.cycles), registers });
    this.stateErrors = new Counter({ ...promClientOptions(F.stateErrors), registers });
    this.unobservedValues = new Counter({ ...promClientOptions(F.unobservedValues), registers });
    this.stateErrors.inc({ operation: 'load' }, 0);
    this.stateErrors.inc({ operation: 'save' }, 0);
    this.configReloadSuccessful = new Gauge({ ...promClientOptions(F.configReloadSuccessful), registers });
    this.configReloadTimestamp = new Gauge({ ...promClientOptions(F.configReloadTimestamp), registers });
    // The score series carry no shard label (dashboards and alert rules do not change with sharding).
    this.shardInfo = new Gauge({ ...promClientOptions(F.shardInfo), registers });
    this.shardPushdown = new Gauge({ ...promClientOptions(F.shardPushdown), registers });
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
  family: MetricFamily;
  name: string;
  lines: string[];
}

/**
 * The per-entity score metrics, rendered from the snapshot at every scrape in the Prometheus text format.
 * Rendered here rather than through prom-client Gauges: at 10,000 entities (90,000 series) prom-client's
 * set/format path cost 0.5-1 s of CPU per scrape; this costs a tenth of that (see bench/exporter-bench.ts).
 * The label sets depend on the configuration (the groups' `groupBy`), so a reload builds a new one.
 * Names, help, types and fixed label names come from the families declared in @selfheal/contracts.
 */
export class ScoreMetrics {
  constructor(private readonly source: ScoreSource) {}

  render(): string {
    const metric = (family: MetricFamily): MetricText => ({ family, name: family.name, lines: [] });
    const anomaly = metric(S.anomalyScore);
    const health = metric(S.healthScore);
    const featureScore = metric(S.featureScore);
    const topFeature = metric(S.topFeature);
    const expected = metric(S.featureExpected);
    const value = metric(S.featureValue);
    const trained = metric(S.modelTrained);
    const samples = metric(S.trainingSamples);
    const states = metric(S.entities);

    for (const group of this.source()) {
      const groupLabel = `${SCORE_LABELS.group}="${escapeLabelValue(group.group)}"`;
      const featureLabels = group.featureNames.map((name) => `,${SCORE_LABELS.feature}="${escapeLabelValue(name)}"`);
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
          const values = entity.values;
          if (values !== undefined) {
            for (let i = 0; i < featureLabels.length; i++) {
              const v = values[i] ?? NaN;
              if (!Number.isNaN(v)) value.lines.push(`${value.name}{${labels}${featureLabels[i] ?? ''}} ${formatValue(v)}`);
            }
          }
          const band = scores.expected;
          if (band !== undefined) {
            for (let i = 0; i < featureLabels.length; i++) {
              const at = `${labels}${featureLabels[i] ?? ''},${SCORE_LABELS.bound}=`;
              expected.lines.push(`${expected.name}{${at}"lower"} ${formatValue(band.lower[i] ?? NaN)}`, `${expected.name}{${at}"upper"} ${formatValue(band.upper[i] ?? NaN)}`);
            }
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
      for (const state of ENTITY_STATES) states.lines.push(`${states.name}{${groupLabel},${SCORE_LABELS.state}="${state}"} ${counts[state]}`);
    }
    // One array of every line and one join: each intermediate string of the size of the whole exposition (7 MiB at
    // 90,000 series) lands in V8's large-object space and stays there until a full GC, so a scrape that built four of
    // them grew the heap by ~27 MiB at 10,000 entities.
    const out: string[] = [];
    for (const m of [anomaly, health, featureScore, value, expected, topFeature, trained, samples, states]) {
      if (out.length > 0) out.push('');
      out.push(`# HELP ${m.name} ${m.family.help}`, `# TYPE ${m.name} ${expositionType(m.family)}`);
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
