// `selfheal check-config` for exporter configs: every problem, as lines a person can act on.
import type { DetectorOptionsSpec } from '../service/detector-factory.js';
import { ConfigError, loadExporterConfig } from './load.js';
import type { ExporterConfig } from './schema.js';

export interface ConfigCheck {
  ok: boolean;
  errors: string[];
  /** One line about what the file configures, when valid. */
  summary?: string;
}

export function summarizeExporterConfig(config: ExporterConfig): string {
  const groups = config.groups.map((g) => `${g.name} (by ${g.groupBy.join(', ')}: ${Object.keys(g.features).join(', ')}; every ${g.schedule.interval}s)`);
  const shard = config.shard.count > 1 ? `; shard ${config.shard.index}/${config.shard.count}` : '';
  return `Prometheus ${config.prometheus.url}; listen ${config.listen}${shard}; ${config.groups.length} group(s): ${groups.join('; ')}`;
}

export function checkExporterConfigWith(file: string, detector: DetectorOptionsSpec): ConfigCheck {
  try {
    const config = loadExporterConfig(file, detector);
    return { ok: true, errors: [], summary: summarizeExporterConfig(config) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, errors: [...error.problems] };
    return { ok: false, errors: [(error as Error).message] };
  }
}
