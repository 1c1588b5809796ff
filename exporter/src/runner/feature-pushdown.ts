// Per feature of a sharded group: whether (and where) the shard's entity matchers go into its PromQL
// (src/shard/pushdown.ts), and the matchers naming this shard's entities for one range read.
import type { Logger } from 'pino';
import type { GroupConfig } from '../config/schema.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { entityMatchers, planPushdown, valueSets, type PushdownPlan } from '../shard/pushdown.js';
import { formatShard, type Shard } from '../shard/shard.js';
import type { PrometheusClient } from '../source/client.js';
import type { Labels } from '../source/types.js';
import { entityKey, type EntityTable } from './entities.js';

/** Longest feature query with the shard's entity matchers (Prometheus's form parsing and Go's regexp have limits). */
export const MAX_PUSHDOWN_QUERY_LENGTH = 2_000_000;

/** The shard's entities for one range read: their matchers, how many, and every shard's series count. */
export interface PushdownScope {
  readonly matchers: string;
  readonly owned: number;
  readonly all: number;
}

export class FeaturePushdown {
  /** Per feature: the plan; empty when not sharded. */
  private readonly plans = new Map<string, PushdownPlan>();

  constructor(
    private readonly config: GroupConfig,
    private readonly featureNames: readonly string[],
    private readonly shard: Shard,
    private readonly metrics: ExporterMetrics,
    private readonly logger: Logger,
  ) {
    if (shard.count <= 1) return;
    for (const feature of featureNames) {
      const promql = config.features[feature] ?? '';
      const plan: PushdownPlan = shard.pushdown === false ? { safe: false, promql, reason: 'shard.pushdown is false in the config' } : planPushdown(promql, config.groupBy);
      this.plans.set(feature, plan);
      if (!plan.safe) {
        logger.warn(
          { feature, reason: plan.reason, shard: formatShard(shard) },
          "shard filter not pushed into this feature's PromQL: its training reads return every shard's series, filtered after parsing",
        );
      }
    }
  }

  plan(feature: string): PushdownPlan | undefined {
    return this.plans.get(feature);
  }

  /** Whether every feature takes the shard's matchers (false without sharding). */
  get everyFeature(): boolean {
    return this.shard.count > 1 && [...this.plans.values()].every((plan) => plan.safe);
  }

  /** Per feature, whether the training reads carry this shard's entity matchers (sharded exporters only). */
  states(): { group: string; feature: string; pushedDown: boolean; reason?: string }[] {
    return [...this.plans].map(([feature, plan]) => ({ group: this.config.name, feature, pushedDown: plan.safe, ...(plan.safe ? {} : { reason: plan.reason }) }));
  }

  /** Prometheus refused the feature's filtered query: it is read without the matchers from now on. */
  refused(feature: string, message: string): void {
    const reason = `Prometheus rejected the filtered query: ${message.slice(-300)}`;
    this.plans.set(feature, { safe: false, promql: this.config.features[feature] ?? '', reason });
    this.metrics.shardPushdown.set({ group: this.config.name, feature }, 0);
    this.logger.warn({ feature, reason }, 'shard filter no longer pushed into this feature\'s PromQL: its reads return every shard\'s series');
  }

  /**
   * For a range read of a sharded exporter with at least one pushed-down feature: the matchers naming this shard's
   * entities — those it scores now and those every feature's instant query at `at` returns that hash to it (a
   * cheap read, as a scoring cycle's), so that entities that appeared since the last read are trained from their
   * history too. Entities whose series ended before `at` are not named: like vanished entities, they are not
   * scored. `all` counts the instant answers' series (every shard's), to size the reads that are not pushed down.
   */
  async scope(client: PrometheusClient, entities: EntityTable, at: number): Promise<PushdownScope | undefined> {
    if (![...this.plans.values()].some((plan) => plan.safe)) return undefined;
    const owned = new Map<string, Labels>();
    for (const [key, record] of entities.records) owned.set(key, record.labels);
    let all = 0;
    const answers = await Promise.all(this.featureNames.map((feature) => client.query(this.config.features[feature] ?? '', at)));
    for (const samples of answers) {
      all = Math.max(all, samples.length);
      for (const sample of samples) {
        const key = entityKey(this.config.groupBy, sample.metric);
        if (!owned.has(key) && entities.owns(key, sample.metric)) owned.set(key, sample.metric);
      }
    }
    return { matchers: entityMatchers(this.config.groupBy, valueSets(this.config.groupBy, owned.values())), owned: owned.size, all };
  }
}
