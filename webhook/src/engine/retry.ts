// The retry stage, the one place an actuator call is tried again: a call that answers `retry` (a transient
// failure: network error, 5xx) is repeated with exponential backoff, as often as the actuator's retry policy
// allows. Actuators without a policy are called once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionCall } from '../actuators/calls.js';
import type { ActionRequest, ActionResult, Actuator } from '../actuators/types.js';

export async function executeWithRetry<C extends ActionCall>(actuator: Actuator<C>, req: ActionRequest<C>): Promise<ActionResult> {
  const attempts = (actuator.retry?.retries ?? 0) + 1;
  const backoff = actuator.retry?.backoff ?? 0;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1 && req.signal.aborted) return { outcome: 'failed', reason: 'aborted' }; // stopped during the backoff
    const result = await actuator.execute({ ...req, attempt });
    if (result.outcome !== 'failed' || !result.retry) return result;
    if (attempt >= attempts) return { outcome: 'failed', reason: `${result.reason} (after ${attempts} attempt${attempts > 1 ? 's' : ''})` };
    await sleep(backoff * 1000 * 2 ** (attempt - 1), undefined, { signal: req.signal }).catch(() => undefined);
  }
}
