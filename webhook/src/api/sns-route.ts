// POST /api/v1/alerts/sns: deliveries of Amazon SNS (receiver/sns/). SNS sends its JSON document as
// `Content-Type: text/plain; charset=UTF-8`, so the body is read as text whatever its type. The service's `auth`
// does not apply here (SNS cannot send a bearer token): each message is authenticated by its SNS signature and
// its topic's place on the allow-list.
import type express from 'express';
import type { Request, Response } from 'express';
import { sendError, webhookErrors } from '../errors.js';
import type { AcceptSns } from '../receiver/sns/accept-sns.js';
import { parseJsonBody } from './json-body.js';

export function registerSnsRoute(app: express.Express, text: express.RequestHandler, acceptSns: AcceptSns): void {
  app.post('/api/v1/alerts/sns', text, async (req: Request, res: Response) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    if (raw === '') {
      sendError(res, new webhookErrors.SnsInvalidMessage('the body is empty'));
      return;
    }
    const parsed = parseJsonBody(raw);
    if ('error' in parsed) {
      sendError(res, new webhookErrors.SnsInvalidMessage(parsed.error.message));
      return;
    }
    const answer = await acceptSns(parsed.body);
    res.status(answer.status).json(answer.body);
  });
}
