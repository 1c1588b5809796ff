// The values Prometheus did not observe (src/source/sample-age.ts): no sample within twice the scrape spacing, an
// older one repeated by the lookback after a scrape gap such as an outage. Asked along with every read of a group
// (instant or range) and marked missing (NaN) by the readers, so that no verdict comes from data Prometheus made up.
import type { Logger } from 'pino';
import type { GroupConfig } from '../config/schema.js';
import { applyPushdown, planPushdown } from '../shard/pushdown.js';
import { PrometheusError, type PrometheusClient } from '../source/client.js';
import { SPACING_WINDOW_SECONDS, planSampleAgeCheck, sampleAgeLimit, unobservedQuery, type SampleAgeCheck } from '../source/sample-age.js';
import type { InstantSample, Labels, RangeSeries } from '../source/types.js';
import { entityKey } from './entities.js';
import { MAX_PUSHDOWN_QUERY_LENGTH } from './feature-pushdown.js';
import type { RangeBuffer } from './types.js';
import type { WarnOnce } from './warn-once.js';

/** The features an answer series of the sample-age query concerns, and its entity's key (undefined: every entity). */
export interface UnobservedTarget {
  readonly features: readonly number[];
  readonly key: string | undefined;
}

export interface UnobservedValuesOptions {
  readonly config: GroupConfig;
  readonly featureCount: number;
  readonly client: PrometheusClient;
  readonly logger: Logger;
  readonly warnings: WarnOnce;
  /** Shards: how many (sizes the reads that are not pushed down). */
  readonly shardCount: number;
  /** Sharded: whether the range reads of unobserved values may carry the shard's entity matchers. */
  readonly pushdown: boolean;
}

export class UnobservedValues {
  /** The selectors whose sample age tells the rows Prometheus did not observe (src/source/sample-age.ts). */
  private readonly sampleAge: SampleAgeCheck;
  private pushdown: boolean;
  /** The latest spacing of samples per selector (s; undefined: unknown) and the sample time it was measured at. */
  private spacing: { values: readonly (number | undefined)[]; at: number } | undefined;
  /** The age limits per selector that scoring cycles use, from the last two spacing measurements. */
  private limits: readonly (number | undefined)[] = [];

  constructor(private readonly options: UnobservedValuesOptions) {
    this.sampleAge = planSampleAgeCheck(options.config.features, options.config.groupBy);
    this.pushdown = options.pushdown;
    if (this.sampleAge.unchecked.length > 0) {
      options.logger.info(
        { features: this.sampleAge.unchecked },
        'no selector of these features can be checked for sample age (none outside offset, @ or absent()): their values are taken as observed, also after a scrape gap',
      );
    }
  }

  /**
   * The features an answer series of the sample-age query concerns, and its entity's key (undefined: the selector's
   * series carry no groupBy label, so the answer concerns every entity).
   */
  target(metric: Labels): UnobservedTarget | undefined {
    const features = this.sampleAge.selectorFeatures[Number(metric[this.sampleAge.tagLabel] ?? Number.NaN)];
    if (!features) return undefined;
    const { groupBy } = this.options.config;
    const groupWide = groupBy.every((label) => metric[label] === undefined);
    return { features, key: groupWide ? undefined : entityKey(groupBy, metric) };
  }

  /** A sample-age query Prometheus refused (a client error): values are then taken as observed. */
  private refused(error: PrometheusError): void {
    this.options.warnings.warn(
      'sampleAge',
      'Prometheus refused the query telling the rows it did not observe; values are taken as observed for now (after a scrape gap its lookback would be fed as data)',
      { error: error.message.slice(-300) },
    );
  }

  /** Per selector, the slowest entity's spacing of samples (s) at `at`; undefined where unknown or refused. */
  private async spacingAt(at: number): Promise<(number | undefined)[]> {
    const values: (number | undefined)[] = this.sampleAge.selectors.map(() => undefined);
    const promql = this.sampleAge.spacingQuery;
    if (!promql) return values;
    let answer: InstantSample[];
    try {
      answer = await this.options.client.query(promql, at);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      this.refused(error);
      return values;
    }
    for (const sample of answer) {
      const index = Number(sample.metric[this.sampleAge.tagLabel] ?? Number.NaN);
      if (index >= 0 && index < values.length && Number.isFinite(sample.value) && sample.value > 0) values[index] = sample.value;
    }
    return values;
  }

  /**
   * Age limits from two spacing measurements: the smaller known one per selector (a gap in scrapes inside one
   * measurement's window, or series too young at one of them, only raises that one).
   */
  private limitsOf(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): (number | undefined)[] {
    const { step } = this.options.config.schedule;
    return this.sampleAge.selectors.map((_, i) => {
      const known = [a[i], b[i]].filter((value): value is number => value !== undefined);
      return known.length === 0 ? undefined : sampleAgeLimit(step, Math.min(...known));
    });
  }

  /** The entities and selectors whose value at `at` Prometheus did not observe (instant query). */
  async at(at: number): Promise<InstantSample[]> {
    if (!this.sampleAge.spacingQuery) return [];
    // The spacing is measured again once a minute (or window / 10) of sample time.
    if (!this.spacing || at - this.spacing.at >= SPACING_WINDOW_SECONDS / 10 || at < this.spacing.at) {
      const values = await this.spacingAt(at);
      this.limits = this.limitsOf(values, this.spacing?.values ?? []);
      this.spacing = { values, at };
    }
    const promql = unobservedQuery(this.sampleAge, this.options.config.groupBy, this.limits);
    if (!promql) return [];
    try {
      return await this.options.client.query(promql, at);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      this.refused(error);
      return [];
    }
  }

  /**
   * Marks the values of a range read that Prometheus did not observe as missing (NaN), from one query_range over the
   * same steps (its answer is empty while every target is scraped), with the age limits of the spacing of samples
   * measured at both ends of the range. Returns the count.
   */
  async maskRange(
    buffers: ReadonlyMap<string, RangeBuffer>,
    from: number,
    to: number,
    rowCount: number,
    scope: { matchers: string; owned: number } | undefined,
  ): Promise<number> {
    if (!this.sampleAge.spacingQuery || buffers.size === 0) return 0;
    const [atFrom, atTo] = await Promise.all([this.spacingAt(from), this.spacingAt(to)]);
    const limits = this.limitsOf(atFrom, atTo);
    if (!this.spacing || to >= this.spacing.at) {
      this.spacing = { values: atTo, at: to };
      this.limits = limits;
    }
    const { groupBy, schedule } = this.options.config;
    const base = unobservedQuery(this.sampleAge, groupBy, limits);
    if (!base) return 0;
    const { step } = schedule;
    let masked = 0;
    const onChunk = (chunk: readonly RangeSeries[]): void => {
      masked += this.maskChunk(chunk, buffers, from, rowCount);
    };
    let promql = base;
    if (scope && this.pushdown) {
      const plan = planPushdown(base, groupBy);
      const filtered = plan.safe ? applyPushdown(plan, scope.matchers) : base;
      if (filtered.length <= MAX_PUSHDOWN_QUERY_LENGTH) promql = filtered;
    }
    const { client } = this.options;
    try {
      await client.queryRangeChunks(promql, from, to, step, buffers.size, onChunk);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      if (promql === base) {
        this.refused(error);
        return masked;
      }
      // As for the features: Prometheus refused the filtered query; read it unfiltered from now on.
      this.pushdown = false;
      this.options.logger.warn({ reason: error.message.slice(-300) }, 'shard filter no longer pushed into the query of unobserved values');
      try {
        await client.queryRangeChunks(base, from, to, step, buffers.size * this.options.shardCount, onChunk);
      } catch (again) {
        if (!(again instanceof PrometheusError) || again.outcome !== 'client_error') throw again;
        this.refused(again);
      }
    }
    return masked;
  }

  /** Marks the values one answer chunk of the query of unobserved values names; returns how many were not yet NaN. */
  private maskChunk(chunk: readonly RangeSeries[], buffers: ReadonlyMap<string, RangeBuffer>, from: number, rowCount: number): number {
    const { step } = this.options.config.schedule;
    const featureCount = this.options.featureCount;
    let masked = 0;
    for (const series of chunk) {
      const target = this.target(series.metric);
      if (!target) continue;
      const owner = target.key === undefined ? undefined : buffers.get(target.key);
      if (target.key !== undefined && !owner) continue;
      const targets = owner ? [owner] : [...buffers.values()];
      for (const t of series.timestamps) {
        const row = Math.round((t - from) / step);
        if (row < 0 || row >= rowCount) continue;
        for (const buffer of targets) {
          for (const f of target.features) {
            const at = row * featureCount + f;
            if (Number.isNaN(buffer.values[at] as number)) continue;
            buffer.values[at] = Number.NaN;
            masked++;
          }
        }
      }
    }
    return masked;
  }
}
