// The types of the HTTP interface's answers, below the runner that produces them (the runner imports them,
// the HTTP layer never imports the runner).
import type { EntityState } from '../metrics/registry.js';
import type { Labels } from '../source/types.js';

/** What /api/v1/entities returns per entity. */
export interface EntityReport {
  group: string;
  entity: Labels;
  state: EntityState;
  anomalyScore: number | null;
  healthScore: number | null;
  topFeature: string | null;
  featureScores: Record<string, number> | null;
  /** Seconds since the entity's data was last fresh (null before its first data). */
  scoreAgeSeconds: number | null;
  /** Whether the scores are currently published (ready and younger than maxScoreAge). */
  published: boolean;
  modelTrainedAt: string | null;
  modelAgeSeconds: number | null;
  trainingSamples: number;
  samplesSeen: number;
}
