// A demotion, shown: a slow dependency whose answers cannot be cached (slow_dependency with cacheable: false) is
// injected again and again on one service. The policy answers each alert with enable_cache, which does not help: it
// fails its verification. Once its success rate there is below the efficacy floor (demo/config/policy.yml:
// efficacy), the healing service's ledger demotes enable_cache on that target to approve mode; the next alert's
// cache then waits for a person instead of being turned on. The demo plays the person: it rejects it (the cache does
// not help here) and lifts the demotion through the API. Everything is read from the healing service's API.
import type { ApprovalRow, AuditRow } from '@selfheal/contracts';
import type { ClosedLoop } from './closed-loop.js';
import { clearFaults, injectFault, resetService, waitQuiet, DEMO_APPROVER } from './fault-run.js';
import { decideApproval, healingActions, healingApprovals, healingAudit } from './observe.js';
import { healingDemotions, liftDemotion, type DemotionRow } from './demotion-rows.js';

export interface DemotionRunOptions {
  /** Attempts at most before giving up on seeing the demotion (default 4; the demo's policy demotes after 2). */
  maxAttempts?: number;
  /** Per attempt: how long to wait for the action's verdict (default 150 s: detection, the action, its verification). */
  attemptTimeoutMs?: number;
  /** Per attempt: give up sooner when no enable_cache was started this long after the injection (default 60 s: missed). */
  noActionTimeoutMs?: number;
  /** How long to wait for the next alert's approval request (default 90 s). */
  approvalTimeoutMs?: number;
  /** Lift the demotion at the end (default true), as a person does once the cause is understood. */
  lift?: boolean;
  pollMs?: number;
  onEvent?(message: string, secondsAfterStart: number): void;
}

export interface DemotionAttempt {
  /** The enable_cache row's final status (failed when the cache did not help), undefined: none seen in time (e.g. not detected). */
  status?: string;
  reason?: string;
  /** Seconds from the injection to the verdict. */
  verdictAfter?: number;
}

export interface DemotionRunResult {
  service: string;
  attempts: DemotionAttempt[];
  /** The active demotion of enable_cache on the service, as GET /api/v1/demotions had it. */
  demotion?: DemotionRow;
  /** The ledger's audit row (`demoted`). */
  demotedAudit?: AuditRow;
  /** The next alert's approval request (then rejected by the demo). */
  approval?: ApprovalRow;
  /** Seconds from that alert's injection to its approval request. */
  approvalAfter?: number;
  /** The workload's admin calls on the service while the approval waited: no repair (no `cache`). */
  adminWhileWaiting: string[];
  /** The demotion after the lift (status lifted), when lifted. */
  lifted?: DemotionRow;
  /** Seconds from start to end. */
  tookSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINAL = ['succeeded', 'failed', 'unknown', 'skipped'];
const ACTION = 'enable_cache';

/** Runs the demotion phase on `service` (a service whose enable_cache is not demoted yet). */
export async function runDemotion(loop: ClosedLoop, service: string, options: DemotionRunOptions = {}): Promise<DemotionRunResult> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 1000;
  const say = (message: string): void => options.onEvent?.(message, (Date.now() - started) / 1000);
  const api = [loop.webhookUrl, loop.webhookToken] as const;
  const active = async (): Promise<DemotionRow | undefined> => (await healingDemotions(...api, 'active')).find((d) => d.target === service && d.action === ACTION);
  const attempts: DemotionAttempt[] = [];
  let demotion = await active();
  if (demotion) throw new Error(`${ACTION} is already demoted on ${service} (demotion ${demotion.id}): lift it first`);

  for (let i = 1; i <= (options.maxAttempts ?? 4) && !demotion; i++) {
    const injectedAt = Date.now();
    await injectFault(loop, { kind: 'slow_dependency', service, params: { cacheable: false } });
    say(`attempt ${i}: slow dependency on ${service} whose answers cannot be cached (cacheable: false) injected`);
    const attempt: DemotionAttempt = {};
    const deadline = injectedAt + (options.attemptTimeoutMs ?? 150_000);
    const noActionBy = injectedAt + (options.noActionTimeoutMs ?? 60_000);
    let shownStart = false;
    while (Date.now() < deadline) {
      const row = (await healingActions(...api, service).catch(() => [])).find((a) => a.action === ACTION && a.started_at * 1000 >= injectedAt - 1000); // newest first: past a deferral
      if (!row && Date.now() >= noActionBy) break;
      if (row && !shownStart && !FINAL.includes(row.status)) {
        shownStart = true;
        say(`attempt ${i}: ${ACTION} ${row.status} (the cache is on; verification watches the anomaly score)`);
      }
      if (row && FINAL.includes(row.status)) {
        Object.assign(attempt, { status: row.status, verdictAfter: (Date.now() - injectedAt) / 1000, ...(row.reason ? { reason: row.reason } : {}) });
        say(`attempt ${i}: ${ACTION} ${row.status}${row.reason ? `: ${row.reason}` : ''}`);
        break;
      }
      await sleep(pollMs);
    }
    if (attempt.status === undefined) say(`attempt ${i}: no verdict on ${ACTION} after ${Math.round((Date.now() - injectedAt) / 1000)} s (the anomaly not detected, or no action): it does not count`);
    attempts.push(attempt);
    // The ledger decides right after the failure; the fault is cleared so the alert resolves and the next one is new.
    await clearFaults(loop, service);
    await resetService(loop, service);
    demotion = await active();
    await waitQuiet(loop, service, 5000, 90_000);
  }
  if (!demotion) {
    say(`${ACTION} was not demoted on ${service} after ${attempts.length} attempts`);
    return { service, attempts, adminWhileWaiting: [], tookSeconds: (Date.now() - started) / 1000 };
  }
  const demotedAudit = (await healingAudit(...api)).find((e) => e.event === 'demoted' && e.target === service && e.action === ACTION);
  say(`demoted (GET /api/v1/demotions): ${demotion.reason}`);

  // The next alert: the cache waits for a person (approve mode) instead of being turned on.
  const injectedAt = Date.now();
  const adminFrom = loop.adminEvents.length;
  await injectFault(loop, { kind: 'slow_dependency', service, params: { cacheable: false } });
  say(`the same fault again: the next alert's ${ACTION} should wait for a person`);
  let approval: ApprovalRow | undefined;
  const deadline = injectedAt + (options.approvalTimeoutMs ?? 90_000);
  while (!approval && Date.now() < deadline) {
    approval = (await healingApprovals(...api, service, 'pending').catch(() => [])).find((a) => a.action === ACTION && a.requested_at * 1000 >= injectedAt - 1000);
    if (!approval) await sleep(pollMs);
  }
  const approvalAfter = approval ? (approval.requested_at * 1000 - injectedAt) / 1000 : undefined;
  const adminWhileWaiting = loop.adminEvents.slice(adminFrom).filter((e) => e.service === service).map((e) => e.action);
  let decided: ApprovalRow | undefined;
  if (approval) {
    say(`approval #${approval.id} requested: ${ACTION} on ${service} waits for a person (demoted: approve mode); workload calls meanwhile: ${adminWhileWaiting.join(', ') || 'none'}`);
    decided = await decideApproval(...api, approval.id, { decision: 'reject', by: DEMO_APPROVER, reason: 'the cache does not help here: the slow answers cannot be cached' });
    say(`rejected by ${DEMO_APPROVER}: POST /api/v1/approvals/${approval.id} {"decision":"reject"}`);
  } else {
    say(`no approval request for ${ACTION} on ${service} within ${Math.round((deadline - injectedAt) / 1000)} s`);
  }
  await clearFaults(loop, service);
  await resetService(loop, service);
  let lifted: DemotionRow | undefined;
  if (options.lift ?? true) {
    lifted = await liftDemotion(...api, service, ACTION, { by: DEMO_APPROVER, reason: 'the demo is over: the dependency answers can be cached again' });
    say(`demotion lifted: POST /api/v1/demotions/${service}/${ACTION}/lift; ${ACTION} runs in its configured mode again`);
  }
  await waitQuiet(loop, service, 5000, 90_000);
  return {
    service, attempts, demotion, ...(demotedAudit ? { demotedAudit } : {}), ...(decided ? { approval: decided } : {}),
    ...(approvalAfter !== undefined ? { approvalAfter } : {}), adminWhileWaiting, ...(lifted ? { lifted } : {}), tookSeconds: (Date.now() - started) / 1000,
  };
}
