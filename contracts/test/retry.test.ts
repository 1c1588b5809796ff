import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from '../src/retry/backoff.js';

/** An injected sleep that records the delays and returns at once. */
function fakeSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => { delays.push(ms); } };
}

describe('retryWithBackoff', () => {
  it('retries with doubling delays until an attempt succeeds', async () => {
    const { delays, sleep } = fakeSleep();
    const seen: number[] = [];
    const value = await retryWithBackoff(async (n) => {
      seen.push(n);
      if (n < 2) throw new Error(`fail ${n}`);
      return 'ok';
    }, { retries: 5, backoffSeconds: 0.25, sleep });
    expect(value).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
    expect(delays).toEqual([250, 500]);
  });

  it('throws the last failure once the retries are used up', async () => {
    const { delays, sleep } = fakeSleep();
    let n = 0;
    await expect(retryWithBackoff(async () => { throw new Error(`fail ${n++}`); }, { retries: 2, backoffSeconds: 1, sleep })).rejects.toThrow('fail 2');
    expect(delays).toEqual([1000, 2000]);
  });

  it('does not retry a failure that is not retryable', async () => {
    const { delays, sleep } = fakeSleep();
    let attempts = 0;
    await expect(retryWithBackoff(async () => { attempts++; throw new Error('400'); }, { retries: 3, backoffSeconds: 1, sleep, retryable: () => false })).rejects.toThrow('400');
    expect(attempts).toBe(1);
    expect(delays).toEqual([]);
  });

  it('stops when the signal aborts during the wait', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const sleep = async () => { controller.abort(); };
    await expect(retryWithBackoff(async () => { attempts++; throw new Error('down'); }, { retries: 5, backoffSeconds: 1, sleep, signal: controller.signal })).rejects.toThrow('down');
    expect(attempts).toBe(1);
  });

  it('spreads delays over 0.5x-1.5x with jitter, from the injected random source', () => {
    expect(backoffDelay(0, { retries: 1, backoffSeconds: 1, jitter: true, random: () => 0 })).toBe(500);
    expect(backoffDelay(2, { retries: 3, backoffSeconds: 1, jitter: true, random: () => 0.999 })).toBeCloseTo(5996);
    expect(backoffDelay(3, { retries: 3, backoffSeconds: 0.5 })).toBe(4000);
  });
});
