// One injected fault, followed around the loop: injected -> anomaly detected (score, feature) -> alert firing
// -> action taken -> recovered -> alert resolved, with the time of each step and samples for the chart.
import type { FaultKind, FaultParams } from '../workload/spec.js';
import { REPAIR_FOR } from '../workload/spec.js';
import type { ClosedLoop } from './closed-loop.js';
import { FEATURE_FOR, featureHistory, featureNow, featureQueries, normalBand, type Band } from './features.js';
import { exporterScores, firingAnomalies, healingActions } from './observe.js';

export interface FaultPlan {
  kind: FaultKind;
  service: string;
  params?: FaultParams;
}

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
  expectedAction: string;
  /** Epoch ms. */
  injectedAt: number;
  /** Seconds after injection (undefined = did not happen). */
  detectedAfter?: number;
  detectedScore?: number;
  detectedFeature?: string;
  firingAfter?: number;
  alertFeature?: string;
  actionAfter?: number;
  action?: string;
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
export const ADMIN_TO_ACTION: Record<string, string> = {
  scale: 'scale_up',
  restart: 'restart',
  cache: 'enable_cache',
  'circuit-breaker': 'open_circuit_breaker',
  quarantine: 'quarantine',
};

export interface FaultRunOptions {
  /** Give up following the fault after this long (default 120 s). */
  timeoutMs?: number;
  /** Recovered = score below 1 for this long after the action (default 3 s). */
  stableMs?: number;
  pollMs?: number;
  onEvent?(message: string, secondsAfterInjection: number): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin(loop: ClosedLoop, path: string, body?: unknown, method = 'POST'): Promise<unknown> {
  const response = await fetch(`${loop.workload.url}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json: unknown = await response.json();
  if (!response.ok) throw new Error(`${method} /admin${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function injectFault(loop: ClosedLoop, plan: FaultPlan): Promise<unknown> {
  return admin(loop, `/services/${plan.service}/faults/${plan.kind}`, plan.params ?? {});
}

/** Clears the service's faults and undoes the repair (back to baseline replicas, cache off, breaker closed). */
export async function resetService(loop: ClosedLoop, service: string): Promise<void> {
  await admin(loop, `/services/${service}/reset`);
}

export async function runFault(loop: ClosedLoop, plan: FaultPlan, options: FaultRunOptions = {}): Promise<FaultRunResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const stableMs = options.stableMs ?? 3000;
  const pollMs = options.pollMs ?? 500;
  const adminCursor = loop.adminEvents.length;
  const promql = featureQueries()[FEATURE_FOR[plan.kind]];
  if (!promql) throw new Error(`demo/config/exporter.yml has no feature ${FEATURE_FOR[plan.kind]}`);
  const band = normalBand(FEATURE_FOR[plan.kind], await featureHistory(loop.stack.prometheusUrl, promql, plan.service, 60));
  const injectedAt = Date.now();
  const since = (): number => (Date.now() - injectedAt) / 1000;
  const emit = (message: string): void => options.onEvent?.(message, since());
  const result: FaultRunResult = {
    kind: plan.kind,
    service: plan.service,
    expectedAction: REPAIR_FOR[plan.kind],
    injectedAt,
    outcome: 'not_detected',
    feature: FEATURE_FOR[plan.kind],
    featureSamples: [],
    collateralActions: [],
    collateralServices: [],
    samples: [],
    peakScore: 0,
    band,
  };
  const detail = await injectFault(loop, plan);
  emit(`fault injected: ${plan.kind} on ${plan.service} ${JSON.stringify(detail)}; ${result.feature} normal up to ${formatValue(result.feature, band.upper)}`);
  let featureShown = false;

  let belowSince: number | undefined;
  let normalSince: number | undefined;
  while (Date.now() - injectedAt < timeoutMs) {
    await sleep(pollMs);
    const t = since();
    const [scores, firing, value] = await Promise.all([
      exporterScores(loop.exporterUrl).catch(() => new Map()),
      firingAnomalies(loop.stack.prometheusUrl).catch(() => undefined),
      featureNow(loop.stack.prometheusUrl, promql, plan.service).catch(() => Number.NaN),
    ]);
    if (Number.isFinite(value)) result.featureSamples.push({ t, value });
    if (!featureShown && value > band.upper) {
      featureShown = true;
      emit(`${result.feature} out of its normal band: ${formatValue(result.feature, value)}`);
    }
    const entity = scores.get(plan.service);
    if (entity && Number.isFinite(entity.score)) {
      result.samples.push({ t, score: entity.score, health: entity.health });
      result.peakScore = Math.max(result.peakScore, entity.score);
      if (result.detectedAfter === undefined && entity.score > 1) {
        result.detectedAfter = t;
        result.detectedScore = entity.score;
        result.detectedFeature = entity.feature;
        emit(`anomaly detected: score ${entity.score.toFixed(2)}, feature ${entity.feature ?? '?'}`);
      }
    }
    const alert = firing?.get(plan.service);
    if (alert && result.firingAfter === undefined) {
      result.firingAfter = t;
      result.alertFeature = alert.feature;
      emit(`alert firing: SelfhealAnomaly{service="${plan.service}", feature="${alert.feature ?? '?'}"}`);
    }
    for (const event of loop.adminEvents.slice(adminCursor)) {
      const action = ADMIN_TO_ACTION[event.action];
      if (!action) continue;
      if (event.service !== plan.service) {
        const note = `${action} on ${event.service}`;
        if (!result.collateralActions.includes(note)) {
          result.collateralActions.push(note);
          if (!result.collateralServices.includes(event.service)) result.collateralServices.push(event.service);
          emit(`unexpected action: ${note}`);
        }
      } else if (result.action === undefined) {
        result.action = action;
        result.actionAfter = (event.at - injectedAt) / 1000;
        emit(`action taken: ${action} ${JSON.stringify(event.detail)}`);
      }
    }
    if (result.action !== undefined && entity && Number.isFinite(entity.score)) {
      if (entity.score < 1) {
        belowSince ??= Date.now();
        if (result.scoreNormalAfter === undefined && Date.now() - belowSince >= stableMs) {
          result.scoreNormalAfter = (belowSince - injectedAt) / 1000;
          emit(`anomaly score back below 1: ${entity.score.toFixed(2)}, health ${entity.health.toFixed(0)}`);
        }
      } else {
        belowSince = undefined;
      }
    }
    // Only an empty band (a service without history) leaves `recovered` to the score.
    if (result.action !== undefined && Number.isFinite(value)) {
      if (value <= band.upper) {
        normalSince ??= Date.now();
        if (result.recoveredAfter === undefined && Date.now() - normalSince >= stableMs) {
          result.recoveredAfter = (normalSince - injectedAt) / 1000;
          emit(`recovered: ${result.feature} ${formatValue(result.feature, value)} (normal up to ${formatValue(result.feature, band.upper)})`);
        }
      } else {
        normalSince = undefined;
      }
    }
    if (result.firingAfter !== undefined && result.action !== undefined && !alert && firing && result.resolvedAfter === undefined) {
      result.resolvedAfter = t;
      emit('alert resolved');
    }
    if (result.action !== undefined && result.actionStatus === undefined) {
      const rows = await healingActions(loop.webhookUrl, loop.webhookToken, plan.service).catch(() => []);
      const row = rows.filter((r) => r.action === result.action).sort((a, b) => b.id - a.id)[0];
      // Final statuses only: a `deferred` row (held back by a guardrail until it lifts) is followed by the action's own.
      if (row && ['succeeded', 'failed', 'unknown', 'skipped'].includes(row.status)) {
        result.actionStatus = row.status;
        emit(`healing service: ${row.action} ${row.status}${row.reason ? ` (${row.reason})` : ''}`);
      }
    }
    if (result.recoveredAfter !== undefined && result.scoreNormalAfter !== undefined && result.actionStatus !== undefined) {
      // The alert resolves once Prometheus sees the score below 1; give it a moment, then stop following.
      if (result.resolvedAfter !== undefined || t - result.scoreNormalAfter > 15) break;
    }
  }

  if (result.detectedAfter === undefined && result.firingAfter === undefined) result.outcome = 'not_detected';
  else if (result.action === undefined) result.outcome = 'no_action';
  else if (result.action !== result.expectedAction) result.outcome = 'wrong_action';
  else if (result.recoveredAfter === undefined) result.outcome = 'not_recovered';
  else result.outcome = 'healed';
  return result;
}

/**
 * Waits until the service is quiet again after a reset: score below 1 and no alert firing for `quietMs`
 * (bounded by timeoutMs). Returns false on timeout.
 */
export async function waitQuiet(loop: ClosedLoop, service: string, quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | undefined;
  while (Date.now() < deadline) {
    const [scores, firing] = await Promise.all([
      exporterScores(loop.exporterUrl).catch(() => new Map()),
      firingAnomalies(loop.stack.prometheusUrl).catch(() => undefined),
    ]);
    const score = scores.get(service)?.score ?? Number.NaN;
    if (firing && !firing.has(service) && score < 1) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= quietMs) return true;
    } else {
      quietSince = undefined;
    }
    await sleep(500);
  }
  return false;
}

export function formatValue(feature: string, value: number): string {
  if (feature.startsWith('mem')) return `${(value / 1024 / 1024).toFixed(0)} MiB`;
  if (feature.startsWith('latency')) return `${(value * 1000).toFixed(0)} ms`;
  if (feature.startsWith('cpu')) return `${value.toFixed(3)} CPU s/s`;
  return value.toFixed(3);
}
