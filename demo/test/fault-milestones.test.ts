// The milestone reducer that follows one fault around the loop, fed made-up observations (no loop running):
// every milestone, the deferred and unknown paths, the stop conditions and the timeout, and each outcome.
import type { ActionName, ActionRow, ActionStatus } from '@selfheal/contracts';
import { describe, expect, it } from 'vitest';
import {
  awaitingVerdict,
  faultInjected,
  observe,
  type FaultState,
  type Milestone,
  type MilestoneEvent,
  type Observation,
  type Tick,
} from '../src/loop/fault-milestones.js';
import type { AdminEvent } from '../src/workload/admin-api.js';

const T0 = 1_700_000_000_000;
const SERVICE = 'checkout';
const at = (seconds: number): number => T0 + seconds * 1000;

function start(timeoutMs = 120_000): FaultState {
  const [state, events] = faultInjected({
    kind: 'cpu_saturation',
    service: SERVICE,
    expectedAction: 'scale_up',
    feature: 'cpu',
    band: { median: 0.1, upper: 0.2 },
    injectedAt: T0,
    detail: { fault: 'cpu_saturation' },
    timeoutMs,
    stableMs: 3000,
  });
  expect(events).toEqual([{ milestone: 'injected', t: 0, message: 'fault injected: cpu_saturation on checkout {"fault":"cpu_saturation"}; cpu normal up to 0.200 CPU s/s' }]);
  return state;
}

interface TickSpec {
  score?: number;
  firing?: boolean;
  /** Prometheus did not answer. */
  alertsUnknown?: boolean;
  value?: number;
  admin?: { action: string; service?: string; at?: number }[];
}

function tick(seconds: number, spec: TickSpec = {}): Tick {
  const admin: AdminEvent[] = (spec.admin ?? []).map((a) => ({ at: a.at ?? at(seconds), finishedAt: a.at ?? at(seconds), service: a.service ?? SERVICE, action: a.action, detail: { replicas: 4 } }));
  return {
    kind: 'tick',
    at: at(seconds),
    score: spec.score === undefined ? undefined : { score: spec.score, health: 100 - spec.score * 10, feature: 'cpu' },
    alerts: spec.alertsUnknown ? undefined : new Map(spec.firing ? [[SERVICE, { feature: 'cpu', severity: 'warning' }]] : []),
    featureValue: spec.value ?? Number.NaN,
    adminEvents: admin,
  };
}

/** An action row of the service, started `startedAfter` seconds after the injection (epoch seconds, as the API gives them). */
function row(id: number, status: ActionStatus, action: ActionName = 'scale_up', reason: string | null = null, startedAfter = 2): ActionRow {
  return { id, incident_id: id, service: SERVICE, action, target: SERVICE, rule: 'cpu', step: 0, status, reason, detail: null, change: null, started_at: at(startedAfter) / 1000, finished_at: null, cooldown_until: null };
}

/** Feeds the observations in order; returns the final state and every milestone reached. */
function run(state: FaultState, observations: readonly Observation[]): { state: FaultState; events: MilestoneEvent[] } {
  const all: MilestoneEvent[] = [];
  for (const obs of observations) {
    let events: MilestoneEvent[];
    [state, events] = observe(state, obs);
    all.push(...events);
  }
  return { state, events: all };
}
const milestones = (events: readonly MilestoneEvent[]): Milestone[] => events.map((e) => e.milestone);

/** A fault healed by the book: detected at 2 s, firing at 3 s, scaled up at 4 s, back to normal from 6 s. */
const HEALED: Observation[] = [
  tick(1, { score: 0.5, value: 0.1 }),
  tick(2, { score: 1.8, value: 0.9 }),
  tick(3, { score: 2.5, value: 0.9, firing: true }),
  tick(4, { score: 2.5, value: 0.9, firing: true, admin: [{ action: 'scale' }] }),
  { kind: 'verdict', at: at(4), rows: [row(7, 'started')] },
  tick(5, { score: 1.2, value: 0.5, firing: true }),
  { kind: 'verdict', at: at(5), rows: [row(7, 'succeeded')] },
  tick(6, { score: 0.6, value: 0.15, firing: true }),
  tick(7, { score: 0.4, value: 0.12, firing: true }),
  tick(8, { score: 0.3, value: 0.1, firing: true }),
  tick(9, { score: 0.3, value: 0.1 }),
];

describe('fault milestones (pure reducer)', () => {
  it('follows a healed fault through every milestone, in order, with their times', () => {
    const { state, events } = run(start(), HEALED);
    expect(milestones(events)).toEqual(['out_of_band', 'detected', 'alert_firing', 'action_started', 'action_finished', 'score_normal', 'recovered', 'alert_resolved']);
    expect(events.map((e) => e.t)).toEqual([2, 2, 3, 4, 5, 9, 9, 9]);
    expect(state.done).toBe('complete');
    expect(state.result).toMatchObject({
      detectedAfter: 2,
      detectedScore: 1.8,
      detectedFeature: 'cpu',
      firingAfter: 3,
      alertFeature: 'cpu',
      action: 'scale_up',
      actionAfter: 4,
      actionStatus: 'succeeded',
      scoreNormalAfter: 6,
      recoveredAfter: 6,
      resolvedAfter: 9,
      peakScore: 2.5,
      outcome: 'healed',
      collateralActions: [],
    });
    expect(state.result.samples).toHaveLength(9);
    expect(state.result.featureSamples.map((s) => s.value)).toEqual([0.1, 0.9, 0.9, 0.9, 0.5, 0.15, 0.12, 0.1, 0.1]);
    expect(events.find((e) => e.milestone === 'action_started')?.message).toBe('action taken: scale_up {"replicas":4}');
    expect(events.find((e) => e.milestone === 'action_finished')?.message).toBe('healing service: scale_up succeeded');
    expect(events.find((e) => e.milestone === 'recovered')?.message).toBe('recovered: cpu 0.100 CPU s/s (normal up to 0.200 CPU s/s)');
  });

  it('detected means a score above 1, not at 1', () => {
    const { state, events } = run(start(), [tick(1, { score: 1 }), tick(2, { score: 1.01 })]);
    expect(milestones(events)).toEqual(['detected']);
    expect(state.result.detectedAfter).toBe(2);
  });

  it('the action time is when the admin call arrived, not when it was seen', () => {
    const { state } = run(start(), [tick(4, { admin: [{ action: 'scale', at: at(3.25) }] })]);
    expect(state.result.actionAfter).toBe(3.25);
  });

  it('asks for the verdict only between the action and its final status', () => {
    let state = start();
    expect(awaitingVerdict(state)).toBe(false);
    [state] = observe(state, { kind: 'verdict', at: at(1), rows: [row(1, 'succeeded')] });
    expect(state.result.actionStatus).toBeUndefined();
    [state] = observe(state, tick(2, { admin: [{ action: 'scale' }] }));
    expect(awaitingVerdict(state)).toBe(true);
    [state] = observe(state, { kind: 'verdict', at: at(2), rows: [row(1, 'failed', 'restart'), row(2, 'verifying')] });
    expect(awaitingVerdict(state)).toBe(true);
    [state] = observe(state, { kind: 'verdict', at: at(3), rows: [row(2, 'failed', 'scale_up', 'still saturated')] });
    expect(awaitingVerdict(state)).toBe(false);
    expect(state.result.actionStatus).toBe('failed');
  });

  it('deferred: a deferred row is reported once and is not a verdict; the later row of the action is', () => {
    const { state, events } = run(start(), [
      tick(2, { score: 2, firing: true, admin: [{ action: 'scale' }] }),
      { kind: 'verdict', at: at(2), rows: [row(3, 'deferred', 'scale_up', 'cooldown: target "checkout" acted on recently')] },
      tick(3, { score: 2, firing: true }),
      { kind: 'verdict', at: at(3), rows: [row(3, 'deferred', 'scale_up', 'cooldown: target "checkout" acted on recently')] },
      tick(4, { score: 2, firing: true }),
      { kind: 'verdict', at: at(4), rows: [row(3, 'deferred'), row(4, 'succeeded')] },
    ]);
    expect(milestones(events)).toEqual(['detected', 'alert_firing', 'action_started', 'action_deferred', 'action_finished']);
    expect(events[3]?.message).toBe('healing service: scale_up deferred (cooldown: target "checkout" acted on recently)');
    expect(state.result.actionStatus).toBe('succeeded');
  });

  it('follows the row that acted: a newer row of the same action (another alert occurrence, deferred by the cooldown) and rows from before the injection do not hide its verdict', () => {
    const earlier = row(1, 'succeeded', 'rollback', null, -300);
    const { state, events } = run(start(), [
      tick(2, { score: 2, firing: true, admin: [{ action: 'rollback' }] }),
      { kind: 'verdict', at: at(2), rows: [earlier, row(4, 'verifying', 'rollback')] },
      tick(3, { score: 2, firing: true }),
      { kind: 'verdict', at: at(3), rows: [earlier, row(4, 'verifying', 'rollback'), row(5, 'deferred', 'rollback', 'cooldown: target "checkout" acted on recently', 3)] },
      tick(9, { score: 0.5, firing: true }),
      { kind: 'verdict', at: at(9), rows: [earlier, row(4, 'succeeded', 'rollback'), row(5, 'deferred', 'rollback', 'cooldown: target "checkout" acted on recently', 3)] },
    ]);
    expect(milestones(events)).toEqual(['detected', 'alert_firing', 'action_started', 'action_finished']);
    expect(state.result.actionStatus).toBe('succeeded');
  });

  it('unknown: the healing service could not observe the result; that is its verdict, the metrics decide the outcome', () => {
    const observations = HEALED.map((o) => (o.kind === 'verdict' && o.rows[0]?.status === 'succeeded' ? { ...o, rows: [row(7, 'unknown', 'scale_up', 'interrupted')] } : o));
    const { state, events } = run(start(), observations);
    expect(events.find((e) => e.milestone === 'action_finished')?.message).toBe('healing service: scale_up unknown (interrupted)');
    expect(state.result.actionStatus).toBe('unknown');
    expect(state.result.outcome).toBe('healed');
    expect(state.done).toBe('complete');
  });

  it('without a verdict the run goes on after recovery until the timeout', () => {
    const observations = HEALED.filter((o) => o.kind === 'tick');
    const { state } = run(start(10_000), [...observations, tick(10, { score: 0.2, value: 0.1 })]);
    expect(state.result.recoveredAfter).toBe(6);
    expect(state.result.actionStatus).toBeUndefined();
    expect(state.done).toBe('timeout');
    expect(state.result.outcome).toBe('healed');
  });

  it('recovery needs the score and the feature normal for stableMs without a break', () => {
    const { state, events } = run(start(), [
      tick(1, { score: 2, value: 0.9, admin: [{ action: 'scale' }] }),
      tick(2, { score: 0.5, value: 0.1 }),
      tick(4, { score: 0.5, value: 0.1 }),
      tick(4.5, { score: 1.5, value: 0.3 }),
      tick(5, { score: 0.5, value: 0.1 }),
      tick(7.5, { score: 0.5, value: 0.1 }),
      tick(8, { score: 0.5, value: 0.1 }),
    ]);
    expect(milestones(events)).toEqual(['out_of_band', 'detected', 'action_started', 'score_normal', 'recovered']);
    expect(state.result.scoreNormalAfter).toBe(5);
    expect(state.result.recoveredAfter).toBe(5);
  });

  it('nothing counts as normal before the action', () => {
    const { state } = run(start(), [tick(1, { score: 0.5, value: 0.1 }), tick(5, { score: 0.5, value: 0.1 }), tick(9, { score: 0.5, value: 0.1 })]);
    expect(state.result.scoreNormalAfter).toBeUndefined();
    expect(state.result.recoveredAfter).toBeUndefined();
  });

  it('an unanswered alerts query is not a resolution', () => {
    const { state } = run(start(), [tick(1, { firing: true, admin: [{ action: 'scale' }] }), tick(2, { alertsUnknown: true }), tick(3, {})]);
    expect(state.result.resolvedAfter).toBe(3);
  });

  it('stops 15 s after the score is normal when the alert does not resolve', () => {
    const firing = HEALED.map((o) => (o.kind === 'tick' ? { ...o, alerts: new Map([[SERVICE, { feature: 'cpu', severity: 'warning' }]]) } : o));
    const late = (seconds: number) => ({ ...tick(seconds, { score: 0.3, value: 0.1, firing: true }) });
    let { state } = run(start(), [...firing, late(20), late(21)]);
    expect(state.done).toBeUndefined();
    ({ state } = run(state, [late(21.5)]));
    expect(state.done).toBe('complete');
    expect(state.result.resolvedAfter).toBeUndefined();
    expect(state.result.outcome).toBe('healed');
  });

  it('actions on other services are collateral, each noted once; only the first action on the service counts', () => {
    const { state, events } = run(start(), [
      tick(1, { score: 3, admin: [{ action: 'restart', service: 'catalog' }, { action: 'stats' }] }),
      tick(2, { admin: [{ action: 'restart', service: 'catalog' }, { action: 'cache', service: 'catalog' }, { action: 'restart' }] }),
      tick(3, { admin: [{ action: 'scale' }] }),
    ]);
    expect(milestones(events)).toEqual(['detected', 'collateral_action', 'collateral_action', 'action_started']);
    expect(state.result.collateralActions).toEqual(['restart on catalog', 'enable_cache on catalog']);
    expect(state.result.collateralServices).toEqual(['catalog']);
    expect(state.result.action).toBe('restart');
    expect(state.result.outcome).toBe('wrong_action');
  });

  it.each([
    ['not_detected', [tick(1, { score: 0.5 })]],
    ['no_action', [tick(1, { score: 3 })]],
    ['no_action', [tick(1, { firing: true })]],
    ['wrong_action', [tick(1, { score: 3, admin: [{ action: 'quarantine' }] })]],
    ['not_recovered', [tick(1, { score: 3, value: 0.9, admin: [{ action: 'scale' }] })]],
  ] as const)('times out as %s', (outcome, observations) => {
    const { state } = run(start(5000), [...observations, tick(4.9)]);
    expect(state.done).toBeUndefined();
    const final = run(state, [tick(5)]).state;
    expect(final.done).toBe('timeout');
    expect(final.result.outcome).toBe(outcome);
  });

  it('does not change the state it was given (pure)', () => {
    const before = start();
    const snapshot = structuredClone(before);
    run(before, HEALED);
    expect(before).toEqual(snapshot);
  });
});
