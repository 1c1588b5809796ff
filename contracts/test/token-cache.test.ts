// The Entra token cache: one fetch per token life, refreshed before expiry, shared by concurrent requests.
import { describe, expect, it } from 'vitest';
import { TokenCache, type CachedToken } from '../src/prometheus/auth/token-cache.js';

function issuer(lifeMs: number, clock: { now: number }) {
  let n = 0;
  return async (): Promise<CachedToken> => ({ token: `t${++n}`, expiresOnTimestamp: clock.now + lifeMs });
}

describe('TokenCache', () => {
  it('keeps a token until 5 minutes before it expires, then fetches the next one', async () => {
    const clock = { now: 1_000_000 };
    const cache = new TokenCache(issuer(3600_000, clock), { now: () => clock.now });
    expect(await cache.get()).toBe('t1');
    clock.now += 54 * 60_000;
    expect(await cache.get()).toBe('t1');
    expect(cache.fetches).toBe(1);
    clock.now += 60_001; // 55 min and a bit: inside the 5-minute margin
    expect(await cache.get()).toBe('t2');
    expect(cache.fetches).toBe(2);
  });

  it('a short-lived token is refreshed at half its life; refreshAfterTimestamp wins when earlier', async () => {
    const clock = { now: 0 };
    const cache = new TokenCache(issuer(120_000, clock), { now: () => clock.now });
    await cache.get();
    clock.now = 59_000;
    expect(await cache.get()).toBe('t1');
    clock.now = 60_000;
    expect(await cache.get()).toBe('t2');
    let n = 0;
    const early = new TokenCache(async () => ({ token: `e${++n}`, expiresOnTimestamp: clock.now + 3600_000, refreshAfterTimestamp: clock.now + 1000 }), { now: () => clock.now });
    await early.get();
    clock.now += 1000;
    expect(await early.get()).toBe('e2');
  });

  it('concurrent requests at refresh time share one fetch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let n = 0;
    const cache = new TokenCache(async () => {
      await gate;
      return { token: `c${++n}`, expiresOnTimestamp: Date.now() + 3600_000 };
    });
    const all = Promise.all([cache.get(), cache.get(), cache.get()]);
    release();
    expect(await all).toEqual(['c1', 'c1', 'c1']);
    expect(cache.fetches).toBe(1);
  });

  it('a failed refresh keeps the still-valid token; once expired, the failure is reported', async () => {
    const clock = { now: 0 };
    let fail = false;
    const cache = new TokenCache(async () => {
      if (fail) throw new Error('token endpoint down');
      return { token: 'ok', expiresOnTimestamp: clock.now + 600_000 };
    }, { now: () => clock.now });
    await cache.get();
    fail = true;
    clock.now = 400_000; // past the refresh time (expiry - 5 min), before expiry
    expect(await cache.get()).toBe('ok');
    clock.now = 600_000;
    await expect(cache.get()).rejects.toThrow('token endpoint down');
  });
});
