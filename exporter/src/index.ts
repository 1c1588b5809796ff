// @selfheal/exporter: the anomaly exporter (Prometheus in, anomaly and health scores out) and its detector.
export type { DetectorState, StreamingDetector, Verdict } from './detector/types.js';
export {
  createDetector, restoreDetector, DEFAULT_DETECTOR_OPTIONS, detectorOptionsSchema, resolveDetectorOptions,
  DetectorOptionsError, DetectorStateError, IsolationForestDetector, healthScore, type DetectorOptions,
} from './detector/index.js';
export { IsolationForest, IsolationForestError, type ForestOptions } from './forest/isolation-forest.js';
export { serializeForest, restoreForest } from './forest/serialize.js';
export { runBacktest, type BacktestOptions, type BacktestSummary } from './backtest/backtest.js';

// The exporter service.
export { loadExporterConfig, parseExporterConfig } from './config/load.js';
export { checkExporterConfigWith, summarizeExporterConfig, type ConfigCheck } from './config/check.js';
export { exporterConfigSchema, LISTEN_OPTIONS as EXPORTER_LISTEN_OPTIONS, type ExporterConfig, type GroupConfig, type PrometheusConfig } from './config/schema.js';
export { PrometheusClient, PrometheusError, type InstantSample, type RangeSeries, type RequestOutcome } from './prometheus/client.js';
export { ExporterMetrics, ScoreMetrics } from './metrics/registry.js';
export { ExporterService, type ExporterServiceOptions } from './service/exporter-service.js';
export { GroupRunner, type EntityReport, type CycleResult } from './service/group-runner.js';
export type { DetectorFactory, DetectorOptionsSpec } from './service/detector-factory.js';
export { runExporter, type RunOptions, type RunningExporter } from './service/run.js';
export { loadGroupState, saveGroupState, stateFile } from './state/store.js';
export { defaultDetectorFactory } from './service/real-detector.js';
export { ShardError, parseShard, formatShard, shardOf, shardKey, hashmod, type Shard } from './shard/shard.js';
