// The runner's feeder on its own (runner/feeder.ts): the rows of a read, built here as a reader would hand them
// over, fed to the real detector. What a cycle does with Prometheus's answers is covered end to end by the
// group-runner, unobserved-rows and sharding tests; this pins the seam between reading and feeding.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { EntityTable } from '../src/runner/entities.js';
import { DetectorFeeder } from '../src/runner/feeder.js';
import type { InstantRead } from '../src/runner/instant-reader.js';
import type { RangeRead } from '../src/runner/range-reader.js';
import { staggerOffset } from '../src/runner/stagger.js';
import type { RangeBuffer } from '../src/runner/types.js';
import { WarnOnce } from '../src/runner/warn-once.js';

const STEP = 15;

function setup(): { entities: EntityTable; feeder: DetectorFeeder } {
  const factory = defaultDetectorFactory();
  const config = parseExporterConfig(
    `prometheus: { url: http://127.0.0.1:9 }
groups:
  - name: services
    groupBy: [service]
    features: { cpu: 'sum by (service) (cpu)', errors: 'sum by (service) (errors)' }
    schedule: { interval: 15s, step: 15s, trainWindow: 1h }
`,
    'feeder.yml',
    factory,
  );
  const group = config.groups[0];
  if (!group) throw new Error('no group');
  const logger = pino({ level: 'silent' });
  const detectorOptions = { ...factory.defaults, warmup: 20, trainWindow: 240, retrainEvery: 240 };
  const entities = new EntityTable({
    config: group, featureNames: ['cpu', 'errors'], factory, detectorOptions, shard: { index: 0, count: 1 }, logger, warnings: new WarnOnce(logger),
  });
  const feeder = new DetectorFeeder({ group: 'services', featureCount: 2, entities, schedule: detectorOptions });
  return { entities, feeder };
}

/** A range read of `rows` steps from `from`; `value(r, f)` gives each value (NaN = none). */
function rangeRead(from: number, rows: number, buffers: Record<string, (r: number, f: number) => number>): RangeRead {
  const map = new Map<string, RangeBuffer>();
  for (const [service, value] of Object.entries(buffers)) {
    const values = new Float64Array(rows * 2);
    let lastPresentRow = -1;
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < 2; f++) {
        values[r * 2 + f] = value(r, f);
        if (!Number.isNaN(values[r * 2 + f] as number)) lastPresentRow = r;
      }
    }
    map.set(JSON.stringify([service]), { metric: { service }, values, lastPresentRow });
  }
  return { from, to: from + (rows - 1) * STEP, step: STEP, rowCount: rows, buffers: map, series: { read: map.size, owned: map.size, pushedDown: 0 }, unobservedValues: 0 };
}

describe('runner feeder (real detector, no Prometheus)', () => {
  it('feeds each new entity the rows with a value after its stagger, later only the rows after its last sample, and dates the verdict by the last row fed', async () => {
    const { entities, feeder } = setup();
    const from = 1_700_000_000;
    // checkout: rows 10..14 without any value, and its data ends 5 rows before the read's end (row 40 on).
    const checkoutHas = (r: number): boolean => r < 40 && (r < 10 || r >= 15);
    const read = rangeRead(from, 45, {
      checkout: (r, f) => (checkoutHas(r) ? 1 + f + (r % 7) / 10 : Number.NaN),
      search: (r, f) => 2 + f + (r % 5) / 10,
    });
    const now = read.to + 3;
    await feeder.feedRange(read, now, true);
    expect(read.buffers.size).toBe(0);
    const checkout = entities.records.get(JSON.stringify(['checkout']));
    const search = entities.records.get(JSON.stringify(['search']));
    // A new entity skips its stagger's first steps (retrainEvery 240, at most complete rows - warmup 20), then is fed
    // the rows that have a value.
    const skip = { checkout: staggerOffset(JSON.stringify(['checkout']), 240, 35 - 20), search: staggerOffset(JSON.stringify(['search']), 240, 45 - 20) };
    expect(skip.checkout + skip.search).toBeGreaterThan(0);
    const fed = { checkout: Array.from({ length: 45 }, (_, r) => r).filter((r) => r >= skip.checkout && checkoutHas(r)).length, search: 45 - skip.search };
    expect(checkout?.detector.samplesSeen).toBe(fed.checkout);
    expect(checkout?.lastTimestamp).toBe(from + 39 * STEP);
    expect(checkout?.freshAt).toBe(now - 5 * STEP);
    expect(checkout?.lastSeenAt).toBe(now - 5 * STEP);
    expect(search?.detector.samplesSeen).toBe(fed.search);
    expect(search?.freshAt).toBe(now);

    // A catch-up read overlapping the first: only the rows after each entity's last sample are fed.
    const again = rangeRead(from + 30 * STEP, 20, { checkout: (r, f) => 1 + f + r / 10, search: (r, f) => 2 + f + r / 10 });
    await feeder.feedRange(again, again.to, false);
    expect(checkout?.detector.samplesSeen).toBe(fed.checkout + 10);
    expect(search?.detector.samplesSeen).toBe(fed.search + 5);
    expect(entities.records.get(JSON.stringify(['checkout']))).toBe(checkout);
  });

  it('does not feed an instant row none of whose values Prometheus observed: the entity stays seen, its verdict does not advance', async () => {
    const { entities, feeder } = setup();
    const at = 1_700_000_000;
    const read = (values: number[], masked: number[]): InstantRead => ({
      keys: [JSON.stringify(['checkout']), JSON.stringify(['search'])],
      metrics: [{ service: 'checkout' }, { service: 'search' }],
      values: Float64Array.from(values),
      masked: Uint8Array.from(masked),
    });
    feeder.feedInstant(read([1, 2, 3, 4], [0, 0]), at, at + 1);
    const checkout = entities.records.get(JSON.stringify(['checkout']));
    const search = entities.records.get(JSON.stringify(['search']));
    expect(checkout?.detector.samplesSeen).toBe(1);
    expect(checkout?.freshAt).toBe(at + 1);

    // checkout's values were not observed (masked to NaN by the reader); search has one observed value left.
    feeder.feedInstant(read([Number.NaN, Number.NaN, Number.NaN, 4], [1, 1]), at + STEP, at + STEP + 1);
    expect(checkout?.detector.samplesSeen).toBe(1);
    expect(checkout?.lastTimestamp).toBe(at);
    expect(checkout?.freshAt).toBe(at + 1);
    expect(checkout?.lastSeenAt).toBe(at + STEP + 1);
    expect(search?.detector.samplesSeen).toBe(2);
    expect(search?.lastTimestamp).toBe(at + STEP);
    expect(search?.freshAt).toBe(at + STEP + 1);
  });
});
