// What a group shows of its entities: the snapshot the metrics read at scrape time and the entities' reports of
// /api/v1/entities. A score is published only while ready and younger than the schedule's maxScoreAge.
import type { GroupConfig } from '../config/schema.js';
import type { EntitySnapshot, EntityState, GroupSnapshot } from '../metrics/registry.js';
import type { EntityReport } from '../http/types.js';
import type { EntityRecord } from './entities.js';

type Schedule = GroupConfig['schedule'];

export function stateOf(record: EntityRecord, schedule: Schedule, now: number): EntityState {
  if (now - record.freshAt > 2 * schedule.interval + 1) return 'stale';
  return record.detector.state === 'ready' && record.verdict?.ready ? 'ready' : 'warming';
}

export function publishable(record: EntityRecord, schedule: Schedule, now: number): boolean {
  return Boolean(record.verdict?.ready) && now - record.freshAt <= schedule.maxScoreAge;
}

function* entitySnapshots(records: Iterable<EntityRecord>, schedule: Schedule, now: number): Generator<EntitySnapshot> {
  for (const record of records) {
    const verdict = record.verdict;
    yield {
      labels: record.labels,
      state: stateOf(record, schedule, now),
      scores: verdict && publishable(record, schedule, now) ? verdict : undefined,
      values: record.values,
      trainedAt: record.detector.trainedAt,
      trainingSamples: record.detector.trainingSamples,
    };
  }
}

/** The view the metrics read at scrape time (re-iterable: each metric walks it once). */
export function groupSnapshot(config: GroupConfig, featureNames: readonly string[], records: ReadonlyMap<string, EntityRecord>, now: number): GroupSnapshot {
  return {
    group: config.name,
    featureNames,
    entities: { [Symbol.iterator]: () => entitySnapshots(records.values(), config.schedule, now) },
  };
}

export function entityReports(config: GroupConfig, featureNames: readonly string[], records: ReadonlyMap<string, EntityRecord>, now: number): EntityReport[] {
  const { schedule } = config;
  return [...records.values()].map((record) => {
    const verdict = record.verdict;
    const trainedAt = record.detector.trainedAt;
    const top = verdict && verdict.topFeature >= 0 ? (featureNames[verdict.topFeature] ?? null) : null;
    return {
      group: config.name,
      entity: record.labels,
      state: stateOf(record, schedule, now),
      anomalyScore: verdict?.ready ? verdict.anomalyScore : null,
      healthScore: verdict?.ready ? verdict.healthScore : null,
      topFeature: verdict?.ready ? top : null,
      featureScores: verdict?.ready ? Object.fromEntries(featureNames.map((name, i) => [name, verdict.featureScores[i] ?? 0])) : null,
      scoreAgeSeconds: Number.isFinite(record.freshAt) ? Math.max(0, now - record.freshAt) : null,
      published: publishable(record, schedule, now),
      modelTrainedAt: trainedAt !== undefined ? new Date(trainedAt * 1000).toISOString() : null,
      modelAgeSeconds: trainedAt !== undefined ? Math.max(0, now - trainedAt) : null,
      trainingSamples: record.detector.trainingSamples,
      samplesSeen: record.detector.samplesSeen,
    };
  });
}
