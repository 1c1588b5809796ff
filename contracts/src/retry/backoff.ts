// Retry with exponential backoff, written once: the exporter's Prometheus reads and the healing service's HTTP
// actuator. The clock is injected (sleep, random) so tests run without waiting.
import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  /** Attempts after the first one. */
  retries: number;
  /** Delay before the first retry, in seconds; it doubles for each further retry. */
  backoffSeconds: number;
  /** Spread each delay over 0.5x-1.5x of itself, so that many clients do not retry in step. Default false. */
  jitter?: boolean;
  /** The random source of the jitter, in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface RetryOptions extends BackoffOptions {
  /** Whether a failure is worth another attempt; default: every failure is. */
  retryable?: (error: unknown) => boolean;
  /** Waits `ms`; resolves early (without throwing) when `signal` aborts. Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** No further attempt once aborted: the last failure is thrown. */
  signal?: AbortSignal;
}

/** Milliseconds to wait after failed attempt `attempt` (0 = the first attempt) before the next one. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const base = options.backoffSeconds * 1000 * 2 ** attempt;
  return options.jitter ? base * (0.5 + (options.random ?? Math.random)()) : base;
}

export const timerSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/**
 * Runs `attempt(n)` (n = 0, 1, ...) until it resolves, a failure is not retryable, the retries are used up or
 * `signal` aborts; then throws the last failure.
 */
export async function retryWithBackoff<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? timerSleep;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const retryable = options.retryable?.(error) ?? true;
      if (!retryable || n >= options.retries || options.signal?.aborted) throw error;
      await sleep(backoffDelay(n, options), options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
