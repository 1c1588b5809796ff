// "Metrics back to normal", measured on the metric itself rather than on the detector's score: each fault kind
// moves one feature of the exporter config; its normal band comes from the minute before the fault.
import { readFileSync } from 'node:fs';
import type { PrometheusClient } from '@selfheal/contracts';
import { parse } from 'yaml';
import type { FaultKind } from '../workload/spec.js';
import { CONFIG_DIR } from './configs.js';

/** The exporter feature each fault kind moves (demo/config/exporter.yml). */
export const FEATURE_FOR: Record<FaultKind, string> = {
  cpu_saturation: 'cpu',
  memory_leak: 'memory_used',
  slow_dependency: 'latency_p50',
  failing_dependency: 'error_ratio',
  bad_instance: 'instance_error_skew',
  // Every instance of the new version fails a share of its requests: the median instance's error ratio.
  bad_release: 'error_ratio',
};

/** How far above the normal median a feature may be and still count as normal: relative and absolute slack. */
const SLACK: Record<string, { relative: number; absolute: number }> = {
  cpu: { relative: 0.4, absolute: 0.01 },
  memory_used: { relative: 0.3, absolute: 16 * 1024 * 1024 },
  latency_p50: { relative: 0, absolute: 0.05 },
  error_ratio: { relative: 0, absolute: 0.05 },
  instance_error_skew: { relative: 0, absolute: 0.05 },
};

export function featureQueries(file = `${CONFIG_DIR}exporter.yml`): Record<string, string> {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: { features: Record<string, string> }[] };
  return doc.groups[0]?.features ?? {};
}

export interface Band {
  median: number;
  upper: number;
}

/** Normal band of a feature from its recent values: median plus the larger of 4 robust sigmas and the slack. */
export function normalBand(feature: string, values: readonly number[]): Band {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  const mid = (xs: readonly number[]) => (xs.length ? (xs[Math.floor((xs.length - 1) / 2)] ?? 0) + (xs[Math.ceil((xs.length - 1) / 2)] ?? 0) : 0) / 2;
  const median = mid(finite);
  const mad = mid(finite.map((v) => Math.abs(v - median)).sort((a, b) => a - b));
  const slack = SLACK[feature] ?? { relative: 0.3, absolute: 0 };
  return { median, upper: median + Math.max(4 * 1.4826 * mad, slack.relative * Math.abs(median), slack.absolute) };
}

/** The feature's value for `service` over the last `seconds` (1 s step). */
export async function featureHistory(prometheus: PrometheusClient, promql: string, service: string, seconds: number): Promise<number[]> {
  const end = Date.now() / 1000;
  const series = await prometheus.queryRange(promql, { start: end - seconds, end, stepSeconds: 1 });
  return series.find((r) => r.metric.service === service)?.values.map(([, v]) => v) ?? [];
}

/** The feature's current value for `service` (NaN when absent). */
export async function featureNow(prometheus: PrometheusClient, promql: string, service: string): Promise<number> {
  const hit = (await prometheus.query(promql)).find((r) => r.metric.service === service);
  return hit ? hit.value : Number.NaN;
}
