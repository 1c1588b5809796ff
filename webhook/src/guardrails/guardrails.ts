// Guardrails: pause, cooldown per target, rate limits (per target and global), concurrency. The blast-radius
// guard is asynchronous (PromQL) and is checked by the engine just before these.
import { roughDuration } from '@selfheal/contracts';
import type { Config } from '../config/schema.js';
import type { ClaimRequest, GuardSnapshot, GuardVerdict } from '../audit/types.js';

/** `liftsAt` of a limit that never lifts (`max: 0`): the action is skipped, not deferred. */
export const NEVER = Number.POSITIVE_INFINITY;

export interface GuardInput {
  incidentId: number;
  target: string;
  cooldownSeconds: number;
  now: number;
}

/** The instants the store counts executed actions from, one per configured window, and their limits. */
export function guardWindows(cfg: Config['guardrails'], now: number): Pick<ClaimRequest, 'perTargetSince' | 'globalSince' | 'perTargetMax' | 'globalMax'> {
  return {
    perTargetSince: cfg.rateLimits.perTarget.map((l) => now - l.window),
    globalSince: cfg.rateLimits.global.map((l) => now - l.window),
    perTargetMax: cfg.rateLimits.perTarget.map((l) => l.max),
    globalMax: cfg.rateLimits.global.map((l) => l.max),
  };
}

/**
 * Returns why the action must not run (which guardrail, and when it lifts if it lifts by itself), or undefined
 * when it may. Pure: the store reads the snapshot and inserts the `started` row in one transaction around this
 * call, so two incidents (or two replicas) cannot both pass a limit of one.
 */
export function guardReason(cfg: Config['guardrails'], s: GuardSnapshot, g: GuardInput, localPause?: string): GuardVerdict | undefined {
  if (localPause) return { guardrail: 'paused', reason: `paused (${localPause})` };
  if (s.paused) return { guardrail: 'paused', reason: `paused (${s.paused})` };
  if (s.cooldownUntil !== undefined && s.cooldownUntil > g.now) {
    return { guardrail: 'cooldown', reason: `cooldown: target "${g.target}" acted on recently; ${roughDuration(s.cooldownUntil - g.now)} left`, liftsAt: s.cooldownUntil };
  }
  for (const [i, limit] of cfg.rateLimits.perTarget.entries()) {
    const n = s.perTarget[i] ?? 0;
    if (n >= limit.max) {
      return { guardrail: 'rate_limit', reason: `rate limit: ${n} actions on target "${g.target}" in the last ${roughDuration(limit.window)} (max ${limit.max})`, liftsAt: limit.max > 0 ? s.perTargetLiftsAt[i] : NEVER };
    }
  }
  for (const [i, limit] of cfg.rateLimits.global.entries()) {
    const n = s.global[i] ?? 0;
    if (n >= limit.max) {
      return { guardrail: 'global_rate_limit', reason: `global rate limit: ${n} actions in the last ${roughDuration(limit.window)} (max ${limit.max})`, liftsAt: limit.max > 0 ? s.globalLiftsAt[i] : NEVER };
    }
  }
  if (s.inFlight >= cfg.maxConcurrent) return { guardrail: 'max_concurrent', reason: `max concurrent actions reached (${s.inFlight} of ${cfg.maxConcurrent} in flight)` };
  return undefined;
}
