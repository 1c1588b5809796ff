// A group's entities: one record (label set, detector, freshness) per entity this shard owns, created on first
// sight up to maxEntities, removed once Prometheus no longer returns them.
import type { Logger } from 'pino';
import type { GroupConfig } from '../config/schema.js';
import type { DetectorFactory, DetectorScheduleSettings } from '../detector/factory.js';
import type { StreamingDetector, Verdict } from '../detector/types.js';
import { shardOf, type Shard } from '../shard/shard.js';
import type { Labels } from '../source/types.js';
import type { WarnOnce } from './warn-once.js';

export interface EntityRecord {
  readonly key: string;
  readonly labels: Labels;
  detector: StreamingDetector;
  /** Sample time (s) of the last row fed to the detector. */
  lastTimestamp: number | undefined;
  /** Wall time (s) at which Prometheus last returned data for this entity. */
  lastSeenAt: number;
  verdict: Verdict | undefined;
  /** The feature values of the last row fed (NaN where missing), published beside the expected band. */
  values?: Float64Array;
  /** Wall time (s) the verdict's data was current at; the score's age is measured from it. */
  freshAt: number;
}

export function entityKey(groupBy: readonly string[], metric: Labels): string {
  return JSON.stringify(groupBy.map((label) => metric[label] ?? ''));
}

export interface EntityTableOptions<O extends DetectorScheduleSettings> {
  readonly config: GroupConfig<O>;
  readonly featureNames: readonly string[];
  readonly factory: DetectorFactory<O>;
  /** The options every new detector of the group is created with. */
  readonly detectorOptions: Readonly<Partial<O>>;
  readonly shard: Shard;
  readonly logger: Logger;
  readonly warnings: WarnOnce;
}

export class EntityTable<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  /** Entity key -> record. */
  readonly records = new Map<string, EntityRecord>();
  /** Entity key -> owned by this shard (md5 once per entity, not per cycle); bounded, see owns(). */
  private readonly ownership = new Map<string, boolean>();

  constructor(private readonly options: EntityTableOptions<O>) {}

  get size(): number {
    return this.records.size;
  }

  /** Whether this shard scores the entity (always, without sharding). */
  owns(key: string, metric: Labels): boolean {
    const { config, shard } = this.options;
    if (shard.count <= 1) return true;
    let owned = this.ownership.get(key);
    if (owned === undefined) {
      // Bounded: entities come and go; a full map is simply rebuilt (the hash is cheap, ~1 µs).
      if (this.ownership.size >= 4 * config.maxEntities * shard.count) this.ownership.clear();
      owned = shardOf(config.name, config.groupBy, metric, shard.count) === shard.index;
      this.ownership.set(key, owned);
    }
    return owned;
  }

  /** A new entity with a fresh detector, added to the table; undefined (and a warning) at maxEntities. */
  add(key: string, metric: Labels, now: number): EntityRecord | undefined {
    const { config, warnings } = this.options;
    if (this.records.size >= config.maxEntities) {
      warnings.warn('maxEntities', `group has reached maxEntities (${config.maxEntities}); further entities are not scored`, { entity: metric });
      return undefined;
    }
    const labels: Labels = {};
    for (const label of config.groupBy) {
      const value = metric[label];
      if (value === undefined) {
        warnings.warn(`missing:${label}`, `a feature query returns series without the label "${label}"; aggregate with "by (${config.groupBy.join(', ')})"`, { series: metric });
      }
      labels[label] = value ?? '';
    }
    const detector = this.options.factory.create(this.options.featureNames, this.options.detectorOptions);
    const record: EntityRecord = { key, labels, detector, lastTimestamp: undefined, lastSeenAt: now, verdict: undefined, freshAt: -Infinity };
    this.records.set(key, record);
    return record;
  }

  /** Forgets every entity (a training replaces every detector). */
  clear(): void {
    this.records.clear();
  }

  /** Drops the entities Prometheus has not returned for longer than the schedule's vanishGrace. */
  removeVanished(now: number): void {
    const grace = this.options.config.schedule.vanishGrace;
    for (const [key, record] of this.records) {
      if (now - record.lastSeenAt > grace) {
        this.records.delete(key);
        this.options.logger.info({ entity: record.labels }, 'entity vanished from Prometheus; its series are removed');
      }
    }
  }
}

/** A feature query answered several series for one entity: the first is used, the rest ignored (warned once). */
export function noteDuplicate(warnings: WarnOnce, groupBy: readonly string[], feature: string, metric: Labels): void {
  warnings.warn(
    `dup:${feature}`,
    `feature "${feature}" returns several series for one entity; aggregate it, e.g. "sum by (${groupBy.join(', ')}) (...)" (extra series ignored)`,
    { series: metric },
  );
}
