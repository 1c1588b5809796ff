import { type DataFrame, FieldType } from '@grafana/data';
import { OUTCOMES } from '@selfheal/contracts/actions';
import { describe, expect, it } from 'vitest';

import { buildFrames, demoScenario } from '../../test/fixtures/scenario';
import { DEFAULT_OPTIONS } from '../types';
import { shapeData } from './shape';

const FROM = Date.UTC(2026, 10, 23, 12, 0, 0);
const W = { from: FROM, to: FROM + 6 * 3600_000, stepMs: 15_000 };

describe('shapeData on Prometheus-shaped frames', () => {
  const frames = buildFrames(demoScenario(), W);
  const shaped = shapeData(frames, DEFAULT_OPTIONS, W);
  const svc = (name: string) => shaped.services.find((s) => s.service === name)!;

  it('finds every service, all roles, and orders them worst first', () => {
    expect(shaped.missing).toEqual([]);
    expect(shaped.services.map((s) => s.service).sort()).toEqual(['cart', 'catalog', 'checkout', 'inventory', 'payments', 'search']);
    // payments is anomalous at the end of the range: lowest health, first.
    expect(shaped.services[0]!.service).toBe('payments');
    const healths = shaped.services.map((s) => s.currentHealth!);
    expect([...healths].sort((a, b) => a - b)).toEqual(healths);
  });

  it('shades each incident as one anomaly period with its feature and peak', () => {
    const checkout = svc('checkout');
    expect(checkout.spans).toHaveLength(2);
    expect(checkout.spans[0]!.feature).toBe('latency_p99');
    expect(checkout.spans[0]!.start).toBeGreaterThanOrEqual(FROM + 70 * 60_000);
    expect(checkout.spans[0]!.end).toBeLessThanOrEqual(FROM + 80 * 60_000);
    expect(checkout.spans[1]!.peakScore).toBeCloseTo(3.6, 1);
    expect(checkout.spans[1]!.attribution[0]!.feature).toBe('latency_p99');
    expect(svc('catalog').spans).toEqual([]);
    expect(svc('payments').spans.at(-1)!.open).toBe(true);
  });

  it('places every action with its outcome and the anomaly it answered', () => {
    const events = shaped.services.flatMap((s) => s.events).filter((e) => e.kind === 'action');
    expect(new Set(events.map((e) => e.outcome))).toEqual(new Set(OUTCOMES));
    expect(events).toHaveLength(19);
    expect(events.every((e) => !e.approximate && e.span !== undefined)).toBe(true);
    const [cacheFailed, scaleUp] = svc('checkout').events.filter((e) => e.kind === 'action').slice(1);
    expect(cacheFailed).toMatchObject({ action: 'enable_cache', outcome: 'failed' });
    expect(scaleUp).toMatchObject({ action: 'scale_up', outcome: 'succeeded' });
    expect(scaleUp!.recoveredAfterMs).toBeGreaterThan(0);
    expect(scaleUp!.recoveredAfterMs).toBeLessThan(10 * 60_000);
    const ongoing = svc('payments').events.at(-1)!;
    expect(ongoing.recoveredAfterMs).toBeUndefined();
  });

  it('falls back to the counter when there is no timestamp query', () => {
    const noGauge = frames.filter((f) => f.fields[1]!.labels?.__name__ !== 'selfheal_healing_last_action_timestamp_seconds');
    const s = shapeData(noGauge, DEFAULT_OPTIONS, W);
    expect(s.missing).toEqual(['lastAction']);
    const events = s.services.flatMap((x) => x.events);
    expect(events.filter((e) => e.kind === 'action')).toHaveLength(19);
    expect(events.every((e) => e.approximate)).toBe(true);
  });

  it('places reverts of fixes from their counter, apart from the actions, at the sample that counted them', () => {
    const reverts = shaped.services.flatMap((s) => s.events).filter((e) => e.kind === 'revert');
    expect(reverts.map((e) => [e.service, e.action, e.outcome, e.count, e.approximate]).sort()).toEqual([
      ['cart', 'scale_up', 'reapplied', 1, true],
      ['checkout', 'scale_up', 'reverted', 1, true],
    ]);
    const reverted = svc('checkout').events.find((e) => e.kind === 'revert')!;
    // Counted by the first sample after it (5.113 s after minute 290; samples every 15 s).
    expect(reverted.time).toBe(FROM + 290 * 60_000 + 15_000);
  });

  it('turns the demotions gauge into periods on the row of the target, open while still demoted', () => {
    expect(svc('checkout').demotions).toEqual([{ action: 'enable_cache', target: 'checkout', start: FROM + 252 * 60_000, end: FROM + 330 * 60_000 - 15_000, open: false }]);
    expect(svc('cart').demotions).toEqual([{ action: 'restart', target: 'cart', start: FROM + 325 * 60_000, end: W.to, open: true }]);
    expect(svc('payments').demotions).toEqual([]);
  });

  it('reads dataplane frames, where the metric name is the value field name instead of a label', () => {
    const dataplane: DataFrame[] = frames.map((f) => ({
      ...f,
      refId: 'X',
      fields: f.fields.map((x) => {
        if (!x.labels) {
          return x;
        }
        const { __name__: name, ...labels } = x.labels;
        return { ...x, name: name!, labels };
      }),
    }));
    const s = shapeData(dataplane, DEFAULT_OPTIONS, W);
    expect(s.missing).toEqual([]);
    expect(s.services.flatMap((x) => x.events)).toHaveLength(21);
    expect(s.services.flatMap((x) => x.demotions)).toHaveLength(2);
  });

  it('matches series by refId when the query aggregates the metric name away', () => {
    const renamed: DataFrame[] = frames
      .filter((f) => f.refId === 'A')
      .map((f) => ({ ...f, fields: f.fields.map((x) => ({ ...x, labels: x.labels ? { service: x.labels.service! } : undefined })) }));
    const s = shapeData(renamed, { ...DEFAULT_OPTIONS, healthQuery: 'A' }, W);
    expect(s.services).toHaveLength(6);
    expect(s.services.every((x) => x.currentHealth !== undefined)).toBe(true);
  });

  it('merges several groups scoring one service: worst health, highest score', () => {
    const t = [FROM, FROM + 15_000];
    const f = (name: string, group: string, values: number[]): DataFrame => ({
      length: 2,
      fields: [
        { name: 'Time', type: FieldType.time, config: {}, values: t },
        { name: 'Value', type: FieldType.number, config: {}, values, labels: { __name__: name, service: 'api', group } },
      ],
    });
    const s = shapeData(
      [f('selfheal_health_score', 'g1', [90, 80]), f('selfheal_health_score', 'g2', [70, 95]), f('selfheal_anomaly_score', 'g1', [0.2, 1.4]), f('selfheal_anomaly_score', 'g2', [1.2, 0.1])],
      DEFAULT_OPTIONS,
      { from: FROM, to: FROM + 60_000 }
    );
    expect(s.services[0]!.health!.values).toEqual([70, 80]);
    expect(s.services[0]!.anomaly!.values).toEqual([1.2, 1.4]);
    expect(s.services[0]!.spans[0]!.open).toBe(true);
  });

  it('reads string-typed numbers and ISO times, and skips NaN and null samples', () => {
    const t = [FROM, FROM + 15_000, FROM + 30_000, FROM + 45_000];
    const frame: DataFrame = {
      length: 4,
      fields: [
        { name: 'Time', type: FieldType.time, config: {}, values: t.map((x) => new Date(x).toISOString()) },
        { name: 'Value', type: FieldType.string, config: {}, values: ['0.5', '1.5', 'NaN', '0.2'], labels: { __name__: 'selfheal_anomaly_score', service: 'api' } },
      ],
    };
    const gauge: DataFrame = {
      length: 4,
      fields: [
        { name: 'Time', type: FieldType.time, config: {}, values: t },
        { name: 'Value', type: FieldType.number, config: {}, values: [null, NaN, (FROM + 20_000) / 1000, (FROM + 20_000) / 1000], labels: { __name__: 'selfheal_healing_last_action_timestamp_seconds', service: 'api', action: 'restart', outcome: 'succeeded' } },
      ],
    };
    const s = shapeData([frame, gauge], DEFAULT_OPTIONS, { from: FROM, to: FROM + 60_000 });
    const api = s.services[0]!;
    expect(api.anomaly).toEqual({ times: [t[0], t[1], t[3]], values: [0.5, 1.5, 0.2] });
    expect(api.spans.map((x) => [x.start, x.end])).toEqual([[t[1], t[3]]]);
    expect(api.events.map((e) => e.time)).toEqual([FROM + 20_000]);
    expect(api.events[0]!.recoveredAfterMs).toBe(t[3]! - (FROM + 20_000));
  });

  it('returns no services for frames it cannot use', () => {
    const other: DataFrame = {
      length: 1,
      fields: [
        { name: 'Time', type: FieldType.time, config: {}, values: [FROM] },
        { name: 'Value', type: FieldType.number, config: {}, values: [1], labels: { __name__: 'up' } },
      ],
    };
    const s = shapeData([other], DEFAULT_OPTIONS, W);
    expect(s.services).toEqual([]);
    expect(s.missing).toContain('health');
  });
});
