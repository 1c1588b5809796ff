// POST /api/v1/alerts through express: every request the fast path (fast-alerts.ts) does not take.
import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendError, webhookErrors } from '../errors.js';
import type { AcceptAlerts } from '../receiver/accept.js';
import { JSON_TYPE } from './json-body.js';

export function registerAlertsRoute(app: express.Express, requireAuth: RequestHandler, json: RequestHandler[], acceptAlerts: AcceptAlerts): void {
  app.post('/api/v1/alerts', requireAuth, (req: Request, res: Response, next: NextFunction) => {
    // Alertmanager sends `Content-Type: application/json`; a body without a type is not taken for JSON.
    const type = req.headers['content-type'] ?? '';
    if (!JSON_TYPE.test(type)) {
      sendError(res, new webhookErrors.UnsupportedMediaType(type));
      return;
    }
    next();
  }, ...json, async (req: Request, res: Response) => {
    const answer = await acceptAlerts(req.body);
    res.status(answer.status).json(answer.body);
  });
}
