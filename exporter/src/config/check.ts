// `selfheal check-config` for exporter configs: every problem, as lines a person can act on.
import type { DetectorOptionsSpec, DetectorScheduleSettings } from '../detector/factory.js';
import { planSampleAgeCheck } from '../source/sample-age.js';
import { planPushdown } from '../shard/pushdown.js';
import { ConfigError } from '@selfheal/contracts';
import { loadExporterConfig } from './load.js';
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
  // Said whether or not this file shards: `--shard` on the command line can shard any config.
  const refused = config.groups.flatMap((g) =>
    Object.entries(g.features).flatMap(([feature, promql]) => {
      const plan = planPushdown(promql, g.groupBy);
      return plan.safe ? [] : [`${g.name}/${feature} (${plan.reason})`];
    }),
  );
  const pushdown = refused.length > 0 ? `; when sharded, the shard filter is not pushed into PromQL for ${refused.join(', ')}: those reads return every shard's series` : '';
  const unchecked = config.groups.flatMap((g) => planSampleAgeCheck(g.features, g.groupBy).unchecked.map((feature) => `${g.name}/${feature}`));
  const sampleAge = unchecked.length > 0
    ? `; the sample age of ${unchecked.join(', ')} cannot be checked (no selector outside offset, @ or absent()): after a scrape gap, Prometheus's repeated samples are fed as data`
    : '';
  return `Prometheus ${config.prometheus.url}; listen ${config.listen}${shard}; ${config.groups.length} group(s): ${groups.join('; ')}${pushdown}${sampleAge}`;
}

export function checkExporterConfigWith<O extends DetectorScheduleSettings>(file: string, detector: DetectorOptionsSpec<O>): ConfigCheck {
  try {
    const config = loadExporterConfig(file, detector);
    return { ok: true, errors: [], summary: summarizeExporterConfig(config) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, errors: [...error.problems] };
    return { ok: false, errors: [(error as Error).message] };
  }
}
