// Rows of history a new detector skips so that the detectors of a group, trained from the same history, do not
// all retrain on the same cycle (which would turn one scoring cycle in `retrainEvery` into a training storm).
import type { DetectorScheduleSettings } from '../detector/factory.js';

/**
 * A per-entity offset in [0, retrainEvery), stable for the entity, but never so large that fewer than `warmup`
 * complete rows remain (the entity would otherwise stay warming although its history is long enough to train on).
 */
export function staggerRows(
  key: string,
  completeRows: number,
  schedule: Pick<DetectorScheduleSettings, 'warmup' | 'retrainEvery'>,
): number {
  return staggerOffset(key, schedule.retrainEvery, completeRows - schedule.warmup);
}

/**
 * A per-entity offset in [0, every) from an FNV-1a hash of its key, folded into [0, maxSkip] when larger
 * (0 when maxSkip < 0): see staggerRows.
 */
export function staggerOffset(key: string, every: number, maxSkip: number): number {
  if (every <= 1 || maxSkip <= 0) return 0;
  let hash = 2166136261;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  const offset = (hash >>> 0) % every;
  return offset <= maxSkip ? offset : offset % (maxSkip + 1);
}

/** Rows (of `featureCount` values, row-major) where every feature has a value. */
export function completeRows(values: Float64Array, featureCount: number): number {
  let complete = 0;
  for (let r = 0; r + featureCount <= values.length; r += featureCount) {
    let all = true;
    for (let f = 0; f < featureCount; f++) if (Number.isNaN(values[r + f] as number)) all = false;
    if (all) complete++;
  }
  return complete;
}
