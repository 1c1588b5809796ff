// The read API: actions, incidents, reverts and the audit log, newest first, filtered by service and time.
import { parseDuration, parseRfc3339 } from '@selfheal/contracts';
import type express from 'express';
import type { RequestHandler } from 'express';
import type { Store } from '../audit/types.js';
import { sendError, webhookErrors } from '../errors.js';

/** `since` as RFC 3339, Unix seconds, or a duration back from now ("1h"). */
export function parseSince(value: unknown): number | undefined | Error {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return new Error('since must be a single value');
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const d = parseDuration(value);
  if (d !== undefined) return Date.now() / 1000 - d;
  const t = parseRfc3339(value);
  return t === undefined ? new Error(`since="${value.slice(0, 50)}" is not a time (RFC 3339 with an offset, Unix seconds, or a duration like 1h)`) : t / 1000;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function registerReadRoutes(app: express.Express, requireAuth: RequestHandler, store: Store): void {
  app.get('/api/v1/actions', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const rows = await store.listActions({ service: one(req.query.service), since, limit: Number(one(req.query.limit) ?? 500) || 500 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) as unknown : null, change: r.change ? JSON.parse(r.change) as unknown : null })) });
  });
  app.get('/api/v1/incidents', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const state = one(req.query.state);
    if (state !== undefined && state !== 'open' && state !== 'resolved') { sendError(res, new webhookErrors.InvalidState()); return; }
    const rows = await store.listIncidents({ service: one(req.query.service), since, state, limit: Number(one(req.query.limit) ?? 500) || 500 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, labels: JSON.parse(r.labels) as unknown, annotations: JSON.parse(r.annotations) as unknown })) });
  });
  // Fixes that undo themselves: each revert (status, when it is due, what the fix replaced, what became of it).
  app.get('/api/v1/reverts', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const rows = await store.listReverts({ service: one(req.query.service), since, limit: Number(one(req.query.limit) ?? 500) || 500 });
    const json = (v: string | null): unknown => (v ? JSON.parse(v) as unknown : null);
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, plan: json(r.plan), fix_detail: json(r.fix_detail), detail: json(r.detail) })) });
  });
  app.get('/api/v1/audit', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const incident = one(req.query.incident);
    const rows = await store.listAudit({ since, incidentId: incident ? Number(incident) : undefined, limit: Number(one(req.query.limit) ?? 1000) || 1000 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) as unknown : null, change: r.change ? JSON.parse(r.change) as unknown : null })) });
  });
}
