// The efficacy ledger's API, authenticated like every API endpoint: GET /api/v1/efficacy (success rate and time to
// recover per (feature, action, target) and aggregated, the active demotions, and what healing costs, over
// efficacy.window), GET /api/v1/demotions (?status=active|lifted), and POST /api/v1/demotions/{target}/{action}/lift
// with {"by": "<who>", "reason": "<why>"}: a person lifts a demotion, recorded with who and why (audit
// `demotion_lifted`); the action runs in its configured mode again. Unknown demotion: 404; bad body: 400, named.
import type express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Store } from '../audit/types.js';
import { sendError, webhookErrors } from '../errors.js';
import { ledgerOf, type EfficacyConfig } from '../ledger/ledger.js';

export interface EfficacyRouteDeps {
  store: Store;
  logger: Logger;
  now(): number;
  efficacy: EfficacyConfig;
}

/** The lift body, or what is wrong with it. */
function parseLift(body: unknown): { by: string; reason?: string } | string {
  if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!['by', 'reason'].includes(key)) return `unknown field "${key.slice(0, 50)}"`;
  if (typeof b.by !== 'string' || b.by.trim() === '') return 'by: must name who lifts the demotion (a non-empty string)';
  if (b.by.length > 200) return 'by: at most 200 characters';
  if (b.reason !== undefined && typeof b.reason !== 'string') return 'reason: must be a string';
  if (typeof b.reason === 'string' && b.reason.length > 1000) return 'reason: at most 1000 characters';
  return { by: b.by.trim(), reason: typeof b.reason === 'string' && b.reason.trim() !== '' ? b.reason.trim() : undefined };
}

export function registerEfficacyRoutes(app: express.Express, requireAuth: RequestHandler, json: RequestHandler[], d: EfficacyRouteDeps): void {
  const ledger = ledgerOf(d.store);

  app.get('/api/v1/efficacy', requireAuth, async (_req, res) => {
    res.json({ status: 'success', data: await ledger.efficacy(d.efficacy, d.now()) });
  });

  app.get('/api/v1/demotions', requireAuth, async (req, res) => {
    const status = typeof req.query.status === 'string' && req.query.status !== '' ? req.query.status : undefined;
    if (status !== undefined && status !== 'active' && status !== 'lifted') { sendError(res, new webhookErrors.InvalidDemotionStatus()); return; }
    res.json({ status: 'success', data: await ledger.demotions(status) });
  });

  app.post('/api/v1/demotions/:target/:action/lift', requireAuth, ...json, async (req: Request, res: Response) => {
    const target = String(req.params.target ?? '');
    const action = String(req.params.action ?? '');
    const body = parseLift(req.body);
    if (typeof body === 'string') { sendError(res, new webhookErrors.InvalidDemotionBody(body)); return; }
    const row = await ledger.lift(target, action, body.by, body.reason, d.now());
    if (!row) { sendError(res, new webhookErrors.DemotionNotFound(target, action)); return; }
    d.logger.warn({ target, action, by: body.by, reason: body.reason }, 'demotion lifted through the API');
    res.json({ status: 'success', data: row });
  });
}
