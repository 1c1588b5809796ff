// A fix that undoes itself, followed: after a repair with `revertAfter` (the demo's enable_cache), the fault is
// cleared (or left in place) and the healing service's revert is polled until it ends: `reverted` (the fix was
// undone and the anomaly stayed away for the verification window) or `reapplied` (it came back: the fix was put
// back and reverting stops for that target). What the revert did to the workload is read from the admin calls.
import { OPEN_REVERT_STATUSES, type ActionName, type RevertRow } from '@selfheal/contracts';
import type { ClosedLoop } from './closed-loop.js';
import { healingReverts } from './observe.js';

export interface RevertRunOptions {
  /** Give up after this long (default 180 s: revertAfter, the revert, and the verification window). */
  timeoutMs?: number;
  pollMs?: number;
  /** Each status the revert passes through, with the seconds since following began. */
  onEvent?(message: string, secondsAfterStart: number): void;
}

export interface RevertRunResult {
  /** The revert's last row (undefined: no revert was recorded for the fix). */
  revert?: RevertRow;
  /** The statuses seen, in order. */
  statuses: string[];
  /** Seconds from following to the end (undefined: it had not ended when the run gave up). */
  endedAfter?: number;
  /** The admin calls on the service while following (e.g. cache-off from the revert, cache from putting it back). */
  adminActions: string[];
  /**
   * While the revert waited past its due time: the service's highest anomaly score over the last revertAfter, as
   * Prometheus had it (the revert runs once that is below 1), the latest ones last.
   */
  calmTrace: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPEN: readonly string[] = OPEN_REVERT_STATUSES;
const PAST_STARTED: readonly string[] = ['verifying', 'reapplying', 'reverted', 'reapplied'];

/** The fix to follow: the first `action` on the service recorded at or after `since` (ms since the epoch). */
export interface FixRef {
  service: string;
  action: ActionName;
  since: number;
}

/** Follows the revert of a fix until it ends or the time is up. */
export async function followRevert(loop: ClosedLoop, fix: FixRef, options: RevertRunOptions = {}): Promise<RevertRunResult> {
  const { service } = fix;
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 180_000;
  const adminFrom = loop.adminEvents.length;
  const statuses: string[] = [];
  let revert: RevertRow | undefined;
  let endedAfter: number | undefined;
  const calmTrace: number[] = [];
  while (Date.now() - started < timeoutMs) {
    // Newest first: the oldest revert of that action created since the fix.
    revert = (await healingReverts(loop.webhookUrl, loop.webhookToken, service)).filter((r) => r.action === fix.action && r.created_at * 1000 >= fix.since - 1000).at(-1);
    if (revert && statuses[statuses.length - 1] !== revert.status) {
      // `started` lasts as long as the undoing call (often less than a poll): past it, it is told from its start time.
      if (statuses[statuses.length - 1] === 'waiting' && PAST_STARTED.includes(revert.status) && revert.started_at !== null) {
        statuses.push('started');
        options.onEvent?.(`revert of ${revert.action} started: the anomaly score stayed below 1 for ${revert.after_seconds} s`, Math.max(0, revert.started_at * 1000 - started) / 1000);
      }
      statuses.push(revert.status);
      options.onEvent?.(`revert of ${revert.action} ${revert.status}${revert.reason ? `: ${revert.reason}` : ''}`, (Date.now() - started) / 1000);
    }
    if (revert && !OPEN.includes(revert.status)) {
      endedAfter = (Date.now() - started) / 1000;
      break;
    }
    if (revert?.status === 'waiting' && Date.now() / 1000 >= revert.due_at) {
      const calm = await loop.stack.prometheusClient
        .query(`max(max_over_time(selfheal_anomaly_score{service="${service}"}[${revert.after_seconds}s]))`)
        .catch(() => []);
      calmTrace.push(Number((calm[0]?.value ?? Number.NaN).toFixed(3)));
      if (calmTrace.length > 40) calmTrace.shift();
    }
    await sleep(options.pollMs ?? 500);
  }
  const adminActions = loop.adminEvents.slice(adminFrom).filter((e) => e.service === service).map((e) => e.action);
  return { ...(revert ? { revert } : {}), statuses, ...(endedAfter !== undefined ? { endedAfter } : {}), adminActions, calmTrace };
}
