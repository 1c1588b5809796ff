// One injected fault, followed around the loop: injected -> anomaly detected (score, feature) -> alert firing
// -> action taken -> recovered -> alert resolved, with the time of each step and samples for the chart.
// This file only polls (the exporter, Prometheus, the workload's admin calls, the healing service) and feeds
// what it saw to the pure milestone reducer in fault-milestones.ts, which decides everything.
import { ApiResponseError, ExpositionError } from '@selfheal/contracts';
import type { FaultKind, FaultParams } from '../workload/spec.js';
import { REPAIR_FOR } from '../workload/spec.js';
import type { ClosedLoop } from './closed-loop.js';
import { FEATURE_FOR, featureHistory, featureNow, featureQueries, normalBand } from './features.js';
import { awaitingVerdict, faultInjected, observe, type FaultRunResult, type FaultState, type MilestoneEvent } from './fault-milestones.js';
import { decideApproval, exporterScores, firingAnomalies, healingActions, healingApprovals, type EntityScore } from './observe.js';

export interface FaultPlan {
  kind: FaultKind;
  service: string;
  params?: FaultParams;
}

export interface FaultRunOptions {
  /** Give up following the fault after this long (default 120 s). */
  timeoutMs?: number;
  /** Recovered = score below 1 for this long after the action (default 3 s). */
  stableMs?: number;
  pollMs?: number;
  onEvent?(message: string, secondsAfterInjection: number): void;
  /**
   * Who approves an action in approve mode, as a person would through POST /api/v1/approvals/{id} (default: the
   * demo itself, "selfheal demo"); false leaves approvals to someone else.
   */
  approver?: string | false;
}

/** Who the demo says it is when it approves an action waiting for a person. */
export const DEMO_APPROVER = 'selfheal demo';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A poll that failed in passing (no answer, a restart) counts as "nothing seen" and the next one tries again; an
 * answer that does not match the contracts (the exporter's text, the API's rows) is a defect and stops the run.
 */
const passing =
  <T>(nothing: T) =>
  (error: unknown): T => {
    if (error instanceof ExpositionError || (error instanceof ApiResponseError && error.field !== '')) throw error;
    return nothing;
  };

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

/** Clears the service's faults and leaves the repair in place (a fix that undoes itself then does so). */
export async function clearFaults(loop: ClosedLoop, service: string): Promise<void> {
  await admin(loop, `/services/${service}/faults`, undefined, 'DELETE');
}

/** Injects the fault and polls until the reducer says the run is complete or timed out. */
export async function runFault(loop: ClosedLoop, plan: FaultPlan, options: FaultRunOptions = {}): Promise<FaultRunResult> {
  const pollMs = options.pollMs ?? 500;
  const feature = FEATURE_FOR[plan.kind];
  const promql = featureQueries()[feature];
  if (!promql) throw new Error(`demo/config/exporter.yml has no feature ${feature}`);
  const prometheus = loop.stack.prometheusClient;
  const band = normalBand(feature, await featureHistory(prometheus, promql, plan.service, 60));
  const adminCursor = { next: loop.adminEvents.length };
  const injectedAt = Date.now();
  const detail = await injectFault(loop, plan);
  const report = (events: readonly MilestoneEvent[]): void => {
    for (const e of events) options.onEvent?.(e.message, e.t);
  };
  let [state, events]: [FaultState, MilestoneEvent[]] = faultInjected({
    kind: plan.kind,
    service: plan.service,
    expectedAction: REPAIR_FOR[plan.kind],
    feature,
    band,
    injectedAt,
    detail,
    timeoutMs: options.timeoutMs ?? 120_000,
    stableMs: options.stableMs ?? 3000,
  });
  report(events);

  const approver = options.approver ?? DEMO_APPROVER;
  let approval: FaultRunResult['approval'];
  while (!state.done) {
    await sleep(pollMs);
    const at = Date.now();
    if (approver !== false && approval === undefined) approval = await approvePending(loop, plan.service, injectedAt, approver, options.onEvent);
    const [scores, alerts, featureValue] = await Promise.all([
      exporterScores(loop.exporterUrl).catch(passing(new Map<string, EntityScore>())),
      firingAnomalies(prometheus).catch(() => undefined),
      featureNow(prometheus, promql, plan.service).catch(() => Number.NaN),
    ]);
    const adminEvents = loop.adminEvents.slice(adminCursor.next);
    adminCursor.next += adminEvents.length;
    [state, events] = observe(state, { kind: 'tick', at, score: scores.get(plan.service), alerts, featureValue, adminEvents });
    report(events);
    if (awaitingVerdict(state)) {
      const rows = await healingActions(loop.webhookUrl, loop.webhookToken, plan.service).catch(passing([]));
      [state, events] = observe(state, { kind: 'verdict', at, rows });
      report(events);
    }
  }
  return approval ? { ...state.result, approval } : state.result;
}

/**
 * Plays the person of approve mode: approves the service's pending approval (the demo's policy asks before a
 * restart), through the API a person would use. Returns what was approved, or undefined when nothing waits.
 */
async function approvePending(loop: ClosedLoop, service: string, injectedAt: number, by: string, onEvent: FaultRunOptions['onEvent']): Promise<FaultRunResult['approval']> {
  const pending = await healingApprovals(loop.webhookUrl, loop.webhookToken, service, 'pending').catch(passing([]));
  const waiting = pending.find((a) => a.requested_at * 1000 >= injectedAt - 1000);
  if (!waiting) return undefined;
  const requestedAfter = (waiting.requested_at * 1000 - injectedAt) / 1000;
  onEvent?.(`approval #${waiting.id} requested: ${waiting.action} on ${waiting.target} waits for a person (mode: approve)`, requestedAfter);
  let decided;
  try {
    decided = await decideApproval(loop.webhookUrl, loop.webhookToken, waiting.id, { decision: 'approve', by, reason: 'the demo approves its own fault' });
  } catch (err) {
    // Decided meanwhile (expired, the alert resolved, someone else): said, and the run goes on.
    onEvent?.(`approval #${waiting.id} not approved: ${err instanceof Error ? err.message : String(err)}`, (Date.now() - injectedAt) / 1000);
    return undefined;
  }
  const approvedAfter = ((decided.decided_at ?? Date.now() / 1000) * 1000 - injectedAt) / 1000;
  onEvent?.(`approved by ${by}: POST /api/v1/approvals/${waiting.id} {"decision":"approve"}`, approvedAfter);
  return { id: waiting.id, by, requestedAfter, approvedAfter };
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
      exporterScores(loop.exporterUrl).catch(passing(new Map<string, EntityScore>())),
      firingAnomalies(loop.stack.prometheusClient).catch(() => undefined),
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

