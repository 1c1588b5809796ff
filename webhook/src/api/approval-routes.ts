// The approvals API (approve mode), authenticated like every API endpoint (the service's `auth`: bearer token or
// basic auth): list approvals, read one, and decide one: POST /api/v1/approvals/{id} with
// {"decision": "approve" | "reject", "by": "<who>", "reason": "<why>"}. The decision is written durably with the
// person's name and reason (approvals table, action row, audit `approved` / `rejected`), then the incident's wait
// ends: here at once, on another replica at its next look (a few seconds). Bad input gets a named error: an
// unknown id 404, one already decided, expired or cancelled 409.
import { APPROVAL_STATUSES, type ApprovalStatus } from '@selfheal/contracts';
import type express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { approvalsOf, type ApprovalRecord } from '../audit/approvals.js';
import type { Store } from '../audit/types.js';
import { sendError, webhookErrors } from '../errors.js';
import type { HealingMetrics } from '../metrics.js';
import { parseSince } from './read-routes.js';

export interface ApprovalRouteDeps {
  store: Store;
  metrics: HealingMetrics;
  logger: Logger;
  /** The engine's clock (expiry is decided on it). */
  now(): number;
  /** Ends the incident's wait in this process. */
  onApprovalDecided(incidentId: number): void;
}

const iso = (s: number): string => new Date(s * 1000).toISOString();

/** An approval as the API answers it (evidence parsed). */
function view(r: ApprovalRecord): Record<string, unknown> {
  return { ...r, evidence: JSON.parse(r.evidence) as unknown };
}

function describeDecided(r: ApprovalRecord): string {
  if (r.status === 'approved' || r.status === 'rejected') {
    return `${r.status} by ${r.decided_by ?? 'unknown'} at ${iso(r.decided_at ?? 0)}${r.decision_reason ? ` (${r.decision_reason})` : ''}`;
  }
  if (r.status === 'expired') return `expired at ${iso(r.expires_at)}`;
  return 'cancelled: its alert resolved while it waited';
}

/** The largest id either database stores (a 32-bit INTEGER column). */
const MAX_ID = 2_147_483_647;

function parseId(req: Request, res: Response): number | undefined {
  const raw = String(req.params.id ?? '');
  if (!/^[1-9][0-9]{0,9}$/.test(raw)) {
    sendError(res, new webhookErrors.InvalidApprovalId(raw));
    return undefined;
  }
  const id = Number(raw);
  if (id > MAX_ID) {
    sendError(res, new webhookErrors.ApprovalNotFound(id)); // no such id can exist (PostgreSQL would refuse to compare it)
    return undefined;
  }
  return id;
}

/** The decision body, or what is wrong with it. */
function parseDecision(body: unknown): { decision: 'approve' | 'reject'; by: string; reason?: string } | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!['decision', 'by', 'reason'].includes(key)) return `unknown field "${key.slice(0, 50)}"`;
  if (b.decision !== 'approve' && b.decision !== 'reject') return 'decision: must be "approve" or "reject"';
  if (typeof b.by !== 'string' || b.by.trim() === '') return 'by: must name who decides (a non-empty string)';
  if (b.by.length > 200) return 'by: at most 200 characters';
  if (b.reason !== undefined && typeof b.reason !== 'string') return 'reason: must be a string';
  if (typeof b.reason === 'string' && b.reason.length > 1000) return 'reason: at most 1000 characters';
  return { decision: b.decision, by: b.by.trim(), reason: typeof b.reason === 'string' && b.reason.trim() !== '' ? b.reason.trim() : undefined };
}

export function registerApprovalRoutes(app: express.Express, requireAuth: RequestHandler, json: RequestHandler[], d: ApprovalRouteDeps): void {
  const approvals = approvalsOf(d.store);

  app.get('/api/v1/approvals', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const status = typeof req.query.status === 'string' && req.query.status !== '' ? req.query.status : undefined;
    if (status !== undefined && !(APPROVAL_STATUSES as readonly string[]).includes(status)) { sendError(res, new webhookErrors.InvalidApprovalStatus(APPROVAL_STATUSES)); return; }
    const service = typeof req.query.service === 'string' && req.query.service !== '' ? req.query.service : undefined;
    const limit = Number(typeof req.query.limit === 'string' ? req.query.limit : 500) || 500;
    const rows = await approvals.list({ status: status as ApprovalStatus | undefined, service, since, limit });
    res.json({ status: 'success', data: rows.map(view) });
  });

  app.get('/api/v1/approvals/:id', requireAuth, async (req, res) => {
    const id = parseId(req, res);
    if (id === undefined) return;
    const row = await approvals.get(id);
    if (!row) { sendError(res, new webhookErrors.ApprovalNotFound(id)); return; }
    res.json({ status: 'success', data: view(row) });
  });

  app.post('/api/v1/approvals/:id', requireAuth, ...json, async (req: Request, res: Response) => {
    const id = parseId(req, res);
    if (id === undefined) return;
    const body = parseDecision(req.body);
    if (typeof body === 'string') { sendError(res, new webhookErrors.InvalidApprovalBody(body)); return; }
    const now = d.now();
    const result = await approvals.decide(id, body.decision, body.by, body.reason, now);
    switch (result.kind) {
      case 'not_found':
        sendError(res, new webhookErrors.ApprovalNotFound(id));
        return;
      case 'decided':
        sendError(res, new webhookErrors.ApprovalAlreadyDecided(id, describeDecided(result.approval)));
        return;
      case 'expired':
        d.onApprovalDecided(result.approval.incident_id); // the engine expires and escalates it now
        sendError(res, new webhookErrors.ApprovalExpired(id, iso(result.approval.expires_at)));
        return;
      case 'resolved':
        d.onApprovalDecided(result.approval.incident_id); // the engine cancels it now
        sendError(res, new webhookErrors.ApprovalAlertResolved(id));
        return;
      default: {
        const a = result.approval;
        d.metrics.recordOutcome(a.service, a.action, result.kind, now);
        d.logger.warn({ approval: id, incident: a.incident_id, action: a.action, target: a.target, decision: result.kind, by: body.by, reason: body.reason }, `action ${result.kind} through the API`);
        d.onApprovalDecided(a.incident_id);
        res.json({ status: 'success', data: view(a) });
      }
    }
  });
}
