// The change source the config names (`changes.source`).
import type { Actuator } from '../actuators/types.js';
import type { Config } from '../config/schema.js';
import type { PrometheusQueries } from '../verify/prometheus.js';
import { KubernetesChangeSource } from './kubernetes.js';
import { PrometheusChangeSource } from './prometheus.js';
import type { ChangeSource } from './source.js';

export type { ChangeSource, ChangeVerdict } from './source.js';
export { changeVerdict, isRecent } from './source.js';
export { KubernetesChangeSource } from './kubernetes.js';
export { DEFAULT_CHANGE_QUERY, DEFAULT_TARGET_LABEL, PrometheusChangeSource } from './prometheus.js';

/** The configured source, or undefined without `changes:` (the config check guarantees prometheus.url for `prometheus`). */
export function createChangeSource(config: Config, actuators: ReadonlyMap<string, Actuator>, prometheus: PrometheusQueries | undefined): ChangeSource | undefined {
  const source = config.changes?.source;
  if (!source) return undefined;
  if ('kubernetes' in source) return new KubernetesChangeSource(actuators);
  if (!prometheus) throw new Error('changes.source.prometheus needs prometheus.url');
  return new PrometheusChangeSource(prometheus, source.prometheus.query, source.prometheus.targetLabel);
}
