// Guardrails checked right before an action starts, against the durable store (so they survive restarts):
// pause, per-target cooldown, rate limits over several windows (per target and global), max concurrency.
// The blast-radius precondition is asynchronous (PromQL) and is checked by the engine just before these.
import { formatDuration } from '../util/duration.js';
import type { Config } from '../config/schema.js';
import type { HealingStore } from '../store/store.js';
import type { PauseSwitch } from './pause.js';

export interface GuardInput {
  incidentId: number;
  target: string;
  cooldownSeconds: number;
  now: number;
}

/** Returns the reason the action must not run, or undefined when it may. Synchronous by design: the caller
 * inserts the `started` row in the same tick, so two incidents cannot both pass a limit of one. */
export function guardReason(cfg: Config['guardrails'], store: HealingStore, pause: PauseSwitch, g: GuardInput): string | undefined {
  const p = pause.state();
  if (p.paused) return `paused (${p.reason ?? p.source ?? 'pause switch on'})`;
  const until = store.cooldownUntil(g.target, g.incidentId, g.now);
  if (until !== undefined && until > g.now) return `cooldown: target "${g.target}" acted on recently; ${formatDuration(until - g.now)} left`;
  for (const limit of cfg.rateLimits.perTarget) {
    const n = store.countActionsOnTarget(g.target, g.now - limit.window);
    if (n >= limit.max) return `rate limit: ${n} actions on target "${g.target}" in the last ${formatDuration(limit.window)} (max ${limit.max})`;
  }
  for (const limit of cfg.rateLimits.global) {
    const n = store.countActions(g.now - limit.window);
    if (n >= limit.max) return `global rate limit: ${n} actions in the last ${formatDuration(limit.window)} (max ${limit.max})`;
  }
  const inFlight = store.inFlight();
  if (inFlight >= cfg.maxConcurrent) return `max concurrent actions reached (${inFlight} of ${cfg.maxConcurrent} in flight)`;
  return undefined;
}
