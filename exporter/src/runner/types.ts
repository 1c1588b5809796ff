// The runner's seams: what a group runner is given (its dependencies) and what one cycle reports.
import type { Logger } from 'pino';
import type { DetectorFactory, DetectorScheduleSettings } from '../detector/factory.js';
import type { CyclePhase, ExporterMetrics } from '../metrics/registry.js';
import type { Shard } from '../shard/shard.js';
import type { PrometheusClient } from '../source/client.js';
import type { Labels } from '../source/types.js';

export interface GroupRunnerDeps<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  client: PrometheusClient;
  factory: DetectorFactory<O>;
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
  series: SeriesCounts;
  /** Feature values left out as missing: Prometheus did not observe them (src/source/sample-age.ts). */
  unobservedValues: number;
  /** Detector work: feature extraction, forest fits, scoring, calibration. */
  feed: { wallSeconds: number; cpuSeconds: number };
}

export interface SeriesCounts {
  read: number;
  owned: number;
  pushedDown: number;
}

/** One entity's rows of a range read, row-major (rows × features, NaN = no value). */
export interface RangeBuffer {
  readonly metric: Labels;
  readonly values: Float64Array;
  /** The last row with a value (before the rows Prometheus did not observe are masked), -1 for none. */
  lastPresentRow: number;
}
