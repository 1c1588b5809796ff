// Every error the healing service's HTTP interface answers with: code, message and status, defined once.
// Bodies are {status: "error", error: message, code}; tests and clients match on `code`.
import { defineCatalogue, defineError, type CatalogueError } from '@selfheal/contracts';

export const webhookErrors = defineCatalogue({
  // Receiver (POST /api/v1/alerts) and every authenticated endpoint.
  Unauthorized: defineError('SELFHEAL_UNAUTHORIZED', () => 'unauthorized: missing or wrong credentials', 401),
  UnsupportedMediaType: defineError('SELFHEAL_UNSUPPORTED_MEDIA_TYPE', (type: string) => `Content-Type must be application/json, got ${type ? `"${type.slice(0, 100)}"` : 'none'}`, 415),
  UnsupportedBodyEncoding: defineError('SELFHEAL_UNSUPPORTED_BODY_ENCODING', (reason: string) => reason, 415),
  BodyTooLarge: defineError('SELFHEAL_BODY_TOO_LARGE', (limit: string) => `body larger than ${limit}`, 413),
  InvalidJson: defineError('SELFHEAL_INVALID_JSON', (reason: string) => `body is not valid JSON: ${reason.slice(0, 200)}`, 400),
  LengthMismatch: defineError('SELFHEAL_LENGTH_MISMATCH', (size: number, length: number) => `body length ${size} does not match Content-Length ${length}`, 400),
  RequestAborted: defineError('SELFHEAL_REQUEST_ABORTED', () => 'request aborted', 400),
  BadRequest: defineError('SELFHEAL_BAD_REQUEST', (reason: string) => reason, 400),
  InvalidPayload: defineError('SELFHEAL_INVALID_PAYLOAD', (problems: readonly string[]) => `invalid Alertmanager webhook payload: ${problems.join('; ')}`, 400),
  NotRecorded: defineError('SELFHEAL_NOT_RECORDED', () => 'could not record the alerts durably; retry', 500),
  // Amazon SNS deliveries (POST /api/v1/alerts/sns).
  SnsRefused: defineError('SELFHEAL_SNS_REFUSED', (reason: string) => `SNS message refused: ${reason}`, 403),
  SnsInvalidMessage: defineError('SELFHEAL_SNS_INVALID_MESSAGE', (reason: string) => `not an Amazon SNS message: ${reason}`, 400),
  SnsInvalidAlerts: defineError('SELFHEAL_SNS_INVALID_ALERTS', (reason: string) => `the SNS notification does not hold alert manager's JSON message: ${reason}`, 400),
  SnsUnavailable: defineError('SELFHEAL_SNS_UNAVAILABLE', (reason: string) => reason, 502),
  // Read and pause API.
  InvalidSince: defineError('SELFHEAL_INVALID_SINCE', (reason: string) => reason, 400),
  InvalidState: defineError('SELFHEAL_INVALID_STATE', () => 'state must be open or resolved', 400),
  InvalidPauseBody: defineError('SELFHEAL_INVALID_PAUSE_BODY', () => 'body must be {"paused": true|false, "reason"?: string}', 400),
  NotFound: defineError('SELFHEAL_NOT_FOUND', () => 'not found', 404),
  // Approvals API (approve mode).
  InvalidApprovalId: defineError('SELFHEAL_INVALID_APPROVAL_ID', (id: string) => `approval id "${id.slice(0, 50)}" is not a positive integer`, 400),
  InvalidApprovalBody: defineError('SELFHEAL_INVALID_APPROVAL_BODY', (problem: string) => `${problem}; the body is {"decision": "approve" | "reject", "by": "<who>", "reason"?: "<why>"}`, 400),
  InvalidApprovalStatus: defineError('SELFHEAL_INVALID_APPROVAL_STATUS', (statuses: readonly string[]) => `status must be one of ${statuses.join(', ')}`, 400),
  ApprovalNotFound: defineError('SELFHEAL_APPROVAL_NOT_FOUND', (id: number) => `no approval with id ${id}`, 404),
  ApprovalAlreadyDecided: defineError('SELFHEAL_APPROVAL_ALREADY_DECIDED', (id: number, what: string) => `approval ${id} was already decided: ${what}`, 409),
  ApprovalExpired: defineError('SELFHEAL_APPROVAL_EXPIRED', (id: number, at: string) => `approval ${id} expired at ${at}; the action will not run (escalated to people)`, 409),
  ApprovalAlertResolved: defineError('SELFHEAL_APPROVAL_ALERT_RESOLVED', (id: number) => `approval ${id} is cancelled: its alert resolved while it waited; the action will not run`, 409),
  // Efficacy ledger: demotions.
  InvalidDemotionBody: defineError('SELFHEAL_INVALID_DEMOTION_BODY', (problem: string) => `${problem}; the body is {"by": "<who>", "reason"?: "<why>"}`, 400),
  InvalidDemotionStatus: defineError('SELFHEAL_INVALID_DEMOTION_STATUS', () => 'status must be active or lifted', 400),
  DemotionNotFound: defineError('SELFHEAL_DEMOTION_NOT_FOUND', (target: string, action: string) => `no active demotion of ${action.slice(0, 50)} on target ${target.slice(0, 100)}`, 404),
  Internal: defineError('SELFHEAL_INTERNAL', () => 'internal error', 500),
});

/** The JSON body of an error answer. */
export function errorBody(error: CatalogueError): { status: 'error'; error: string; code: string } {
  return { status: 'error', error: error.message, code: error.code };
}

/** An error of the catalogue as the status and body of an answer (the receiver's answers, whichever HTTP path). */
export function errorAnswer(error: CatalogueError): { status: number; body: Record<string, unknown> } {
  return { status: error.statusCode, body: errorBody(error) };
}

/** Answers an express request with an error of the catalogue. */
export function sendError(res: { status(code: number): { json(body: unknown): unknown } }, error: CatalogueError): void {
  res.status(error.statusCode).json(errorBody(error));
}
