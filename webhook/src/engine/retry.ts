// The retry stage, the one place an actuator call is tried again: a call that answers `retry` (a transient
// failure: network error, 5xx) is repeated with exponential backoff (the contracts' backoffDelay), as often as
// the actuator's retry policy allows. Actuators without a policy are called once.
import { backoffDelay, timerSleep, type RetryOptions } from '@selfheal/contracts';
import type { ActionCall } from '../actuators/calls.js';
import type { ActionRequest, ActionResult, Actuator } from '../actuators/types.js';

/** Waits `ms`, resolving early (without throwing) when `signal` aborts. */
export type RetrySleep = NonNullable<RetryOptions['sleep']>;

/** `sleep`: the wait between attempts (tests inject one that records the waits instead of making them). */
export async function executeWithRetry<C extends ActionCall>(actuator: Actuator<C>, req: ActionRequest<C>, sleep: RetrySleep = timerSleep): Promise<ActionResult> {
  const retries = actuator.retry?.retries ?? 0;
  const backoff = { retries, backoffSeconds: actuator.retry?.backoff ?? 0 };
  const attempts = retries + 1;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1 && req.signal.aborted) return { outcome: 'failed', reason: 'aborted' }; // stopped during the backoff
    const result = await actuator.execute({ ...req, attempt });
    if (result.outcome !== 'failed' || !result.retry) return result;
    if (attempt >= attempts) return { outcome: 'failed', reason: `${result.reason} (after ${attempts} attempt${attempts > 1 ? 's' : ''})` };
    await sleep(backoffDelay(attempt - 1, backoff), req.signal);
  }
}
