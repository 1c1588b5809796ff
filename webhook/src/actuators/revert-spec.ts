// How an action declares that it undoes itself: `revertAfter` (how long the anomaly score must stay below the
// threshold before the fix is reverted) and, for actuators that cannot infer the undo (http, exec), `revert`: the
// call that undoes it, in the actuator's own call schema. Both sit beside the action's parameters (a target's
// `actions.NAME`, a rule's `params`) and are split off before the actuator's schema sees them.
import { isRevertible, type ActionName } from '@selfheal/contracts';
import { duration } from '../util/schema-parts.js';
import { actionParamsSchema, type ActuatorType } from './registry.js';

/** A validated revert declaration. */
export interface RevertSpec {
  /** Seconds the anomaly score must stay below the threshold before the revert runs. */
  after: number;
  /** http/exec: the call that undoes the fix (validated against the actuator's call schema). Kubernetes infers it. */
  call?: unknown;
}

export interface RevertIssue {
  path: string[];
  message: string;
}

/** Actuators that know how to undo their own fixes from what they recorded (the previous value). */
const INFERS_REVERT: ReadonlySet<ActuatorType> = new Set<ActuatorType>(['kubernetes']);

const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Splits an action's settings into the actuator's parameters and the revert declaration, with the problems of the
 * latter (paths relative to the settings object). Settings that are not an object are passed through untouched.
 */
export function splitRevert(type: ActuatorType, action: ActionName, raw: unknown): { params: unknown; revert?: RevertSpec; issues: RevertIssue[] } {
  if (!plain(raw) || (!('revertAfter' in raw) && !('revert' in raw))) return { params: raw, issues: [] };
  const { revertAfter, revert, ...params } = raw;
  const issues: RevertIssue[] = [];
  if (!isRevertible(action)) {
    const key = revertAfter !== undefined ? 'revertAfter' : 'revert';
    issues.push({ path: [key], message: `${action} cannot be reverted: a rollout restart replaces the pods and leaves nothing to put back (a rollback neither: it is a change of its own); remove ${key}` });
    return { params, issues };
  }
  let after: number | undefined;
  if (revertAfter === undefined) {
    issues.push({ path: ['revertAfter'], message: 'revert is declared but revertAfter is missing: say how long the anomaly score must stay below 1 before the fix is reverted (e.g. revertAfter: 30m)' });
  } else {
    const parsed = duration.safeParse(revertAfter);
    if (!parsed.success) issues.push({ path: ['revertAfter'], message: parsed.error.issues[0]?.message ?? 'must be a duration' });
    else if (parsed.data <= 0) issues.push({ path: ['revertAfter'], message: 'must be more than 0 (the anomaly score must stay below 1 for some time before the fix is reverted)' });
    else after = parsed.data;
  }
  let call: unknown;
  if (INFERS_REVERT.has(type)) {
    if (revert !== undefined) issues.push({ path: ['revert'], message: `the ${type} actuator reverts ${action} by itself (it records the value the fix replaced); remove revert and keep revertAfter` });
  } else if (revert === undefined) {
    if (after !== undefined) issues.push({ path: ['revert'], message: `the ${type} actuator cannot know how to undo ${action}: declare the call that undoes it under revert (${type === 'http' ? 'e.g. revert: {url: ..., method: POST}' : 'e.g. revert: {argv: [...]}'})` });
  } else {
    const parsed = actionParamsSchema(type, action).safeParse(revert);
    if (!parsed.success) for (const issue of parsed.error.issues) issues.push({ path: ['revert', ...issue.path.map(String)], message: issue.message });
    else call = parsed.data;
  }
  if (issues.length > 0 || after === undefined) return { params, issues };
  return { params, revert: call === undefined ? { after } : { after, call }, issues };
}
