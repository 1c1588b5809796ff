// Whether and how a Prometheus call that failed for a passing reason (no answer, 5xx, Prometheus busy) is tried
// again is the caller's: it injects a policy that runs the attempts. The signature is that of the contracts'
// retry with backoff (`(attempt, options) => retryWithBackoff(attempt, { ...options, retries, backoffSeconds })`),
// so the loop is written once; the client itself only says which failures are worth another attempt.

/** Runs `attempt(0)`, and further attempts while it fails with an error `retryable` accepts; the last failure is thrown. */
export type RetryPolicy = <T>(attempt: (n: number) => Promise<T>, options: { retryable: (error: unknown) => boolean }) => Promise<T>;

/** The default: one attempt (the demo and the tests poll anyway). */
export const NO_RETRY: RetryPolicy = (attempt) => attempt(0);
