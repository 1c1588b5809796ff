// When a Prometheus call that failed for a passing reason (no answer, 5xx, Prometheus busy) is tried again.
// A policy is a plain function so each caller injects its own (a backoff, a fixed count; tests: no delay).

/** The delay in ms before trying again after failed attempt number `attempt` (1-based), or undefined: give up. */
export type RetryPolicy = (attempt: number, error: Error) => number | undefined;

/** The default: a failed call fails at once (the demo and the tests poll anyway). */
export const NO_RETRY: RetryPolicy = () => undefined;
