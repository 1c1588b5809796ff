// The healing service's metrics are the families declared in @selfheal/contracts: same names, help, types and labels.
import { HEALING_FAMILIES, expositionType } from '@selfheal/contracts';
import { describe, expect, it } from 'vitest';
import { HealingMetrics } from '../src/metrics.js';

describe('healing service metrics', () => {
  it('exposes every declared healing family with its declared help, type and labels, and no undeclared selfheal_* one', async () => {
    const metrics = new HealingMetrics(undefined, { defaultMetrics: false });
    metrics.recordOutcome('shop', 'restart', 'succeeded', 1_700_000_000);
    metrics.recovery.observe({ service: 'shop' }, 90);
    metrics.actionDuration.observe({ action: 'restart' }, 0.2);
    const declared = Object.values(HEALING_FAMILIES);
    const exported = await metrics.registry.getMetricsAsJSON();
    expect(exported.map((m) => m.name).sort()).toEqual(declared.map((f) => f.name).sort());
    for (const family of declared) {
      const metric = exported.find((m) => m.name === family.name);
      expect(metric?.help, family.name).toBe(family.help);
      expect(metric?.type, family.name).toBe(expositionType(family));
      for (const value of metric?.values ?? []) {
        const labels = Object.keys(value.labels).filter((label) => label !== 'le');
        expect(labels.sort(), family.name).toEqual([...family.labels].sort());
      }
    }
    const text = await metrics.registry.metrics();
    expect(text).toContain('selfheal_healing_recovery_seconds_bucket{le="120",service="shop"} 1');
    expect(text).toContain('selfheal_healing_actions_total{service="shop",action="restart",outcome="succeeded"} 1');
  });
});
