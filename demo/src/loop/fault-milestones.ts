// Following one injected fault around the loop as a PURE reducer: (state, observation) -> state plus the
// milestones reached. The poll loop (fault-run.ts) only observes and feeds; everything decided here is testable
// without a loop running: injected -> out of band -> detected (score > 1) -> alert firing -> action started
// (-> deferred) -> finished (succeeded / failed / unknown / skipped) -> score normal, recovered -> alert resolved.
import type { ActionName, ActionRow, ActionStatus } from '@selfheal/contracts';
import type { AdminEvent } from '../workload/admin-api.js';
import type { FaultKind } from '../workload/spec.js';
import type { Band } from './features.js';
import type { EntityScore, FiringAnomaly } from './observe.js';

export interface ScoreSample {
  /** Seconds since injection. */
  t: number;
  score: number;
  health: number;
}

export interface FeatureSample {
  t: number;
  value: number;
}

export type FaultOutcome = 'healed' | 'wrong_action' | 'not_detected' | 'no_action' | 'not_recovered';

export interface FaultRunResult {
  kind: FaultKind;
  service: string;
  expectedAction: ActionName;
  /** The action waited for a person (trust level approve): the approval, who approved it, and when (seconds after injection). */
  approval?: { id: number; by: string; requestedAfter: number; approvedAfter: number };
  /** Epoch ms. */
  injectedAt: number;
  /** Seconds after injection (undefined = did not happen). */
  detectedAfter?: number;
  detectedScore?: number;
  detectedFeature?: string;
  firingAfter?: number;
  alertFeature?: string;
  actionAfter?: number;
  action?: ActionName;
  /** The healing service's verdict on its action (succeeded / failed ...). */
  actionStatus?: string;
  /** Metrics back to normal: the fault's feature back in its pre-fault band (held `stableMs`) after the action. */
  recoveredAfter?: number;
  /** The anomaly score back below 1 (held `stableMs`) after the action. */
  scoreNormalAfter?: number;
  resolvedAfter?: number;
  /** The feature the fault moves, its normal band before the fault, and its values during the run. */
  feature: string;
  band?: Band;
  featureSamples: FeatureSample[];
  outcome: FaultOutcome;
  /** Healing actions on other services during the run (should be none). */
  collateralActions: string[];
  /** Services other than the faulted one that were acted on (the run resets them too, so faults stay independent). */
  collateralServices: string[];
  samples: ScoreSample[];
  peakScore: number;
}

/** Workload admin calls that are healing actions, by contract name. */
export const ADMIN_TO_ACTION: Readonly<Record<string, ActionName>> = {
  scale: 'scale_up',
  restart: 'restart',
  cache: 'enable_cache',
  'circuit-breaker': 'open_circuit_breaker',
  quarantine: 'quarantine',
  rollback: 'rollback',
};

/** The healing service's statuses after which the demo stops asking (a `deferred` row is followed by another). */
const VERDICTS: readonly ActionStatus[] = ['succeeded', 'failed', 'unknown', 'skipped'];
/** Statuses of a row whose action was carried out (or may have been). */
const EXECUTED: readonly ActionStatus[] = ['started', 'verifying', 'succeeded', 'failed', 'unknown'];
/** After the score is back to normal, how long to wait for the alert to resolve before stopping (seconds). */
const RESOLVE_GRACE_S = 15;

export type Milestone =
  | 'injected'
  | 'out_of_band'
  | 'detected'
  | 'alert_firing'
  | 'action_started'
  | 'collateral_action'
  | 'action_deferred'
  | 'action_finished'
  | 'score_normal'
  | 'recovered'
  | 'alert_resolved';

export interface MilestoneEvent {
  milestone: Milestone;
  /** Seconds since injection. */
  t: number;
  message: string;
}

export interface FaultState {
  result: FaultRunResult;
  timeoutMs: number;
  stableMs: number;
  /** Epoch ms since when the score (resp. the feature) has been normal after the action; undefined: not now. */
  belowSince?: number;
  normalSince?: number;
  featureShown: boolean;
  /** The id of the `deferred` row last reported (each deferral once). */
  deferredRow?: number;
  /** Stop following: everything observed, or the timeout passed. */
  done?: 'complete' | 'timeout';
}

/** What one poll saw. `alerts` undefined: Prometheus did not answer (nothing can be said about the alert). */
export interface Tick {
  kind: 'tick';
  /** Epoch ms of the poll. */
  at: number;
  /** This service's scores from the exporter (undefined: not exported, or the exporter did not answer). */
  score: EntityScore | undefined;
  alerts: ReadonlyMap<string, FiringAnomaly> | undefined;
  /** The fault's feature now (NaN: no value). */
  featureValue: number;
  /** Admin calls to the workload since the previous tick. */
  adminEvents: readonly AdminEvent[];
}

/** The healing service's action rows of the service (asked for while `awaitingVerdict`), at the tick's time. */
export interface Verdict {
  kind: 'verdict';
  at: number;
  rows: readonly ActionRow[];
}

export type Observation = Tick | Verdict;

export interface FaultStart {
  kind: FaultKind;
  service: string;
  expectedAction: ActionName;
  feature: string;
  band: Band;
  injectedAt: number;
  /** What the workload answered to the injection (shown). */
  detail: unknown;
  timeoutMs: number;
  stableMs: number;
}

export function formatValue(feature: string, value: number): string {
  if (feature.startsWith('mem')) return `${(value / 1024 / 1024).toFixed(0)} MiB`;
  if (feature.startsWith('latency')) return `${(value * 1000).toFixed(0)} ms`;
  if (feature.startsWith('cpu')) return `${value.toFixed(3)} CPU s/s`;
  return value.toFixed(3);
}

/** The state right after the injection, and the `injected` milestone. */
export function faultInjected(start: FaultStart): [FaultState, MilestoneEvent[]] {
  const result: FaultRunResult = {
    kind: start.kind,
    service: start.service,
    expectedAction: start.expectedAction,
    injectedAt: start.injectedAt,
    outcome: 'not_detected',
    feature: start.feature,
    featureSamples: [],
    collateralActions: [],
    collateralServices: [],
    samples: [],
    peakScore: 0,
    band: start.band,
  };
  const message = `fault injected: ${start.kind} on ${start.service} ${JSON.stringify(start.detail)}; ${start.feature} normal up to ${formatValue(start.feature, start.band.upper)}`;
  return [{ result, timeoutMs: start.timeoutMs, stableMs: start.stableMs, featureShown: false }, [{ milestone: 'injected', t: 0, message }]];
}

/** True while an action was taken and the healing service's verdict on it is not known yet. */
export function awaitingVerdict(state: FaultState): boolean {
  return state.result.action !== undefined && state.result.actionStatus === undefined;
}

/** The run's outcome from what was observed. */
export function outcomeOf(result: FaultRunResult): FaultOutcome {
  if (result.detectedAfter === undefined && result.firingAfter === undefined) return 'not_detected';
  if (result.action === undefined) return 'no_action';
  if (result.action !== result.expectedAction) return 'wrong_action';
  if (result.recoveredAfter === undefined) return 'not_recovered';
  return 'healed';
}

/** The state after one observation, and the milestones it reached (in the order they were reached). */
export function observe(state: FaultState, obs: Observation): [FaultState, MilestoneEvent[]] {
  const events: MilestoneEvent[] = [];
  const t = (obs.at - state.result.injectedAt) / 1000;
  const reached = (milestone: Milestone, message: string): void => void events.push({ milestone, t, message });
  const next: FaultState = obs.kind === 'tick' ? onTick(state, obs, t, reached) : onVerdict(state, obs, reached);
  const r = next.result;
  // The alert resolves once Prometheus sees the score below 1; give it a moment, then stop following.
  const complete =
    r.recoveredAfter !== undefined &&
    r.scoreNormalAfter !== undefined &&
    r.actionStatus !== undefined &&
    (r.resolvedAfter !== undefined || t - r.scoreNormalAfter > RESOLVE_GRACE_S);
  const done = next.done ?? (complete ? 'complete' : obs.at - r.injectedAt >= next.timeoutMs ? 'timeout' : undefined);
  const settled: FaultState = done === undefined ? next : { ...next, done };
  return [{ ...settled, result: { ...settled.result, outcome: outcomeOf(settled.result) } }, events];
}

function onTick(state: FaultState, tick: Tick, t: number, reached: (m: Milestone, message: string) => void): FaultState {
  const result: FaultRunResult = { ...state.result };
  const s: FaultState = { ...state, result };
  const { band, feature } = result;
  const value = tick.featureValue;
  if (Number.isFinite(value)) result.featureSamples = [...result.featureSamples, { t, value }];
  if (!s.featureShown && band && value > band.upper) {
    s.featureShown = true;
    reached('out_of_band', `${feature} out of its normal band: ${formatValue(feature, value)}`);
  }

  const entity = tick.score;
  const scored = entity !== undefined && Number.isFinite(entity.score);
  if (scored) {
    result.samples = [...result.samples, { t, score: entity.score, health: entity.health }];
    result.peakScore = Math.max(result.peakScore, entity.score);
    if (result.detectedAfter === undefined && entity.score > 1) {
      result.detectedAfter = t;
      result.detectedScore = entity.score;
      result.detectedFeature = entity.feature;
      reached('detected', `anomaly detected: score ${entity.score.toFixed(2)}, feature ${entity.feature ?? '?'}`);
    }
  }

  const alert = tick.alerts?.get(result.service);
  if (alert && result.firingAfter === undefined) {
    result.firingAfter = t;
    result.alertFeature = alert.feature;
    reached('alert_firing', `alert firing: SelfhealAnomaly{service="${result.service}", feature="${alert.feature ?? '?'}"}`);
  }

  for (const event of tick.adminEvents) {
    const action = ADMIN_TO_ACTION[event.action];
    if (!action) continue;
    if (event.service !== result.service) {
      const note = `${action} on ${event.service}`;
      if (!result.collateralActions.includes(note)) {
        result.collateralActions = [...result.collateralActions, note];
        if (!result.collateralServices.includes(event.service)) result.collateralServices = [...result.collateralServices, event.service];
        reached('collateral_action', `unexpected action: ${note}`);
      }
    } else if (result.action === undefined) {
      result.action = action;
      result.actionAfter = (event.at - result.injectedAt) / 1000;
      reached('action_started', `action taken: ${action} ${JSON.stringify(event.detail)}`);
    }
  }

  if (result.action !== undefined && scored) {
    if (entity.score < 1) {
      s.belowSince ??= tick.at;
      if (result.scoreNormalAfter === undefined && tick.at - s.belowSince >= s.stableMs) {
        result.scoreNormalAfter = (s.belowSince - result.injectedAt) / 1000;
        reached('score_normal', `anomaly score back below 1: ${entity.score.toFixed(2)}, health ${entity.health.toFixed(0)}`);
      }
    } else {
      s.belowSince = undefined;
    }
  }
  // Only an empty band (a service without history) leaves `recovered` to the score.
  if (result.action !== undefined && Number.isFinite(value) && band) {
    if (value <= band.upper) {
      s.normalSince ??= tick.at;
      if (result.recoveredAfter === undefined && tick.at - s.normalSince >= s.stableMs) {
        result.recoveredAfter = (s.normalSince - result.injectedAt) / 1000;
        reached('recovered', `recovered: ${feature} ${formatValue(feature, value)} (normal up to ${formatValue(feature, band.upper)})`);
      }
    } else {
      s.normalSince = undefined;
    }
  }

  if (result.firingAfter !== undefined && result.action !== undefined && !alert && tick.alerts && result.resolvedAfter === undefined) {
    result.resolvedAfter = t;
    reached('alert_resolved', 'alert resolved');
  }
  return s;
}

function onVerdict(state: FaultState, verdict: Verdict, reached: (m: Milestone, message: string) => void): FaultState {
  if (!awaitingVerdict(state)) return state;
  // This run's rows of the action: the one that acted (the first executed since the injection) is what the run
  // follows. Another alert occurrence of the same incident (e.g. the same fault under another feature label) may
  // add a newer row, deferred by the cooldown and then dropped: it must not hide the verdict on the action taken.
  const injectedAt = state.result.injectedAt;
  const mine = verdict.rows.filter((r) => r.action === state.result.action && r.started_at * (r.started_at < 1e12 ? 1000 : 1) >= injectedAt - 1000);
  const acted = mine.filter((r) => EXECUTED.includes(r.status)).sort((a, b) => a.id - b.id)[0];
  const row = acted ?? mine.sort((a, b) => b.id - a.id)[0];
  if (!row) return state;
  const because = row.reason ? ` (${row.reason})` : '';
  // Final statuses only: a `deferred` row (held back by a guardrail until it lifts) is followed by the action's own.
  if (VERDICTS.includes(row.status)) {
    reached('action_finished', `healing service: ${row.action} ${row.status}${because}`);
    return { ...state, result: { ...state.result, actionStatus: row.status } };
  }
  if (row.status === 'deferred' && state.deferredRow !== row.id) {
    reached('action_deferred', `healing service: ${row.action} deferred${because}`);
    return { ...state, deferredRow: row.id };
  }
  return state;
}
