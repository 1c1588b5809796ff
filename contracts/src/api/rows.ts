// The healing service's API rows (GET /api/v1/actions, /incidents, /audit) exactly as the API answers them:
// the store's rows with their JSON columns (detail, labels, annotations) already parsed. Times are seconds
// since the epoch (floats) unless the name says otherwise (`starts_at`, `resolved_at`: Alertmanager's RFC 3339).
// The schemas are strict: a field the API adds or drops fails parsing with its name, so this file and the
// service's store (webhook/src/audit/types.ts) move together. Action names, statuses and phases are the
// vocabulary of actions/ (the store's columns are typed by it too).
import { z } from 'zod';
import { ACTIONS } from '../actions/actions.js';
import { APPROVAL_STATUSES, ACTION_STATUSES, INCIDENT_PHASES, REVERT_STATUSES } from '../actions/records.js';

const epochSeconds = z.number();
const labelSet = z.record(z.string(), z.string());

/** The change a decision relied on (the workload's last rollout before the anomaly), or null. */
export const changeRecordSchema = z.strictObject({
  at: z.string(),
  revision: z.string().optional(),
  source: z.enum(['kubernetes', 'prometheus']),
});

export const actionRowSchema = z.strictObject({
  id: z.number().int(),
  incident_id: z.number().int(),
  service: z.string(),
  action: z.enum(ACTIONS),
  target: z.string(),
  rule: z.string(),
  step: z.number().int(),
  status: z.enum(ACTION_STATUSES),
  reason: z.string().nullable(),
  /** What the actuator reported (JSON), or null. */
  detail: z.unknown(),
  /** The change (rollout) the decision relied on (`when: recentChange` / `noRecentChange` rules), or null. */
  change: changeRecordSchema.nullable(),
  started_at: epochSeconds,
  finished_at: epochSeconds.nullable(),
  cooldown_until: epochSeconds.nullable(),
});
export type ActionRow = z.infer<typeof actionRowSchema>;

export const incidentRowSchema = z.strictObject({
  id: z.number().int(),
  key: z.string(),
  fingerprint: z.string(),
  starts_at: z.string(),
  service: z.string().nullable(),
  alertname: z.string().nullable(),
  labels: labelSet,
  annotations: labelSet,
  phase: z.enum(INCIDENT_PHASES),
  result: z.string().nullable(),
  reason: z.string().nullable(),
  rule: z.string().nullable(),
  target: z.string().nullable(),
  step: z.number().int(),
  notifications: z.number().int(),
  received_at: epochSeconds,
  updated_at: epochSeconds,
  resolved_at: z.string().nullable(),
  recovery_seconds: z.number().nullable(),
  /** The replica working on it (PostgreSQL, several replicas); null: nobody yet, or SQLite. */
  owner: z.string().nullable(),
  deferred_until: epochSeconds.nullable(),
  defer_deadline: epochSeconds.nullable(),
});
export type IncidentRow = z.infer<typeof incidentRowSchema>;

export const auditRowSchema = z.strictObject({
  id: z.number().int(),
  ts: epochSeconds,
  event: z.string(),
  incident_id: z.number().int().nullable(),
  fingerprint: z.string().nullable(),
  service: z.string().nullable(),
  action: z.enum(ACTIONS).nullable(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  detail: z.unknown(),
  /** The change (rollout) the decision relied on, or null. */
  change: changeRecordSchema.nullable(),
});
export type AuditRow = z.infer<typeof auditRowSchema>;

/**
 * An approval (GET /api/v1/approvals): an action in `approve` mode waiting for a person, or what the person did.
 * `evidence`: what the alert said (alertname, feature, anomaly score, summary) when it was requested.
 */
export const approvalRowSchema = z.strictObject({
  id: z.number().int(),
  incident_id: z.number().int(),
  /** The action row of the request (status pending_approval, then approved / rejected / expired / cancelled). */
  action_id: z.number().int().nullable(),
  step: z.number().int(),
  service: z.string(),
  action: z.enum(ACTIONS),
  target: z.string(),
  rule: z.string(),
  status: z.enum(APPROVAL_STATUSES),
  requested_at: epochSeconds,
  expires_at: epochSeconds,
  decided_at: epochSeconds.nullable(),
  /** Who approved or rejected it, as they named themselves (the API's credentials authenticate the request). */
  decided_by: z.string().nullable(),
  decision_reason: z.string().nullable(),
  notified_at: epochSeconds.nullable(),
  evidence: z.record(z.string(), z.string()),
});
export type ApprovalRow = z.infer<typeof approvalRowSchema>;

/**
 * A revert of a fix that undoes itself (GET /api/v1/reverts): one per fix with `revertAfter`, from `waiting` to
 * `reverted` (the fix undone, the anomaly did not come back) or `reapplied` (it came back: the fix was put back).
 */
export const revertRowSchema = z.strictObject({
  id: z.number().int(),
  /** The fix it undoes (the action row). */
  action_id: z.number().int(),
  incident_id: z.number().int(),
  service: z.string(),
  action: z.enum(ACTIONS),
  target: z.string(),
  rule: z.string(),
  status: z.enum(REVERT_STATUSES),
  /** revertAfter, in seconds. */
  after_seconds: z.number(),
  due_at: epochSeconds,
  /** What the revert needs from the plan (the fix's parameters; http/exec: the undoing call). */
  plan: z.unknown(),
  /** The fix's detail (the value it replaced). */
  fix_detail: z.unknown(),
  reason: z.string().nullable(),
  detail: z.unknown(),
  owner: z.string().nullable(),
  created_at: epochSeconds,
  started_at: epochSeconds.nullable(),
  finished_at: epochSeconds.nullable(),
});
export type RevertRow = z.infer<typeof revertRowSchema>;

/** The API's envelope: `{status: "success", data}` or `{status: "error", error}`. */
export const apiErrorSchema = z.object({ status: z.literal('error'), error: z.string() });
export const actionsResponseSchema = z.strictObject({ status: z.literal('success'), data: z.array(actionRowSchema) });
export const incidentsResponseSchema = z.strictObject({ status: z.literal('success'), data: z.array(incidentRowSchema) });
export const auditResponseSchema = z.strictObject({ status: z.literal('success'), data: z.array(auditRowSchema) });
export const approvalsResponseSchema = z.strictObject({ status: z.literal('success'), data: z.array(approvalRowSchema) });
export const revertsResponseSchema = z.strictObject({ status: z.literal('success'), data: z.array(revertRowSchema) });
