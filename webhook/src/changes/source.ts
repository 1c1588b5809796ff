// Change awareness: where a workload's rollouts are learnt from (`changes.source`), and whether the anomaly began
// right after one (`changes.window`). A rule may say `when: recentChange` or `when: noRecentChange`; the change a
// decision relied on is recorded on its audit records and action rows.
import type { ChangeRecord } from '@selfheal/contracts';
import type { ActionTarget } from '../actuators/types.js';

export interface ChangeSource {
  readonly kind: ChangeRecord['source'];
  /**
   * The target's last rollout at or before `before` (seconds since the epoch), or undefined when none is known.
   * Throws when the source cannot answer (API or query error).
   */
  lastChange(targetName: string, target: ActionTarget, before: number, signal?: AbortSignal): Promise<ChangeRecord | undefined>;
}

/** What a rule's `when` is judged on: whether the anomaly began within the window of the last rollout, and which. */
export interface ChangeVerdict {
  recent: boolean;
  /** The last rollout the verdict looked at (absent: none known, or the source failed). */
  change?: ChangeRecord;
  /** The source could not answer: `recentChange` does not match (no rollback without evidence), `noRecentChange` does. */
  error?: string;
}

/** Whether the anomaly that began at `startsAt` (seconds) began within `window` seconds after the rollout. */
export function isRecent(change: ChangeRecord | undefined, startsAt: number, window: number): boolean {
  if (!change) return false;
  const at = Date.parse(change.at) / 1000;
  return Number.isFinite(at) && at <= startsAt && startsAt - at <= window;
}

export async function changeVerdict(source: ChangeSource, window: number, targetName: string, target: ActionTarget, startsAt: number, signal?: AbortSignal): Promise<ChangeVerdict> {
  try {
    const change = await source.lastChange(targetName, target, startsAt, signal);
    return { recent: isRecent(change, startsAt, window), ...(change ? { change } : {}) };
  } catch (err) {
    return { recent: false, error: `the ${source.kind} change source could not say when ${targetName} was last rolled out: ${err instanceof Error ? err.message : String(err)}` };
  }
}
