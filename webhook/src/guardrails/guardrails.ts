// Guardrails: pause, cooldown per target, rate limits (per target and global), concurrency. The blast-radius
// guard is asynchronous (PromQL) and is checked by the engine just before these.
import { formatDuration } from '../util/duration.js';
import type { Config } from '../config/schema.js';
import type { ClaimRequest, GuardSnapshot } from '../store/types.js';

export interface GuardInput {
  incidentId: number;
  target: string;
  cooldownSeconds: number;
  now: number;
}

/** The instants the store counts executed actions from, one per configured window. */
export function guardWindows(cfg: Config['guardrails'], now: number): Pick<ClaimRequest, 'perTargetSince' | 'globalSince'> {
  return { perTargetSince: cfg.rateLimits.perTarget.map((l) => now - l.window), globalSince: cfg.rateLimits.global.map((l) => now - l.window) };
}

/**
 * Returns the reason the action must not run, or undefined when it may. Pure: the store reads the snapshot
 * and inserts the `started` row in one transaction around this call, so two incidents (or two replicas)
 * cannot both pass a limit of one.
 */
export function guardReason(cfg: Config['guardrails'], s: GuardSnapshot, g: GuardInput, localPause?: string): string | undefined {
  if (localPause) return `paused (${localPause})`;
  if (s.paused) return `paused (${s.paused})`;
  if (s.cooldownUntil !== undefined && s.cooldownUntil > g.now) return `cooldown: target "${g.target}" acted on recently; ${formatDuration(s.cooldownUntil - g.now)} left`;
  for (const [i, limit] of cfg.rateLimits.perTarget.entries()) {
    const n = s.perTarget[i] ?? 0;
    if (n >= limit.max) return `rate limit: ${n} actions on target "${g.target}" in the last ${formatDuration(limit.window)} (max ${limit.max})`;
  }
  for (const [i, limit] of cfg.rateLimits.global.entries()) {
    const n = s.global[i] ?? 0;
    if (n >= limit.max) return `global rate limit: ${n} actions in the last ${formatDuration(limit.window)} (max ${limit.max})`;
  }
  if (s.inFlight >= cfg.maxConcurrent) return `max concurrent actions reached (${s.inFlight} of ${cfg.maxConcurrent} in flight)`;
  return undefined;
}
