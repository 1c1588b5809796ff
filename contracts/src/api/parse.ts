// Reading the healing service's API answers through the row schemas: anything else is an error naming the
// endpoint and the first field that does not match (`data.3.status: Invalid option ...`).
import { z } from 'zod';
import { actionsResponseSchema, apiErrorSchema, approvalsResponseSchema, auditResponseSchema, incidentsResponseSchema, revertsResponseSchema, type ActionRow, type ApprovalRow, type AuditRow, type IncidentRow, type RevertRow } from './rows.js';

export class ApiResponseError extends Error {
  constructor(
    readonly endpoint: string,
    /** Dotted path of the first field that did not match ('' for the whole body). */
    readonly field: string,
    problem: string,
  ) {
    super(`${endpoint}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'ApiResponseError';
  }
}

function parseWith<T>(schema: z.ZodType<{ data: T }>, endpoint: string, body: unknown): T {
  const error = apiErrorSchema.safeParse(body);
  if (error.success) throw new ApiResponseError(endpoint, '', `the service answered an error: ${error.data.error}`);
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data.data;
  const issue = parsed.error.issues[0];
  throw new ApiResponseError(endpoint, issue ? issue.path.map(String).join('.') : '', issue?.message ?? 'does not match');
}

/** The rows of a GET /api/v1/actions answer. */
export const parseActionsResponse = (body: unknown, endpoint = 'GET /api/v1/actions'): ActionRow[] => parseWith(actionsResponseSchema, endpoint, body);
/** The rows of a GET /api/v1/incidents answer. */
export const parseIncidentsResponse = (body: unknown, endpoint = 'GET /api/v1/incidents'): IncidentRow[] => parseWith(incidentsResponseSchema, endpoint, body);
/** The rows of a GET /api/v1/audit answer. */
export const parseAuditResponse = (body: unknown, endpoint = 'GET /api/v1/audit'): AuditRow[] => parseWith(auditResponseSchema, endpoint, body);
/** The rows of a GET /api/v1/approvals answer. */
export const parseApprovalsResponse = (body: unknown, endpoint = 'GET /api/v1/approvals'): ApprovalRow[] => parseWith(approvalsResponseSchema, endpoint, body);
/** The rows of a GET /api/v1/reverts answer. */
export const parseRevertsResponse = (body: unknown, endpoint = 'GET /api/v1/reverts'): RevertRow[] => parseWith(revertsResponseSchema, endpoint, body);
