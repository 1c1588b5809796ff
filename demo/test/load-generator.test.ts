import { describe, expect, it } from 'vitest';
import { poisson, rampFactor, startWorkload } from '../src/index.js';

describe('load shape', () => {
  const ramp = { at: 10, riseSeconds: 10, holdSeconds: 5, fallSeconds: 10, factor: 2 };
  it('ramps linearly up, holds, and comes back down', () => {
    expect(rampFactor([ramp], 0)).toBe(1);
    expect(rampFactor([ramp], 15)).toBeCloseTo(1.5);
    expect(rampFactor([ramp], 22)).toBe(2);
    expect(rampFactor([ramp], 30)).toBeCloseTo(1.5);
    expect(rampFactor([ramp], 60)).toBe(1);
  });

  it('draws Poisson counts with the requested mean', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const mean of [0.5, 3, 50]) {
      let sum = 0;
      for (let i = 0; i < 4000; i++) sum += poisson(mean, random);
      expect(sum / 4000).toBeCloseTo(mean, mean < 1 ? 1 : 0);
    }
    expect(poisson(0)).toBe(0);
  });
});

describe('load generator', () => {
  it('sends varied load through the load balancer and stops by itself', async () => {
    const w = await startWorkload({
      services: [{ name: 'web', dependency: 'db', replicas: 1, maxReplicas: 1, rps: 40, cpuMsPerRequest: 0 }],
    });
    try {
      const load = w.startLoad(1500);
      expect(load.running).toBe(true);
      await new Promise((r) => setTimeout(r, 2000));
      expect(load.running).toBe(false);
      const sent = load.stats.sent;
      expect(sent).toBeGreaterThan(20);
      expect(sent).toBeLessThan(150);
      await new Promise((r) => setTimeout(r, 300));
      expect(load.stats.sent).toBe(sent);
      expect(load.stats.ok).toBe(sent);
    } finally {
      await w.stop();
    }
  });
});
