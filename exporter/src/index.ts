// @selfheal/exporter: the anomaly exporter (Prometheus in, anomaly and health scores out) and its detector.
export type { DetectorState, StreamingDetector, Verdict } from './detector/types.js';
export {
  createDetector, restoreDetector, DEFAULT_DETECTOR_OPTIONS, DETECTOR_SETTING_NAMES, detectorOptionsSchema, detectorSettingsSchema, parseDetectorSettings,
  resolveDetectorOptions, DetectorOptionsError, DetectorStateError, IsolationForestDetector, healthScore, type DetectorOptions,
  type DetectorSettings,
} from './detector/index.js';
export { IsolationForest } from './detector/forest/isolation-forest.js';
export { IsolationForestError } from './detector/forest/layout.js';
export type { ForestOptions } from './detector/forest/fit.js';
export { serializeForest, restoreForest } from './detector/forest/serialize.js';
export { runBacktest, type BacktestOptions, type BacktestSummary } from './backtest/backtest.js';

// The exporter service.
export { loadExporterConfig, parseExporterConfig } from './config/load.js';
export { checkExporterConfigWith, summarizeExporterConfig, type ConfigCheck } from './config/check.js';
export { exporterConfigSchema, LISTEN_OPTIONS as EXPORTER_LISTEN_OPTIONS, type ExporterConfig, type GroupConfig, type PrometheusConfig } from './config/schema.js';
export { PrometheusClient, PrometheusError } from './source/client.js';
export type { InstantSample, RangeSeries, RequestOutcome } from './source/types.js';
export { ExporterMetrics, ScoreMetrics } from './metrics/registry.js';
export { ExporterService, type ExporterServiceOptions } from './runner/exporter-service.js';
export { GroupRunner } from './runner/group-runner.js';
export type { CycleResult } from './runner/types.js';
export type { EntityReport } from './http/types.js';
export type { DetectorFactory, DetectorOptionsSpec, DetectorScheduleSettings } from './detector/factory.js';
export { runExporter, type RunOptions, type RunningExporter } from './runner/run.js';
export { loadGroupState, saveGroupState, stateFile } from './state/store.js';
export { defaultDetectorFactory } from './detector/default-factory.js';
export { ShardError, parseShard, formatShard, shardOf, shardKey, hashmod, type Shard } from './shard/shard.js';
