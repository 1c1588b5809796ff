// The range read of train and catch_up cycles: [from, to] on the step grid, one chunked query_range per feature for
// all entities at once (never per entity), with the shard's entity matchers where they are pushed down, copied into
// one row-major buffer per entity; then the values Prometheus did not observe are marked missing (unobserved.ts).
import type { GroupConfig } from '../config/schema.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { applyPushdown } from '../shard/pushdown.js';
import { PrometheusError, type PrometheusClient } from '../source/client.js';
import type { Labels, RangeSeries } from '../source/types.js';
import { entityKey, noteDuplicate, type EntityTable } from './entities.js';
import { MAX_PUSHDOWN_QUERY_LENGTH, type FeaturePushdown, type PushdownScope } from './feature-pushdown.js';
import type { RangeBuffer, SeriesCounts } from './types.js';
import type { UnobservedValues } from './unobserved.js';
import type { WarnOnce } from './warn-once.js';

/** A range read: per entity its rows over [from, to] (row r at from + r·step), unobserved values already NaN. */
export interface RangeRead {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly rowCount: number;
  /** Per entity key its rows; the feeder takes each entity's out as it feeds it. */
  readonly buffers: Map<string, RangeBuffer>;
  readonly series: SeriesCounts;
  /** Feature values marked missing: Prometheus did not observe them. */
  readonly unobservedValues: number;
}

export interface RangeReader {
  /** Reads [from, to] on the group's step grid; undefined when the range holds no step. */
  read(from: number, to: number): Promise<RangeRead | undefined>;
}

export interface PrometheusRangeReaderOptions {
  readonly config: GroupConfig;
  readonly featureNames: readonly string[];
  readonly client: PrometheusClient;
  readonly entities: EntityTable;
  readonly pushdown: FeaturePushdown;
  readonly unobserved: UnobservedValues;
  readonly metrics: ExporterMetrics;
  readonly warnings: WarnOnce;
  readonly shardCount: number;
}

/** One read in progress: where the answers' points go. */
interface ReadTarget {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly rowCount: number;
  readonly buffers: Map<string, RangeBuffer>;
  /** The most series one answer chunk held so far (sizes the next features' chunks). */
  answered: number;
}

/** One feature's read: the most series a chunk held, and of those this shard owns. */
interface FeatureCounts {
  read: number;
  owned: number;
}

export class PrometheusRangeReader implements RangeReader {
  constructor(private readonly options: PrometheusRangeReaderOptions) {}

  async read(from: number, to: number): Promise<RangeRead | undefined> {
    const { config, featureNames, entities, pushdown, unobserved, metrics, shardCount } = this.options;
    const { step } = config.schedule;
    const rowCount = Math.floor((to - from) / step + 1e-9) + 1;
    if (rowCount < 1) return undefined;
    const target: ReadTarget = { from, to, step, rowCount, buffers: new Map(), answered: 0 };
    // Without pushdown Prometheus answers every shard's series (PromQL cannot hash): chunks are sized for all of them.
    let expectedSeries = Math.max(1, entities.size * shardCount);
    const scope = await pushdown.scope(this.options.client, entities, to);
    const series: SeriesCounts = { read: 0, owned: 0, pushedDown: 0 };
    for (let f = 0; f < featureNames.length; f++) {
      const counts = await this.readFeature(f, target, scope, expectedSeries);
      if (!counts) continue;
      series.read += counts.read;
      series.owned += counts.owned;
      if (counts.pushedDown) series.pushedDown++;
      expectedSeries = Math.max(expectedSeries, target.buffers.size, target.answered);
    }
    const unobservedValues = await unobserved.maskRange(target.buffers, from, to, rowCount, scope);
    if (unobservedValues > 0) metrics.unobservedValues.inc({ group: config.name }, unobservedValues);
    return { from, to, step, rowCount, buffers: target.buffers, series, unobservedValues };
  }

  /** Reads feature `f` into the target; undefined when the shard has no entity to read it for. */
  private async readFeature(
    f: number,
    target: ReadTarget,
    scope: PushdownScope | undefined,
    expectedSeries: number,
  ): Promise<(FeatureCounts & { pushedDown: boolean }) | undefined> {
    const { config, featureNames, pushdown, warnings } = this.options;
    const feature = featureNames[f] ?? '';
    const unfiltered = config.features[feature] ?? '';
    let promql = unfiltered;
    const plan = pushdown.plan(feature);
    let expected = expectedSeries;
    let pushed = false;
    if (scope && plan?.safe) {
      // No entity of this shard at `to` (nor known): nothing of this feature to read.
      if (scope.owned === 0) return undefined;
      const filtered = applyPushdown(plan, scope.matchers);
      if (filtered.length <= MAX_PUSHDOWN_QUERY_LENGTH) {
        promql = filtered;
        expected = scope.owned;
        pushed = true;
      } else {
        warnings.warn(`pushdown-size:${feature}`, `the shard's entity matchers would make the query of feature "${feature}" ${filtered.length} characters long (limit ${MAX_PUSHDOWN_QUERY_LENGTH}); reading every shard's series instead`);
      }
    }
    if (!pushed && scope) expected = Math.max(expected, scope.all);
    const counts: FeatureCounts = { read: 0, owned: 0 };
    try {
      await this.query(promql, expected, f, target, counts);
      return { ...counts, pushedDown: pushed };
    } catch (error) {
      if (!pushed || !(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      // Prometheus refused the filtered query (e.g. a limit on the regex): read as without pushdown, from now on.
      // Rows already copied from a partial read are rewritten with the same values.
      pushdown.refused(feature, error.message);
      counts.read = 0;
      counts.owned = 0;
      await this.query(unfiltered, Math.max(expectedSeries, scope?.all ?? 0), f, target, counts);
      return { ...counts, pushedDown: false };
    }
  }

  private query(promql: string, expectedSeries: number, f: number, target: ReadTarget, counts: FeatureCounts): Promise<void> {
    const { from, to, step } = target;
    return this.options.client.queryRangeChunks(promql, from, to, step, expectedSeries, (chunk: readonly RangeSeries[]) => this.copyChunk(chunk, f, target, counts));
  }

  /** Copies the points of one answer chunk (every series of feature `f` over part of the range) into the buffers. */
  private copyChunk(chunk: readonly RangeSeries[], f: number, target: ReadTarget, counts: FeatureCounts): void {
    const { config, featureNames, entities, warnings } = this.options;
    const featureCount = featureNames.length;
    const { from, step, rowCount } = target;
    const seenInChunk = new Set<string>();
    target.answered = Math.max(target.answered, chunk.length);
    counts.read = Math.max(counts.read, chunk.length);
    let ownedInChunk = 0;
    for (const series of chunk) {
      const key = entityKey(config.groupBy, series.metric);
      if (!entities.owns(key, series.metric)) continue;
      ownedInChunk++;
      if (seenInChunk.has(key)) {
        noteDuplicate(warnings, config.groupBy, featureNames[f] ?? '', series.metric);
        continue;
      }
      seenInChunk.add(key);
      const buffer = this.bufferOf(key, series.metric, target);
      if (!buffer) continue;
      const { timestamps, values } = series;
      for (let j = 0; j < timestamps.length; j++) {
        const row = Math.round(((timestamps[j] ?? 0) - from) / step);
        if (row < 0 || row >= rowCount) continue;
        const value = values[j] ?? Number.NaN;
        buffer.values[row * featureCount + f] = value;
        if (!Number.isNaN(value) && row > buffer.lastPresentRow) buffer.lastPresentRow = row;
      }
    }
    counts.owned = Math.max(counts.owned, ownedInChunk);
  }

  /** The entity's buffer, created on its first series; undefined (and a warning) past maxEntities. */
  private bufferOf(key: string, metric: Labels, target: ReadTarget): RangeBuffer | undefined {
    const { config, featureNames, entities, warnings } = this.options;
    let buffer = target.buffers.get(key);
    if (!buffer) {
      if (target.buffers.size >= config.maxEntities && !entities.records.has(key)) {
        warnings.warn('maxEntities', `group has reached maxEntities (${config.maxEntities}); further entities are not scored`, { entity: metric });
        return undefined;
      }
      buffer = { metric, values: new Float64Array(target.rowCount * featureNames.length).fill(Number.NaN), lastPresentRow: -1 };
      target.buffers.set(key, buffer);
    }
    return buffer;
  }
}
