// The engine's clock: the time it decides with (cooldowns, rate windows, deferrals, verification deadlines) and
// the waits it makes on it. Injectable, so a test moves time forward instead of sleeping through a cooldown.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  /** Seconds since the epoch. */
  now(): number;
  /** Resolves at `at` (seconds since the epoch), or at once when `signal` aborts. Never rejects. */
  sleepUntil(at: number, signal: AbortSignal): Promise<void>;
}

/** Node's wall clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now() / 1000,
  sleepUntil: (at, signal) => sleep(Math.max(0, at * 1000 - Date.now()), undefined, { signal }).catch(() => undefined),
};
