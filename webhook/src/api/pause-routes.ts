// GET/POST /api/v1/pause: the pause switch (no action runs while paused; each decision is recorded as skipped).
import type express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { sendError, webhookErrors } from '../errors.js';
import type { PauseSwitch } from '../guardrails/pause.js';

export function registerPauseRoutes(app: express.Express, requireAuth: RequestHandler, json: RequestHandler[], pause: PauseSwitch, logger: Logger): void {
  app.get('/api/v1/pause', requireAuth, async (_req, res) => { res.json({ status: 'success', data: await pause.state() }); });
  app.post('/api/v1/pause', requireAuth, ...json, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { paused?: unknown; reason?: unknown };
    const paused = body.paused === undefined ? true : body.paused;
    if (typeof paused !== 'boolean' || (body.reason !== undefined && typeof body.reason !== 'string')) {
      sendError(res, new webhookErrors.InvalidPauseBody());
      return;
    }
    const state = await pause.set(paused, typeof body.reason === 'string' ? body.reason.slice(0, 500) : undefined);
    logger.warn({ paused, reason: body.reason }, paused ? 'healing paused through the API' : 'healing resumed through the API');
    res.json({ status: 'success', data: state });
  });
}
