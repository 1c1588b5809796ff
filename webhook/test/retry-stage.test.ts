// The engine's retry stage (engine/retry.ts), the one place an actuator call is tried again, with an actuator
// that counts its calls (the HTTP actuator against a real server is in http-actuator.test.ts).
import { describe, expect, it } from 'vitest';
import type { ActionCall } from '../src/actuators/calls.js';
import type { ActionRequest, ActionResult, Actuator, RetryPolicy } from '../src/actuators/types.js';
import { executeWithRetry } from '../src/engine/retry.js';
import { templateVars } from '../src/policy/policy.js';

class CountingActuator implements Actuator {
  readonly type = 'counting';
  readonly attempts: (number | undefined)[] = [];
  constructor(private readonly answers: ActionResult[], readonly retry?: RetryPolicy) {}
  execute(req: ActionRequest): Promise<ActionResult> {
    this.attempts.push(req.attempt);
    return Promise.resolve(this.answers[Math.min(this.attempts.length - 1, this.answers.length - 1)] ?? { outcome: 'failed', reason: 'no answer' });
  }
  describe(): string {
    return 'count';
  }
}

const request = (signal = new AbortController().signal): ActionRequest<ActionCall> => ({
  action: 'restart', params: {}, targetName: 't', target: { actuator: 'c' }, signal,
  vars: templateVars({ labels: {}, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []),
});

const transient: ActionResult = { outcome: 'failed', reason: 'POST /x answered 503: busy', retry: true };

describe('retry stage', () => {
  it('an actuator without a retry policy is called once, even when it answers retry', async () => {
    const a = new CountingActuator([transient]);
    expect(await executeWithRetry(a, request())).toEqual({ outcome: 'failed', reason: 'POST /x answered 503: busy (after 1 attempt)' });
    expect(a.attempts).toEqual([1]);
  });

  it('retries a transient failure as often as the policy allows, numbering the attempts, then says how many there were', async () => {
    const a = new CountingActuator([transient], { retries: 2, backoff: 0.001 });
    expect(await executeWithRetry(a, request())).toEqual({ outcome: 'failed', reason: 'POST /x answered 503: busy (after 3 attempts)' });
    expect(a.attempts).toEqual([1, 2, 3]);
  });

  it('waits the policy\'s backoff, doubling, between attempts (injected sleep: the waits are recorded, not made)', async () => {
    const a = new CountingActuator([transient], { retries: 3, backoff: 60 });
    const waits: number[] = [];
    const result = await executeWithRetry(a, request(), async (ms) => { waits.push(ms); });
    expect(result).toEqual({ outcome: 'failed', reason: 'POST /x answered 503: busy (after 4 attempts)' });
    expect(waits).toEqual([60_000, 120_000, 240_000]);
    expect(a.attempts).toEqual([1, 2, 3, 4]);
  });

  it('stops at the first answer that is not a transient failure: success, refusal, or a failure not worth repeating', async () => {
    for (const last of [
      { outcome: 'succeeded', reason: 'done', detail: { attempt: 2 } },
      { outcome: 'skipped', reason: 'at max replicas' },
      { outcome: 'failed', reason: 'answered 404' },
    ] satisfies ActionResult[]) {
      const a = new CountingActuator([transient, last, transient], { retries: 5, backoff: 0.001 });
      expect(await executeWithRetry(a, request())).toEqual(last);
      expect(a.attempts).toEqual([1, 2]);
    }
  });

  it('a stop during the backoff ends the retries: aborted, no further call', async () => {
    const stop = new AbortController();
    const a = new CountingActuator([transient], { retries: 3, backoff: 60 });
    const result = executeWithRetry(a, request(stop.signal));
    await new Promise((r) => setImmediate(r));
    stop.abort();
    expect(await result).toEqual({ outcome: 'failed', reason: 'aborted' });
    expect(a.attempts).toEqual([1]);
  });
});
