// One configured group: its entities (one label set of `groupBy` each), their detectors, and the cycles
// that feed them from Prometheus. Reads are per feature for all entities at once (never per entity):
//   train    — first start without saved models: one chunked query_range per feature over trainWindow;
//   catch_up — after a gap (outage, restart with saved models): query_range over the missed span only;
//   score    — every interval: one instant query per feature.
// Each read also asks which of its values Prometheus did not observe (src/source/sample-age.ts: no sample within
// twice the scrape spacing, an older one repeated by the lookback after a scrape gap such as an outage): those
// values are fed as missing (NaN), and a row without any observed value is not fed at all, so no verdict is
// computed, and none published, from data Prometheus made up.
import type { Logger } from 'pino';
import { detectorScheduleOptions, type GroupConfig } from '../config/schema.js';
import type { StreamingDetector, Verdict } from '../detector/types.js';
import type { CyclePhase, EntitySnapshot, EntityState, ExporterMetrics, GroupSnapshot } from '../metrics/registry.js';
import { PrometheusError, type PrometheusClient } from '../source/client.js';
import type { InstantSample, Labels, RangeSeries } from '../source/types.js';
import { SPACING_WINDOW_SECONDS, planSampleAgeCheck, sampleAgeLimit, unobservedQuery, type SampleAgeCheck } from '../source/sample-age.js';
import { applyPushdown, entityMatchers, planPushdown, valueSets, type PushdownPlan } from '../shard/pushdown.js';
import { NO_SHARD, formatShard, sameShard, shardOf, type Shard } from '../shard/shard.js';
import { groupFingerprint, loadGroupState, saveGroupState, type StateHeader } from '../state/store.js';
import type { DetectorFactory } from '../detector/factory.js';
import type { EntityReport } from '../http/types.js';

interface EntityRecord {
  readonly key: string;
  readonly labels: Labels;
  detector: StreamingDetector;
  /** Sample time (s) of the last row fed to the detector. */
  lastTimestamp: number | undefined;
  /** Wall time (s) at which Prometheus last returned data for this entity. */
  lastSeenAt: number;
  verdict: Verdict | undefined;
  /** Wall time (s) the verdict's data was current at; the score's age is measured from it. */
  freshAt: number;
}

export interface CycleResult {
  phase: CyclePhase | 'idle';
  ok: boolean;
  seconds: number;
  entities: number;
  error?: string;
  /** Range cycles (train, catch_up): the read from Prometheus vs feeding the detectors, wall and process CPU. */
  breakdown?: RangeBreakdown;
}

export interface RangeBreakdown {
  /** Queries, the answers' scanning and their copy into per-entity rows. */
  read: { wallSeconds: number; cpuSeconds: number };
  /**
   * Series in Prometheus's answers, summed over features (a read split in time counts each series once), and
   * those this shard owns; `pushedDown` features carried the shard's entity matchers (src/shard/pushdown.ts).
   */
  series: { read: number; owned: number; pushedDown: number };
  /** Feature values left out as missing: Prometheus did not observe them (src/source/sample-age.ts). */
  unobservedValues: number;
  /** Detector work: feature extraction, forest fits, scoring, calibration. */
  feed: { wallSeconds: number; cpuSeconds: number };
}

/** One entity's rows of a range read, row-major (rows × features, NaN = no value). */
interface RangeBuffer {
  readonly metric: Labels;
  readonly values: Float64Array;
  /** The last row with a value (before the rows Prometheus did not observe are masked), -1 for none. */
  lastPresentRow: number;
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export interface GroupRunnerDeps {
  client: PrometheusClient;
  factory: DetectorFactory;
  metrics: ExporterMetrics;
  logger: Logger;
  stateDir: string | undefined;
  /** The shard this exporter is (default 0/1: every entity). */
  shard?: Shard;
  /** Wall clock in seconds (injectable for tests). */
  now?: () => number;
  /** Progress of long (range) cycles: entities fed so far of the total. */
  onProgress?: (group: string, done: number, total: number) => void;
}

/** Longest feature query with the shard's entity matchers (Prometheus's form parsing and Go's regexp have limits). */
export const MAX_PUSHDOWN_QUERY_LENGTH = 2_000_000;

export function entityKey(groupBy: readonly string[], metric: Labels): string {
  return JSON.stringify(groupBy.map((label) => metric[label] ?? ''));
}

export class GroupRunner {
  readonly name: string;
  readonly featureNames: readonly string[];
  readonly fingerprint: string;
  private readonly entities = new Map<string, EntityRecord>();
  /** Sample time (s) up to which the group's data has been read. */
  private lastEvaluatedAt: number | undefined;
  private completed = 0;
  private running: Promise<CycleResult> | undefined;
  private readonly warnedOnce = new Set<string>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly shard: Shard;
  /** Entity key -> owned by this shard (md5 once per entity, not per cycle); bounded, see owns(). */
  private readonly ownership = new Map<string, boolean>();
  /** Set when the restored state was saved by another shard layout: the next cycle reads the whole trainWindow
   * so that entities this shard newly owns train from history (restored ones only catch up). */
  private backfillNewEntities = false;
  private options: Readonly<Record<string, unknown>> | undefined;
  /** Per feature: whether (and where) the shard's entity matchers go into its PromQL; only when sharded. */
  private readonly pushdown = new Map<string, PushdownPlan>();
  /** The selectors whose sample age tells the rows Prometheus did not observe (src/source/sample-age.ts). */
  private readonly sampleAge: SampleAgeCheck;
  /** Sharded: whether the range reads of unobserved values may carry the shard's entity matchers. */
  private sampleAgePushdown = false;
  /** The latest spacing of samples per selector (s; undefined: unknown) and the sample time it was measured at. */
  private spacing: { values: readonly (number | undefined)[]; at: number } | undefined;
  /** The age limits per selector that scoring cycles use, from the last two spacing measurements. */
  private limits: readonly (number | undefined)[] = [];

  constructor(
    readonly config: GroupConfig,
    private readonly deps: GroupRunnerDeps,
  ) {
    this.name = config.name;
    this.featureNames = Object.keys(config.features);
    this.fingerprint = groupFingerprint({ groupBy: config.groupBy, features: config.features, detector: this.detectorOptions(), step: config.schedule.step });
    this.now = deps.now ?? (() => Date.now() / 1000);
    this.logger = deps.logger.child({ group: config.name });
    this.shard = deps.shard ?? NO_SHARD;
    if (this.shard.count > 1) {
      for (const feature of this.featureNames) {
        const promql = config.features[feature] ?? '';
        const plan: PushdownPlan = this.shard.pushdown === false ? { safe: false, promql, reason: 'shard.pushdown is false in the config' } : planPushdown(promql, config.groupBy);
        this.pushdown.set(feature, plan);
        if (!plan.safe) {
          this.logger.warn(
            { feature, reason: plan.reason, shard: formatShard(this.shard) },
            "shard filter not pushed into this feature's PromQL: its training reads return every shard's series, filtered after parsing",
          );
        }
      }
    }
    this.sampleAge = planSampleAgeCheck(config.features, config.groupBy);
    if (this.sampleAge.unchecked.length > 0) {
      this.logger.info(
        { features: this.sampleAge.unchecked },
        'no selector of these features can be checked for sample age (none outside offset, @ or absent()): their values are taken as observed, also after a scrape gap',
      );
    }
    // The shard's matchers go into the selectors of those reads only when every feature takes them.
    this.sampleAgePushdown = this.shard.count > 1 && [...this.pushdown.values()].every((plan) => plan.safe);
  }

  /** Per feature, whether the training reads carry this shard's entity matchers (sharded exporters only). */
  pushdownStates(): { group: string; feature: string; pushedDown: boolean; reason?: string }[] {
    return [...this.pushdown].map(([feature, plan]) => ({ group: this.name, feature, pushedDown: plan.safe, ...(plan.safe ? {} : { reason: plan.reason }) }));
  }

  /** Whether this shard scores the entity (always, without sharding). */
  owns(key: string, metric: Labels): boolean {
    if (this.shard.count <= 1) return true;
    let owned = this.ownership.get(key);
    if (owned === undefined) {
      // Bounded: entities come and go; a full map is simply rebuilt (the hash is cheap, ~1 µs).
      if (this.ownership.size >= 4 * this.config.maxEntities * this.shard.count) this.ownership.clear();
      owned = shardOf(this.name, this.config.groupBy, metric, this.shard.count) === this.shard.index;
      this.ownership.set(key, owned);
    }
    return owned;
  }

  /** True once a cycle has succeeded (the service is ready when every group is). */
  get hasCompletedCycle(): boolean {
    return this.completed > 0;
  }

  get entityCount(): number {
    return this.entities.size;
  }

  /** The detector options of this group: the schedule's, overridden by the group's `detector:` section. */
  detectorOptions(): Record<string, unknown> {
    // Computed once (the configuration of a runner never changes): thousands of detectors are created from it.
    this.options ??= Object.freeze({ ...detectorScheduleOptions(this.config, this.deps.factory.defaults), ...(this.config.detector ?? {}) });
    return this.options;
  }

  /** Takes over the entities of a runner of an identical previous configuration (config reload). */
  adopt(previous: GroupRunner): void {
    for (const [key, record] of previous.entities) this.entities.set(key, record);
    this.lastEvaluatedAt = previous.lastEvaluatedAt;
    this.completed = previous.completed;
  }

  private warnOnce(key: string, message: string, extra: Record<string, unknown> = {}): void {
    if (this.warnedOnce.has(key)) return;
    this.warnedOnce.add(key);
    this.logger.warn(extra, message);
  }

  /** Restores saved models; problems are logged and counted, never fatal. Returns entities restored. */
  async restore(): Promise<number> {
    if (!this.deps.stateDir) return 0;
    const now = this.now();
    let restored = 0;
    let foreign = 0;
    let last: number | undefined;
    // Entry by entry: a large state file is never held in memory as a whole.
    const loaded = await loadGroupState(this.deps.stateDir, this.name, this.fingerprint, (stored) => {
      let detector: StreamingDetector;
      try {
        detector = this.deps.factory.restore(stored.blob);
      } catch (error) {
        this.deps.metrics.stateErrors.inc({ operation: 'load' });
        this.logger.warn({ entity: stored.labels, error: (error as Error).message }, 'a saved model could not be restored; skipped');
        return;
      }
      if (detector.featureNames.join('\u0000') !== this.featureNames.join('\u0000')) {
        this.deps.metrics.stateErrors.inc({ operation: 'load' });
        this.logger.warn({ entity: stored.labels }, 'a saved model has other features; skipped');
        return;
      }
      const key = entityKey(this.config.groupBy, stored.labels);
      if (!this.owns(key, stored.labels)) {
        foreign++;
        return;
      }
      // The restored verdict is not known until new data arrives: the entity is fresh once it is fed.
      this.entities.set(key, { key, labels: stored.labels, detector, lastTimestamp: stored.lastTimestamp, lastSeenAt: now, verdict: undefined, freshAt: -Infinity });
      last = last === undefined ? stored.lastTimestamp : Math.max(last, stored.lastTimestamp);
      restored++;
    });
    for (const problem of loaded.problems) {
      this.deps.metrics.stateErrors.inc({ operation: 'load' });
      this.logger.warn({ problem }, 'model state not restored');
    }
    const savedShard = loaded.header?.shard ?? NO_SHARD;
    if (loaded.header && !sameShard(savedShard, this.shard)) {
      // Re-partition (N or this shard's index changed): keep the models this shard still owns, drop the rest, and
      // read the whole trainWindow once so that the entities it newly owns train from history. Never fatal.
      this.backfillNewEntities = restored > 0;
      this.logger.warn(
        { savedShard: formatShard(savedShard), shard: formatShard(this.shard), kept: restored, dropped: foreign },
        'models were saved by another shard layout; re-partitioned: models of entities this shard no longer owns are dropped, newly owned entities train from history',
      );
    } else if (foreign > 0) {
      this.logger.warn({ shard: formatShard(this.shard), dropped: foreign }, 'the state file holds models of entities another shard owns; dropped');
    }
    if (restored > 0) {
      this.lastEvaluatedAt = last;
      this.logger.info({ restored, savedAt: loaded.header?.savedAt }, 'models restored from the state directory');
    }
    return restored;
  }

  /** Saves every model (atomic file replace). Failures are logged and counted, never thrown. */
  async save(): Promise<void> {
    if (!this.deps.stateDir) return;
    const header: StateHeader = {
      group: this.name,
      fingerprint: this.fingerprint,
      featureNames: [...this.featureNames],
      savedAt: this.now(),
      shard: { index: this.shard.index, count: this.shard.count },
    };
    const records = [...this.entities.values()].filter((record) => record.lastTimestamp !== undefined);
    const started = performance.now();
    try {
      const bytes = await saveGroupState(
        this.deps.stateDir,
        header,
        (function* () {
          for (const record of records) {
            yield { labels: record.labels, lastTimestamp: record.lastTimestamp ?? 0, blob: record.detector.serialize() };
          }
        })(),
      );
      this.logger.debug({ entities: records.length, bytes, ms: Math.round(performance.now() - started) }, 'models saved');
    } catch (error) {
      this.deps.metrics.stateErrors.inc({ operation: 'save' });
      this.logger.error({ error: (error as Error).message, stateDir: this.deps.stateDir }, 'could not save models');
    }
  }

  /** Resolves when no cycle is running. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Runs one cycle unless one is still running (then returns that one). */
  runCycle(): Promise<CycleResult> {
    this.running ??= this.cycle().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async cycle(): Promise<CycleResult> {
    const { step, trainWindow } = this.config.schedule;
    const now = this.now();
    const evaluateAt = Math.floor(now / step) * step;
    let phase: CyclePhase;
    if (this.lastEvaluatedAt === undefined) phase = 'train';
    else if (this.backfillNewEntities) phase = 'catch_up';
    else if (evaluateAt <= this.lastEvaluatedAt) {
      // Nothing new on the step grid yet (interval shorter than step, or restored state from this step).
      this.completed++;
      return { phase: 'idle', ok: true, seconds: 0, entities: this.entities.size };
    }
    else if (evaluateAt - this.lastEvaluatedAt > 2 * step) phase = 'catch_up';
    else phase = 'score';

    const started = performance.now();
    const end = this.deps.metrics.cycleDuration.startTimer({ group: this.name, phase });
    let breakdown: RangeBreakdown | undefined;
    try {
      if (phase === 'score') {
        await this.score(evaluateAt, now);
      } else {
        // After a re-partition the range starts at trainWindow: restored entities skip the rows they have seen.
        const from = phase === 'train' || this.backfillNewEntities ? evaluateAt - trainWindow : Math.max((this.lastEvaluatedAt ?? 0) + step, evaluateAt - trainWindow);
        breakdown = await this.ingestRange(from, evaluateAt, now, phase === 'train');
        this.backfillNewEntities = false;
      }
      this.lastEvaluatedAt = evaluateAt;
      this.removeVanished(now);
      this.completed++;
      this.deps.metrics.cycles.inc({ group: this.name, phase, outcome: 'success' });
      const seconds = (performance.now() - started) / 1000;
      if (phase !== 'score') this.logger.info({ phase, entities: this.entities.size, seconds: Number(seconds.toFixed(3)), ...breakdown }, 'cycle done');
      return { phase, ok: true, seconds, entities: this.entities.size, ...(breakdown ? { breakdown } : {}) };
    } catch (error) {
      this.deps.metrics.cycles.inc({ group: this.name, phase, outcome: 'failure' });
      const message = (error as Error).message;
      this.logger.warn({ phase, error: message }, 'cycle failed; last scores are kept (and go stale), retrying next interval');
      return { phase, ok: false, seconds: (performance.now() - started) / 1000, entities: this.entities.size, error: message };
    } finally {
      end();
    }
  }

  private newRecord(key: string, metric: Labels, now: number): EntityRecord | undefined {
    if (this.entities.size >= this.config.maxEntities) {
      this.warnOnce('maxEntities', `group has reached maxEntities (${this.config.maxEntities}); further entities are not scored`, { entity: metric });
      return undefined;
    }
    const labels: Labels = {};
    for (const label of this.config.groupBy) {
      const value = metric[label];
      if (value === undefined) {
        this.warnOnce(`missing:${label}`, `a feature query returns series without the label "${label}"; aggregate with "by (${this.config.groupBy.join(', ')})"`, { series: metric });
      }
      labels[label] = value ?? '';
    }
    return { key, labels, detector: this.deps.factory.create(this.featureNames, this.detectorOptions()), lastTimestamp: undefined, lastSeenAt: now, verdict: undefined, freshAt: -Infinity };
  }

  private noteDuplicate(feature: string, metric: Labels): void {
    this.warnOnce(
      `dup:${feature}`,
      `feature "${feature}" returns several series for one entity; aggregate it, e.g. "sum by (${this.config.groupBy.join(', ')}) (...)" (extra series ignored)`,
      { series: metric },
    );
  }

  /** One instant query per feature at `evaluateAt`, one update per entity. */
  private async score(evaluateAt: number, now: number): Promise<void> {
    const featureCount = this.featureNames.length;
    const [results, unobserved]: [InstantSample[][], InstantSample[]] = await Promise.all([
      Promise.all(this.featureNames.map((feature) => this.deps.client.query(this.config.features[feature] ?? '', evaluateAt))),
      this.unobservedAt(evaluateAt),
    ]);
    // Entity slots in one flat array (no object and typed array per entity per cycle: at 10,000 entities that churn
    // grew the heap by tens of MiB over a few cycles).
    const slots = new Map<string, number>();
    const metrics: Labels[] = [];
    const keys: string[] = [];
    const values = new Float64Array(results.reduce((sum, samples) => sum + samples.length, 0) * featureCount).fill(Number.NaN);
    results.forEach((samples, f) => {
      const seen = new Set<string>();
      for (const sample of samples) {
        const key = entityKey(this.config.groupBy, sample.metric);
        if (!this.owns(key, sample.metric)) continue;
        if (seen.has(key)) {
          this.noteDuplicate(this.featureNames[f] ?? '', sample.metric);
          continue;
        }
        seen.add(key);
        let slot = slots.get(key);
        if (slot === undefined) {
          slot = metrics.length;
          slots.set(key, slot);
          metrics.push(sample.metric);
          keys.push(key);
        }
        values[slot * featureCount + f] = sample.value;
      }
    });
    // Values Prometheus did not observe (its lookback repeating an old sample) become missing.
    const masked = new Uint8Array(metrics.length);
    let maskedValues = 0;
    const mask = (slot: number, features: readonly number[]): void => {
      for (const f of features) {
        const at = slot * featureCount + f;
        if (Number.isNaN(values[at] as number)) continue;
        values[at] = Number.NaN;
        masked[slot] = 1;
        maskedValues++;
      }
    };
    for (const sample of unobserved) {
      const target = this.unobservedTarget(sample.metric);
      if (!target) continue;
      if (target.key === undefined) {
        for (let slot = 0; slot < metrics.length; slot++) mask(slot, target.features);
      } else {
        const slot = slots.get(target.key);
        if (slot !== undefined) mask(slot, target.features);
      }
    }
    if (maskedValues > 0) this.deps.metrics.unobservedValues.inc({ group: this.name }, maskedValues);
    const row = new Float64Array(featureCount);
    for (let slot = 0; slot < metrics.length; slot++) {
      const key = keys[slot] as string;
      let record = this.entities.get(key);
      if (!record) {
        record = this.newRecord(key, metrics[slot] as Labels, now);
        if (!record) continue;
        this.entities.set(key, record);
      }
      let observed = false;
      for (let f = 0; f < featureCount; f++) {
        row[f] = values[slot * featureCount + f] as number;
        if (!Number.isNaN(row[f] as number)) observed = true;
      }
      if (masked[slot] === 1 && !observed) {
        // The entity's series are there, but none was scraped lately: no verdict (its score goes stale).
        record.lastSeenAt = now;
        continue;
      }
      record.verdict = record.detector.update(evaluateAt, row);
      record.lastTimestamp = evaluateAt;
      record.lastSeenAt = now;
      record.freshAt = now;
    }
  }

  /**
   * Reads [from, to] on the step grid (one chunked query_range per feature), then feeds each entity
   * the rows after its last sample with one updateBatch. `fresh` replaces every detector (training).
   */
  private async ingestRange(from: number, to: number, now: number, fresh: boolean): Promise<RangeBreakdown | undefined> {
    const { step } = this.config.schedule;
    const featureCount = this.featureNames.length;
    const rowCount = Math.floor((to - from) / step + 1e-9) + 1;
    if (rowCount < 1) return undefined;
    const readStarted = performance.now();
    const readCpu = process.cpuUsage();
    const buffers = new Map<string, RangeBuffer>();
    // Without pushdown Prometheus answers every shard's series (PromQL cannot hash): chunks are sized for all of them.
    let expectedSeries = Math.max(1, this.entities.size * this.shard.count);
    const scope = await this.pushdownScope(to);
    let answeredSeries = 0;
    const seriesCount = { read: 0, owned: 0, pushedDown: 0 };
    for (let f = 0; f < featureCount; f++) {
      const feature = this.featureNames[f] ?? '';
      let promql = this.config.features[feature] ?? '';
      const plan = this.pushdown.get(feature);
      let expected = expectedSeries;
      let pushed = false;
      if (scope && plan?.safe) {
        // No entity of this shard at `to` (nor known): nothing of this feature to read.
        if (scope.owned === 0) continue;
        const filtered = applyPushdown(plan, scope.matchers);
        if (filtered.length <= MAX_PUSHDOWN_QUERY_LENGTH) {
          promql = filtered;
          expected = scope.owned;
          pushed = true;
        } else {
          this.warnOnce(`pushdown-size:${feature}`, `the shard's entity matchers would make the query of feature "${feature}" ${filtered.length} characters long (limit ${MAX_PUSHDOWN_QUERY_LENGTH}); reading every shard's series instead`);
        }
      }
      if (!pushed && scope) expected = Math.max(expected, scope.all);
      let readMax = 0;
      let ownedMax = 0;
      const read = (text: string, expectedInRead: number): Promise<void> => this.deps.client.queryRangeChunks(text, from, to, step, expectedInRead, (chunk: readonly RangeSeries[]) => {
        const seenInChunk = new Set<string>();
        answeredSeries = Math.max(answeredSeries, chunk.length);
        readMax = Math.max(readMax, chunk.length);
        let ownedInChunk = 0;
        for (const series of chunk) {
          const key = entityKey(this.config.groupBy, series.metric);
          if (!this.owns(key, series.metric)) continue;
          ownedInChunk++;
          if (seenInChunk.has(key)) {
            this.noteDuplicate(feature, series.metric);
            continue;
          }
          seenInChunk.add(key);
          let buffer = buffers.get(key);
          if (!buffer) {
            if (buffers.size >= this.config.maxEntities && !this.entities.has(key)) {
              this.warnOnce('maxEntities', `group has reached maxEntities (${this.config.maxEntities}); further entities are not scored`, { entity: series.metric });
              continue;
            }
            buffer = { metric: series.metric, values: new Float64Array(rowCount * featureCount).fill(Number.NaN), lastPresentRow: -1 };
            buffers.set(key, buffer);
          }
          const { timestamps, values } = series;
          for (let j = 0; j < timestamps.length; j++) {
            const row = Math.round(((timestamps[j] ?? 0) - from) / step);
            if (row < 0 || row >= rowCount) continue;
            const value = values[j] ?? Number.NaN;
            buffer.values[row * featureCount + f] = value;
            if (!Number.isNaN(value) && row > buffer.lastPresentRow) buffer.lastPresentRow = row;
          }
        }
        ownedMax = Math.max(ownedMax, ownedInChunk);
      });
      try {
        await read(promql, expected);
        if (pushed) seriesCount.pushedDown++;
      } catch (error) {
        if (!pushed || !(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
        // Prometheus refused the filtered query (e.g. a limit on the regex): read as without pushdown, from now on.
        // Rows already copied from a partial read are rewritten with the same values.
        const reason = `Prometheus rejected the filtered query: ${error.message.slice(-300)}`;
        this.pushdown.set(feature, { safe: false, promql: this.config.features[feature] ?? '', reason });
        this.deps.metrics.shardPushdown.set({ group: this.name, feature }, 0);
        this.logger.warn({ feature, reason }, 'shard filter no longer pushed into this feature\'s PromQL: its reads return every shard\'s series');
        readMax = 0;
        ownedMax = 0;
        await read(this.config.features[feature] ?? '', Math.max(expectedSeries, scope?.all ?? 0));
      }
      seriesCount.read += readMax;
      seriesCount.owned += ownedMax;
      expectedSeries = Math.max(expectedSeries, buffers.size, answeredSeries);
    }

    const unobservedValues = await this.maskUnobservedRange(buffers, from, to, rowCount, scope);
    if (unobservedValues > 0) this.deps.metrics.unobservedValues.inc({ group: this.name }, unobservedValues);
    const read = { wallSeconds: (performance.now() - readStarted) / 1000, cpuSeconds: cpuSecondsSince(readCpu) };
    const feedStarted = performance.now();
    const feedCpu = process.cpuUsage();
    if (fresh) this.entities.clear();
    const timestamps = new Float64Array(rowCount);
    const packed = new Float64Array(rowCount * featureCount);
    const total = buffers.size;
    let done = 0;
    let lastYield = performance.now();
    for (const [key, buffer] of buffers) {
      if (this.deps.onProgress && done % 100 === 0) this.deps.onProgress(this.name, done + 1, total);
      done++;
      // Training thousands of models takes minutes: let scrapes and health checks through meanwhile.
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      let record = this.entities.get(key);
      let skip = 0;
      if (!record) {
        record = this.newRecord(key, buffer.metric, now);
        if (!record) continue;
        this.entities.set(key, record);
        skip = this.staggerRows(key, completeRows(buffer.values, featureCount));
      }
      // Keep rows after the entity's last sample that have at least one value (absent rows are skipped).
      // Plain loops: no per-row subarray objects (millions of them in a training of 10,000 entities).
      const values = buffer.values;
      const after = record.lastTimestamp ?? -Infinity;
      let rows = 0;
      let lastRowTime = Number.NaN;
      for (let r = 0; r < rowCount; r++) {
        const t = from + r * step;
        if (t <= after) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        const base = r * featureCount;
        let any = false;
        for (let f = 0; f < featureCount; f++) {
          if (!Number.isNaN(values[base + f] as number)) {
            any = true;
            break;
          }
        }
        if (!any) continue;
        timestamps[rows] = t;
        const out = rows * featureCount;
        for (let f = 0; f < featureCount; f++) packed[out + f] = values[base + f] as number;
        rows++;
        lastRowTime = t;
      }
      buffers.delete(key);
      // Data that ended before `to` is as old as its last row; the entity is there as long as its series are, but its
      // verdict is only as fresh as the last row Prometheus observed.
      if (buffer.lastPresentRow >= 0) record.lastSeenAt = now - (to - (from + buffer.lastPresentRow * step));
      if (rows === 0) continue;
      record.verdict = record.detector.updateBatch(timestamps.subarray(0, rows), packed.subarray(0, rows * featureCount));
      record.lastTimestamp = lastRowTime;
      record.freshAt = now - (to - lastRowTime);
    }
    return {
      read,
      series: seriesCount,
      unobservedValues,
      feed: { wallSeconds: (performance.now() - feedStarted) / 1000, cpuSeconds: cpuSecondsSince(feedCpu) },
    };
  }

  /**
   * The features an answer series of the sample-age query concerns, and its entity's key (undefined: the selector's
   * series carry no groupBy label, so the answer concerns every entity).
   */
  private unobservedTarget(metric: Labels): { features: readonly number[]; key: string | undefined } | undefined {
    const features = this.sampleAge.selectorFeatures[Number(metric[this.sampleAge.tagLabel] ?? Number.NaN)];
    if (!features) return undefined;
    const groupWide = this.config.groupBy.every((label) => metric[label] === undefined);
    return { features, key: groupWide ? undefined : entityKey(this.config.groupBy, metric) };
  }

  /** A sample-age query Prometheus refused (a client error): values are then taken as observed. */
  private sampleAgeRefused(error: PrometheusError): void {
    this.warnOnce(
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
      answer = await this.deps.client.query(promql, at);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      this.sampleAgeRefused(error);
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
    const { step } = this.config.schedule;
    return this.sampleAge.selectors.map((_, i) => {
      const known = [a[i], b[i]].filter((value): value is number => value !== undefined);
      return known.length === 0 ? undefined : sampleAgeLimit(step, Math.min(...known));
    });
  }

  /** The entities and selectors whose value at `at` Prometheus did not observe (instant query). */
  private async unobservedAt(at: number): Promise<InstantSample[]> {
    if (!this.sampleAge.spacingQuery) return [];
    // The spacing is measured again once a minute (or window / 10) of sample time.
    if (!this.spacing || at - this.spacing.at >= SPACING_WINDOW_SECONDS / 10 || at < this.spacing.at) {
      const values = await this.spacingAt(at);
      this.limits = this.limitsOf(values, this.spacing?.values ?? []);
      this.spacing = { values, at };
    }
    const promql = unobservedQuery(this.sampleAge, this.config.groupBy, this.limits);
    if (!promql) return [];
    try {
      return await this.deps.client.query(promql, at);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      this.sampleAgeRefused(error);
      return [];
    }
  }

  /**
   * Marks the values of a range read that Prometheus did not observe as missing (NaN), from one query_range over the
   * same steps (its answer is empty while every target is scraped), with the age limits of the spacing of samples
   * measured at both ends of the range. Returns the count.
   */
  private async maskUnobservedRange(
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
    const base = unobservedQuery(this.sampleAge, this.config.groupBy, limits);
    if (!base) return 0;
    const { step } = this.config.schedule;
    const featureCount = this.featureNames.length;
    let masked = 0;
    const onChunk = (chunk: readonly RangeSeries[]): void => {
      for (const series of chunk) {
        const target = this.unobservedTarget(series.metric);
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
    };
    let promql = base;
    if (scope && this.sampleAgePushdown) {
      const plan = planPushdown(base, this.config.groupBy);
      const filtered = plan.safe ? applyPushdown(plan, scope.matchers) : base;
      if (filtered.length <= MAX_PUSHDOWN_QUERY_LENGTH) promql = filtered;
    }
    try {
      await this.deps.client.queryRangeChunks(promql, from, to, step, buffers.size, onChunk);
    } catch (error) {
      if (!(error instanceof PrometheusError) || error.outcome !== 'client_error') throw error;
      if (promql === base) {
        this.sampleAgeRefused(error);
        return masked;
      }
      // As for the features: Prometheus refused the filtered query; read it unfiltered from now on.
      this.sampleAgePushdown = false;
      this.logger.warn({ reason: error.message.slice(-300) }, 'shard filter no longer pushed into the query of unobserved values');
      try {
        await this.deps.client.queryRangeChunks(base, from, to, step, buffers.size * this.shard.count, onChunk);
      } catch (again) {
        if (!(again instanceof PrometheusError) || again.outcome !== 'client_error') throw again;
        this.sampleAgeRefused(again);
      }
    }
    return masked;
  }

  /**
   * For a range read of a sharded exporter with at least one pushed-down feature: the matchers naming this shard's
   * entities — those it scores now and those every feature's instant query at `at` returns that hash to it (a
   * cheap read, as a scoring cycle's), so that entities that appeared since the last read are trained from their
   * history too. Entities whose series ended before `at` are not named: like vanished entities, they are not
   * scored. `all` counts the instant answers' series (every shard's), to size the reads that are not pushed down.
   */
  private async pushdownScope(at: number): Promise<{ matchers: string; owned: number; all: number } | undefined> {
    if (![...this.pushdown.values()].some((plan) => plan.safe)) return undefined;
    const owned = new Map<string, Labels>();
    for (const [key, record] of this.entities) owned.set(key, record.labels);
    let all = 0;
    const answers = await Promise.all(this.featureNames.map((feature) => this.deps.client.query(this.config.features[feature] ?? '', at)));
    for (const samples of answers) {
      all = Math.max(all, samples.length);
      for (const sample of samples) {
        const key = entityKey(this.config.groupBy, sample.metric);
        if (!owned.has(key) && this.owns(key, sample.metric)) owned.set(key, sample.metric);
      }
    }
    return { matchers: entityMatchers(this.config.groupBy, valueSets(this.config.groupBy, owned.values())), owned: owned.size, all };
  }

  /**
   * Rows of history a new detector skips so that the detectors of a group, trained from the same history,
   * do not all retrain on the same cycle (which would turn one scoring cycle in `retrainEvery` into a
   * training storm): a per-entity offset in [0, retrainEvery), stable for the entity, but never so large that
   * fewer than `warmup` complete rows remain (the entity would otherwise stay warming although its history
   * is long enough to train on).
   */
  private staggerRows(key: string, complete: number): number {
    const options = this.detectorOptions();
    const every = options.retrainEvery ?? this.deps.factory.defaults.retrainEvery;
    const warmup = options.warmup ?? this.deps.factory.defaults.warmup;
    return staggerOffset(key, typeof every === 'number' ? every : 0, complete - (typeof warmup === 'number' ? warmup : 0));
  }

  private removeVanished(now: number): void {
    const grace = this.config.schedule.vanishGrace;
    for (const [key, record] of this.entities) {
      if (now - record.lastSeenAt > grace) {
        this.entities.delete(key);
        this.logger.info({ entity: record.labels }, 'entity vanished from Prometheus; its series are removed');
      }
    }
  }

  private stateOf(record: EntityRecord, now: number): EntityState {
    if (now - record.freshAt > 2 * this.config.schedule.interval + 1) return 'stale';
    return record.detector.state === 'ready' && record.verdict?.ready ? 'ready' : 'warming';
  }

  private publishable(record: EntityRecord, now: number): boolean {
    return Boolean(record.verdict?.ready) && now - record.freshAt <= this.config.schedule.maxScoreAge;
  }

  private *entitySnapshots(now: number): Generator<EntitySnapshot> {
    for (const record of this.entities.values()) {
      const verdict = record.verdict;
      yield {
        labels: record.labels,
        state: this.stateOf(record, now),
        scores: verdict && this.publishable(record, now) ? verdict : undefined,
        trainedAt: record.detector.trainedAt,
        trainingSamples: record.detector.trainingSamples,
      };
    }
  }

  /** The view the metrics read at scrape time (re-iterable: each metric walks it once). */
  snapshot(): GroupSnapshot {
    const now = this.now();
    return {
      group: this.name,
      featureNames: this.featureNames,
      entities: { [Symbol.iterator]: () => this.entitySnapshots(now) },
    };
  }

  /** The entities' detectors (for measurements such as the benchmark's memory breakdown). */
  *detectors(): Generator<StreamingDetector> {
    for (const record of this.entities.values()) yield record.detector;
  }

  report(): EntityReport[] {
    const now = this.now();
    return [...this.entities.values()].map((record) => {
      const verdict = record.verdict;
      const trainedAt = record.detector.trainedAt;
      const top = verdict && verdict.topFeature >= 0 ? (this.featureNames[verdict.topFeature] ?? null) : null;
      return {
        group: this.name,
        entity: record.labels,
        state: this.stateOf(record, now),
        anomalyScore: verdict?.ready ? verdict.anomalyScore : null,
        healthScore: verdict?.ready ? verdict.healthScore : null,
        topFeature: verdict?.ready ? top : null,
        featureScores: verdict?.ready ? Object.fromEntries(this.featureNames.map((name, i) => [name, verdict.featureScores[i] ?? 0])) : null,
        scoreAgeSeconds: Number.isFinite(record.freshAt) ? Math.max(0, now - record.freshAt) : null,
        published: this.publishable(record, now),
        modelTrainedAt: trainedAt !== undefined ? new Date(trainedAt * 1000).toISOString() : null,
        modelAgeSeconds: trainedAt !== undefined ? Math.max(0, now - trainedAt) : null,
        trainingSamples: record.detector.trainingSamples,
        samplesSeen: record.detector.samplesSeen,
      };
    });
  }
}

/**
 * A per-entity offset in [0, every) from an FNV-1a hash of its key, folded into [0, maxSkip] when larger
 * (0 when maxSkip < 0): see GroupRunner.staggerRows.
 */
export function staggerOffset(key: string, every: number, maxSkip: number): number {
  if (every <= 1 || maxSkip <= 0) return 0;
  let hash = 2166136261;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  const offset = (hash >>> 0) % every;
  return offset <= maxSkip ? offset : offset % (maxSkip + 1);
}

/** Rows (of `featureCount` values, row-major) where every feature has a value. */
function completeRows(values: Float64Array, featureCount: number): number {
  let complete = 0;
  for (let r = 0; r + featureCount <= values.length; r += featureCount) {
    let all = true;
    for (let f = 0; f < featureCount; f++) if (Number.isNaN(values[r + f] as number)) all = false;
    if (all) complete++;
  }
  return complete;
}
