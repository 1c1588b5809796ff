// The read of a scoring cycle: one instant query per feature at the evaluation time, for all entities at once,
// copied into one row per entity; the values Prometheus did not observe are marked missing (unobserved.ts).
import type { GroupConfig } from '../config/schema.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import type { PrometheusClient } from '../source/client.js';
import type { InstantSample, Labels } from '../source/types.js';
import { entityKey, noteDuplicate, type EntityTable } from './entities.js';
import type { WarnOnce } from './warn-once.js';
import type { UnobservedValues } from './unobserved.js';

/**
 * One row per entity in slots of flat arrays (no object and typed array per entity per cycle: at 10,000 entities
 * that churn grew the heap by tens of MiB over a few cycles).
 */
export interface InstantRead {
  /** Per slot: the entity's key and the labels of its first series. */
  readonly keys: readonly string[];
  readonly metrics: readonly Labels[];
  /** Slots × features, row-major, NaN = no value. */
  readonly values: Float64Array;
  /** Per slot: 1 when a value of it was marked as not observed. */
  readonly masked: Uint8Array;
}

export interface InstantReader {
  /** Reads every feature at `at` (s). */
  read(at: number): Promise<InstantRead>;
}

export interface PrometheusInstantReaderOptions {
  readonly config: GroupConfig;
  readonly featureNames: readonly string[];
  readonly client: PrometheusClient;
  readonly entities: EntityTable;
  readonly unobserved: UnobservedValues;
  readonly metrics: ExporterMetrics;
  readonly warnings: WarnOnce;
}

export class PrometheusInstantReader implements InstantReader {
  constructor(private readonly options: PrometheusInstantReaderOptions) {}

  async read(at: number): Promise<InstantRead> {
    const { config, featureNames, client, unobserved } = this.options;
    const [results, notObserved]: [InstantSample[][], InstantSample[]] = await Promise.all([
      Promise.all(featureNames.map((feature) => client.query(config.features[feature] ?? '', at))),
      unobserved.at(at),
    ]);
    const read = this.slots(results);
    this.mask(read, notObserved);
    return read;
  }

  /** The answers per feature as one slot per entity this shard owns (the first series of each). */
  private slots(results: readonly InstantSample[][]): InstantRead & { readonly slotOf: ReadonlyMap<string, number> } {
    const { config, featureNames, entities, warnings } = this.options;
    const featureCount = featureNames.length;
    const slotOf = new Map<string, number>();
    const metrics: Labels[] = [];
    const keys: string[] = [];
    const values = new Float64Array(results.reduce((sum, samples) => sum + samples.length, 0) * featureCount).fill(Number.NaN);
    results.forEach((samples, f) => {
      const seen = new Set<string>();
      for (const sample of samples) {
        const key = entityKey(config.groupBy, sample.metric);
        if (!entities.owns(key, sample.metric)) continue;
        if (seen.has(key)) {
          noteDuplicate(warnings, config.groupBy, featureNames[f] ?? '', sample.metric);
          continue;
        }
        seen.add(key);
        let slot = slotOf.get(key);
        if (slot === undefined) {
          slot = metrics.length;
          slotOf.set(key, slot);
          metrics.push(sample.metric);
          keys.push(key);
        }
        values[slot * featureCount + f] = sample.value;
      }
    });
    return { keys, metrics, values, masked: new Uint8Array(metrics.length), slotOf };
  }

  /** Values Prometheus did not observe (its lookback repeating an old sample) become missing. */
  private mask(read: InstantRead & { readonly slotOf: ReadonlyMap<string, number> }, notObserved: readonly InstantSample[]): void {
    const { config, featureNames, unobserved, metrics } = this.options;
    const featureCount = featureNames.length;
    const { values, masked } = read;
    let maskedValues = 0;
    const mask = (slot: number, features: readonly number[]): void => {
      for (const f of features) {
        const at = slot * featureCount + f;
        if (Number.isNaN(values[at] as number)) continue;
        values[at] = Number.NaN;
        masked[slot] = 1;
        maskedValues++;
      }
    };
    for (const sample of notObserved) {
      const target = unobserved.target(sample.metric);
      if (!target) continue;
      if (target.key === undefined) {
        for (let slot = 0; slot < read.keys.length; slot++) mask(slot, target.features);
      } else {
        const slot = read.slotOf.get(target.key);
        if (slot !== undefined) mask(slot, target.features);
      }
    }
    if (maskedValues > 0) metrics.unobservedValues.inc({ group: config.name }, maskedValues);
  }
}
