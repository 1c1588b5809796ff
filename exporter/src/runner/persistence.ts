// A group's models on disk (src/state/store.ts): restored entry by entry at start-up or reload (the entities of
// this shard only; problems are logged and counted, never fatal), saved with an atomic file replace.
import type { Logger } from 'pino';
import type { DetectorFactory } from '../detector/factory.js';
import type { StreamingDetector } from '../detector/types.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { NO_SHARD, formatShard, sameShard, type Shard } from '../shard/shard.js';
import { loadGroupState, saveGroupState, type StateHeader } from '../state/store.js';
import { entityKey, type EntityTable } from './entities.js';

export interface GroupStateOptions {
  readonly stateDir: string;
  readonly group: string;
  readonly groupBy: readonly string[];
  readonly fingerprint: string;
  readonly featureNames: readonly string[];
  readonly shard: Shard;
  readonly factory: Pick<DetectorFactory, 'restore'>;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
}

export interface Restored {
  /** Entities restored. */
  readonly restored: number;
  /** The latest sample time a restored model had seen (undefined when none was restored). */
  readonly lastTimestamp: number | undefined;
  /**
   * Set when the file was saved by another shard layout: whether models were kept (then the entities this shard newly
   * owns need their history read); undefined when the layout is the same (or there was no file).
   */
  readonly repartitioned: boolean | undefined;
}

/** Restores the saved models this shard owns into `entities` (fresh once fed: their verdicts are not saved). */
export async function restoreGroupState(options: GroupStateOptions, entities: EntityTable, now: number): Promise<Restored> {
  const { stateDir, group, fingerprint, featureNames, shard, factory, metrics, logger } = options;
  let restored = 0;
  let foreign = 0;
  let last: number | undefined;
  // Entry by entry: a large state file is never held in memory as a whole.
  const loaded = await loadGroupState(stateDir, group, fingerprint, (stored) => {
    let detector: StreamingDetector;
    try {
      detector = factory.restore(stored.blob);
    } catch (error) {
      metrics.stateErrors.inc({ operation: 'load' });
      logger.warn({ entity: stored.labels, error: (error as Error).message }, 'a saved model could not be restored; skipped');
      return;
    }
    if (detector.featureNames.join('\u0000') !== featureNames.join('\u0000')) {
      metrics.stateErrors.inc({ operation: 'load' });
      logger.warn({ entity: stored.labels }, 'a saved model has other features; skipped');
      return;
    }
    const key = entityKey(options.groupBy, stored.labels);
    if (!entities.owns(key, stored.labels)) {
      foreign++;
      return;
    }
    // The restored verdict is not known until new data arrives: the entity is fresh once it is fed.
    entities.records.set(key, { key, labels: stored.labels, detector, lastTimestamp: stored.lastTimestamp, lastSeenAt: now, verdict: undefined, freshAt: -Infinity });
    last = last === undefined ? stored.lastTimestamp : Math.max(last, stored.lastTimestamp);
    restored++;
  });
  for (const problem of loaded.problems) {
    metrics.stateErrors.inc({ operation: 'load' });
    logger.warn({ problem }, 'model state not restored');
  }
  const savedShard = loaded.header?.shard ?? NO_SHARD;
  let repartitioned: boolean | undefined;
  if (loaded.header && !sameShard(savedShard, shard)) {
    // Re-partition (N or this shard's index changed): keep the models this shard still owns, drop the rest, and
    // read the whole trainWindow once so that the entities it newly owns train from history. Never fatal.
    repartitioned = restored > 0;
    logger.warn(
      { savedShard: formatShard(savedShard), shard: formatShard(shard), kept: restored, dropped: foreign },
      'models were saved by another shard layout; re-partitioned: models of entities this shard no longer owns are dropped, newly owned entities train from history',
    );
  } else if (foreign > 0) {
    logger.warn({ shard: formatShard(shard), dropped: foreign }, 'the state file holds models of entities another shard owns; dropped');
  }
  if (restored > 0) logger.info({ restored, savedAt: loaded.header?.savedAt }, 'models restored from the state directory');
  return { restored, lastTimestamp: last, repartitioned };
}

/** Saves the models of every entity that has been fed. Failures are logged and counted, never thrown. */
export async function saveGroupModels(options: GroupStateOptions, entities: EntityTable, now: number): Promise<void> {
  const { stateDir, shard, logger } = options;
  const header: StateHeader = {
    group: options.group,
    fingerprint: options.fingerprint,
    featureNames: [...options.featureNames],
    savedAt: now,
    shard: { index: shard.index, count: shard.count },
  };
  const records = [...entities.records.values()].filter((record) => record.lastTimestamp !== undefined);
  const started = performance.now();
  try {
    const bytes = await saveGroupState(
      stateDir,
      header,
      (function* () {
        for (const record of records) {
          yield { labels: record.labels, lastTimestamp: record.lastTimestamp ?? 0, blob: record.detector.serialize() };
        }
      })(),
    );
    logger.debug({ entities: records.length, bytes, ms: Math.round(performance.now() - started) }, 'models saved');
  } catch (error) {
    options.metrics.stateErrors.inc({ operation: 'save' });
    logger.error({ error: (error as Error).message, stateDir }, 'could not save models');
  }
}
