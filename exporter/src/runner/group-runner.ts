// One configured group: its entities (one label set of `groupBy` each), their detectors, and the cycles
// that feed them from Prometheus. Reads are per feature for all entities at once (never per entity):
//   train    — first start without saved models: one chunked query_range per feature over trainWindow;
//   catch_up — after a gap (outage, restart with saved models): query_range over the missed span only;
//   score    — every interval: one instant query per feature.
// Each cycle is a read (range-reader.ts, instant-reader.ts), which also marks the values Prometheus did not observe
// as missing (unobserved.ts), then a feed of the rows to the detectors (feeder.ts); a row without any observed
// value is not fed at all, so no verdict is computed, and none published, from data Prometheus made up.
import type { Logger } from 'pino';
import { groupDetectorOptions, type GroupConfig } from '../config/schema.js';
import type { DetectorScheduleSettings } from '../detector/factory.js';
import type { StreamingDetector } from '../detector/types.js';
import type { EntityReport } from '../http/types.js';
import type { CyclePhase, GroupSnapshot } from '../metrics/registry.js';
import { NO_SHARD, type Shard } from '../shard/shard.js';
import type { Labels } from '../source/types.js';
import { groupFingerprint } from '../state/store.js';
import { EntityTable } from './entities.js';
import { FeaturePushdown } from './feature-pushdown.js';
import { DetectorFeeder, type Feeder } from './feeder.js';
import { PrometheusInstantReader, type InstantReader } from './instant-reader.js';
import { restoreGroupState, saveGroupModels, type GroupStateOptions } from './persistence.js';
import { PrometheusRangeReader, type RangeReader } from './range-reader.js';
import { entityReports, groupSnapshot } from './report.js';
import type { CycleResult, GroupRunnerDeps, RangeBreakdown } from './types.js';
import { UnobservedValues } from './unobserved.js';
import { WarnOnce } from './warn-once.js';

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export class GroupRunner<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  readonly name: string;
  readonly featureNames: readonly string[];
  readonly fingerprint: string;
  private readonly entities: EntityTable<O>;
  /** Sample time (s) up to which the group's data has been read. */
  private lastEvaluatedAt: number | undefined;
  private completed = 0;
  private running: Promise<CycleResult> | undefined;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly shard: Shard;
  /** Set when the restored state was saved by another shard layout: the next cycle reads the whole trainWindow
   * so that entities this shard newly owns train from history (restored ones only catch up). */
  private backfillNewEntities = false;
  private readonly options: Readonly<Partial<DetectorScheduleSettings> & Partial<O>>;
  private readonly pushdown: FeaturePushdown;
  private readonly rangeReader: RangeReader;
  private readonly instantReader: InstantReader;
  private readonly feeder: Feeder;

  constructor(
    readonly config: GroupConfig<O>,
    private readonly deps: GroupRunnerDeps<O>,
  ) {
    this.name = config.name;
    this.featureNames = Object.keys(config.features);
    // Computed once (the configuration of a runner never changes): thousands of detectors are created from it.
    this.options = Object.freeze(groupDetectorOptions(config));
    this.fingerprint = groupFingerprint({ groupBy: config.groupBy, features: config.features, detector: this.options, step: config.schedule.step });
    this.now = deps.now ?? (() => Date.now() / 1000);
    this.logger = deps.logger.child({ group: config.name });
    this.shard = deps.shard ?? NO_SHARD;
    const warnings = new WarnOnce(this.logger);
    const { client, metrics, factory } = deps;
    const featureNames = this.featureNames;
    this.entities = new EntityTable({ config, featureNames, factory, detectorOptions: this.options, shard: this.shard, logger: this.logger, warnings });
    this.pushdown = new FeaturePushdown(config, featureNames, this.shard, metrics, this.logger);
    // The shard's matchers go into the selectors of the reads of unobserved values only when every feature takes them.
    const unobserved = new UnobservedValues({
      config, featureCount: featureNames.length, client, logger: this.logger, warnings, shardCount: this.shard.count, pushdown: this.pushdown.everyFeature,
    });
    const entities = this.entities;
    this.rangeReader = new PrometheusRangeReader({ config, featureNames, client, entities, pushdown: this.pushdown, unobserved, metrics, warnings, shardCount: this.shard.count });
    this.instantReader = new PrometheusInstantReader({ config, featureNames, client, entities, unobserved, metrics, warnings });
    this.feeder = new DetectorFeeder({
      group: this.name, featureCount: featureNames.length, entities, schedule: this.schedule(), onProgress: deps.onProgress,
    });
  }

  /** Per feature, whether the training reads carry this shard's entity matchers (sharded exporters only). */
  pushdownStates(): { group: string; feature: string; pushedDown: boolean; reason?: string }[] {
    return this.pushdown.states();
  }

  /** Whether this shard scores the entity (always, without sharding). */
  owns(key: string, metric: Labels): boolean {
    return this.entities.owns(key, metric);
  }

  /** True once a cycle has succeeded (the service is ready when every group is). */
  get hasCompletedCycle(): boolean {
    return this.completed > 0;
  }

  get entityCount(): number {
    return this.entities.size;
  }

  /** The detector options of this group: the schedule's, overridden by the group's `detector:` section. */
  detectorOptions(): Readonly<Partial<O>> {
    return this.options;
  }

  /** The schedule the group's detectors run on: its options' where set, else the detector's defaults. */
  private schedule(): DetectorScheduleSettings {
    const { options } = this;
    const { defaults } = this.deps.factory;
    return {
      warmup: options.warmup ?? defaults.warmup,
      trainWindow: options.trainWindow ?? defaults.trainWindow,
      retrainEvery: options.retrainEvery ?? defaults.retrainEvery,
    };
  }

  /** Takes over the entities of a runner of an identical previous configuration (config reload). */
  adopt(previous: GroupRunner<O>): void {
    for (const [key, record] of previous.entities.records) this.entities.records.set(key, record);
    this.lastEvaluatedAt = previous.lastEvaluatedAt;
    this.completed = previous.completed;
  }

  private stateOptions(stateDir: string): GroupStateOptions {
    const { factory, metrics } = this.deps;
    return { stateDir, group: this.name, groupBy: this.config.groupBy, fingerprint: this.fingerprint, featureNames: this.featureNames, shard: this.shard, factory, metrics, logger: this.logger };
  }

  /** Restores saved models; problems are logged and counted, never fatal. Returns entities restored. */
  async restore(): Promise<number> {
    if (!this.deps.stateDir) return 0;
    const { restored, lastTimestamp, repartitioned } = await restoreGroupState(this.stateOptions(this.deps.stateDir), this.entities, this.now());
    if (repartitioned !== undefined) this.backfillNewEntities = repartitioned;
    if (restored > 0) this.lastEvaluatedAt = lastTimestamp;
    return restored;
  }

  /** Saves every model (atomic file replace). Failures are logged and counted, never thrown. */
  async save(): Promise<void> {
    if (!this.deps.stateDir) return;
    await saveGroupModels(this.stateOptions(this.deps.stateDir), this.entities, this.now());
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

  /** The phase of a cycle at `evaluateAt` on the step grid; undefined when there is nothing new to read. */
  private phaseAt(evaluateAt: number): CyclePhase | undefined {
    const { step } = this.config.schedule;
    if (this.lastEvaluatedAt === undefined) return 'train';
    if (this.backfillNewEntities) return 'catch_up';
    // Nothing new on the step grid yet (interval shorter than step, or restored state from this step).
    if (evaluateAt <= this.lastEvaluatedAt) return undefined;
    if (evaluateAt - this.lastEvaluatedAt > 2 * step) return 'catch_up';
    return 'score';
  }

  private async cycle(): Promise<CycleResult> {
    const { step, trainWindow } = this.config.schedule;
    const now = this.now();
    const evaluateAt = Math.floor(now / step) * step;
    const phase = this.phaseAt(evaluateAt);
    if (phase === undefined) {
      this.completed++;
      return { phase: 'idle', ok: true, seconds: 0, entities: this.entities.size };
    }

    const started = performance.now();
    const end = this.deps.metrics.cycleDuration.startTimer({ group: this.name, phase });
    let breakdown: RangeBreakdown | undefined;
    try {
      if (phase === 'score') {
        this.feeder.feedInstant(await this.instantReader.read(evaluateAt), evaluateAt, now);
      } else {
        // After a re-partition the range starts at trainWindow: restored entities skip the rows they have seen.
        const from = phase === 'train' || this.backfillNewEntities ? evaluateAt - trainWindow : Math.max((this.lastEvaluatedAt ?? 0) + step, evaluateAt - trainWindow);
        breakdown = await this.ingestRange(from, evaluateAt, now, phase === 'train');
        this.backfillNewEntities = false;
      }
      this.lastEvaluatedAt = evaluateAt;
      this.entities.removeVanished(now);
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

  /**
   * Reads [from, to] on the step grid, then feeds each entity the rows after its last sample with one
   * updateBatch. `fresh` replaces every detector (training).
   */
  private async ingestRange(from: number, to: number, now: number, fresh: boolean): Promise<RangeBreakdown | undefined> {
    const readStarted = performance.now();
    const readCpu = process.cpuUsage();
    const read = await this.rangeReader.read(from, to);
    if (!read) return undefined;
    const readTime = { wallSeconds: (performance.now() - readStarted) / 1000, cpuSeconds: cpuSecondsSince(readCpu) };
    const feedStarted = performance.now();
    const feedCpu = process.cpuUsage();
    await this.feeder.feedRange(read, now, fresh);
    return {
      read: readTime,
      series: read.series,
      unobservedValues: read.unobservedValues,
      feed: { wallSeconds: (performance.now() - feedStarted) / 1000, cpuSeconds: cpuSecondsSince(feedCpu) },
    };
  }

  /** The view the metrics read at scrape time (re-iterable: each metric walks it once). */
  snapshot(): GroupSnapshot {
    return groupSnapshot(this.config, this.featureNames, this.entities.records, this.now());
  }

  /** The entities' detectors (for measurements such as the benchmark's memory breakdown). */
  *detectors(): Generator<StreamingDetector> {
    for (const record of this.entities.records.values()) yield record.detector;
  }

  report(): EntityReport[] {
    return entityReports(this.config, this.featureNames, this.entities.records, this.now());
  }
}
