// Feeds the rows of a read to the entities' detectors: a range read (train, catch_up) as one updateBatch per
// entity of the rows after its last sample, an instant read (score) as one update per entity. New entities get
// a detector here; rows without any observed value are not fed (no verdict from data Prometheus made up).
import type { DetectorScheduleSettings } from '../detector/factory.js';
import type { Labels } from '../source/types.js';
import type { EntityTable } from './entities.js';
import type { InstantRead } from './instant-reader.js';
import type { RangeRead } from './range-reader.js';
import { completeRows, staggerRows } from './stagger.js';

export interface Feeder {
  /** Feeds a range read; `fresh` replaces every detector (training). Yields to the event loop while it works. */
  feedRange(read: RangeRead, now: number, fresh: boolean): Promise<void>;
  /** Feeds an instant read taken at `evaluateAt` (s). */
  feedInstant(read: InstantRead, evaluateAt: number, now: number): void;
}

export interface DetectorFeederOptions {
  readonly group: string;
  readonly featureCount: number;
  readonly entities: EntityTable;
  /** The group's detectors' schedule (the stagger reads retrainEvery and warmup). */
  readonly schedule: DetectorScheduleSettings;
  /** Progress of long (range) feeds: entities fed so far of the total. */
  readonly onProgress?: ((group: string, done: number, total: number) => void) | undefined;
}

/** The packed rows of one entity: `rows` rows, the last at `lastRowTime` (NaN for none). */
interface Packed {
  rows: number;
  lastRowTime: number;
}

/**
 * Copies into `timestamps`/`packed` the rows of `values` after `after` that have at least one value (absent rows are
 * skipped), the first `skip` of those after `after` left out. Plain loops: no per-row subarray objects (millions of
 * them in a training of 10,000 entities).
 */
function packRows(read: RangeRead, values: Float64Array, featureCount: number, after: number, skip: number, timestamps: Float64Array, packed: Float64Array): Packed {
  const { from, step, rowCount } = read;
  let rows = 0;
  let lastRowTime = Number.NaN;
  for (let r = 0; r < rowCount; r++) {
    const t = from + r * step;
    if (t <= after) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    const base = r * featureCount;
    let any = false;
    for (let f = 0; f < featureCount; f++) {
      if (!Number.isNaN(values[base + f] as number)) {
        any = true;
        break;
      }
    }
    if (!any) continue;
    timestamps[rows] = t;
    const out = rows * featureCount;
    for (let f = 0; f < featureCount; f++) packed[out + f] = values[base + f] as number;
    rows++;
    lastRowTime = t;
  }
  return { rows, lastRowTime };
}

export class DetectorFeeder implements Feeder {
  constructor(private readonly options: DetectorFeederOptions) {}

  async feedRange(read: RangeRead, now: number, fresh: boolean): Promise<void> {
    const { group, featureCount, entities, onProgress } = this.options;
    const { from, to, step, rowCount, buffers } = read;
    if (fresh) entities.clear();
    const timestamps = new Float64Array(rowCount);
    const packed = new Float64Array(rowCount * featureCount);
    const total = buffers.size;
    let done = 0;
    let lastYield = performance.now();
    for (const [key, buffer] of buffers) {
      if (onProgress && done % 100 === 0) onProgress(group, done + 1, total);
      done++;
      // Training thousands of models takes minutes: let scrapes and health checks through meanwhile.
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      let record = entities.records.get(key);
      let skip = 0;
      if (!record) {
        record = entities.add(key, buffer.metric, now);
        if (!record) continue;
        skip = staggerRows(key, completeRows(buffer.values, featureCount), this.options.schedule);
      }
      const { rows, lastRowTime } = packRows(read, buffer.values, featureCount, record.lastTimestamp ?? -Infinity, skip, timestamps, packed);
      buffers.delete(key);
      // Data that ended before `to` is as old as its last row; the entity is there as long as its series are, but its
      // verdict is only as fresh as the last row Prometheus observed.
      if (buffer.lastPresentRow >= 0) record.lastSeenAt = now - (to - (from + buffer.lastPresentRow * step));
      if (rows === 0) continue;
      record.verdict = record.detector.updateBatch(timestamps.subarray(0, rows), packed.subarray(0, rows * featureCount));
      (record.values ??= new Float64Array(featureCount)).set(packed.subarray((rows - 1) * featureCount, rows * featureCount));
      record.lastTimestamp = lastRowTime;
      record.freshAt = now - (to - lastRowTime);
    }
  }

  feedInstant(read: InstantRead, evaluateAt: number, now: number): void {
    const { featureCount, entities } = this.options;
    const { keys, metrics, values, masked } = read;
    const row = new Float64Array(featureCount);
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot] as string;
      const record = entities.records.get(key) ?? entities.add(key, metrics[slot] as Labels, now);
      if (!record) continue;
      let observed = false;
      for (let f = 0; f < featureCount; f++) {
        row[f] = values[slot * featureCount + f] as number;
        if (!Number.isNaN(row[f] as number)) observed = true;
      }
      if (masked[slot] === 1 && !observed) {
        // The entity's series are there, but none was scraped lately: no verdict (its score goes stale).
        record.lastSeenAt = now;
        continue;
      }
      record.verdict = record.detector.update(evaluateAt, row);
      (record.values ??= new Float64Array(featureCount)).set(row);
      record.lastTimestamp = evaluateAt;
      record.lastSeenAt = now;
      record.freshAt = now;
    }
  }
}
