// The express app of the healing service: probes, the receiver's route, the read, pause, approvals and efficacy APIs, and the
// answers for everything else (404, body-parser errors, internal errors).
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Store } from '../audit/types.js';
import type { Config } from '../config/schema.js';
import { sendError, webhookErrors } from '../errors.js';
import type { PauseSwitch } from '../guardrails/pause.js';
import type { HealingMetrics } from '../metrics.js';
import type { AcceptAlerts } from '../receiver/accept.js';
import { registerAlertsRoute } from './alerts-route.js';
import type { AcceptSns } from '../receiver/sns/accept-sns.js';
import { registerSnsRoute } from './sns-route.js';
import { registerApprovalRoutes } from './approval-routes.js';
import { registerEfficacyRoutes } from './efficacy-routes.js';
import type { EfficacyConfig } from '../ledger/ledger.js';
import { jsonBody } from './json-body.js';
import { registerPauseRoutes } from './pause-routes.js';
import { registerProbes } from './probes.js';
import { registerReadRoutes } from './read-routes.js';

export interface ApiDeps {
  auth: Config['auth'];
  authenticate(header: string | undefined): boolean;
  /** In bytes. */
  bodyLimit: number;
  /** As configured, for the 413 message. */
  bodyLimitText: string;
  store: Store;
  metrics: HealingMetrics;
  pause: PauseSwitch;
  logger: Logger;
  acceptAlerts: AcceptAlerts;
  /** Deliveries of Amazon SNS (config `sns`); undefined: POST /api/v1/alerts/sns is 404. */
  acceptSns?: AcceptSns;
  /** False until the service has started (readiness). */
  started(): boolean;
  /** The engine's clock, and how a decision on an approval reaches the engine (approvals API). */
  now(): number;
  onApprovalDecided(incidentId: number): void;
  /** The efficacy ledger's window and demotion floor (config `efficacy`). */
  efficacy: EfficacyConfig;
}

export function createApiApp(d: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    res.on('finish', () => {
      if (req.path.startsWith('/api/v1/alerts')) d.metrics.requests.inc({ code: String(res.statusCode) });
    });
    next();
  });
  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (d.authenticate(req.headers.authorization)) return next();
    res.setHeader('WWW-Authenticate', d.auth.type === 'basic' ? 'Basic realm="selfheal"' : 'Bearer realm="selfheal"');
    sendError(res, new webhookErrors.Unauthorized());
  };
  const json = jsonBody(d.bodyLimit);

  registerProbes(app, d);
  registerAlertsRoute(app, requireAuth, json, d.acceptAlerts);
  if (d.acceptSns) registerSnsRoute(app, express.text({ limit: d.bodyLimit, type: () => true }), d.acceptSns);
  registerReadRoutes(app, requireAuth, d.store);
  registerPauseRoutes(app, requireAuth, json, d.pause, d.logger);
  registerApprovalRoutes(app, requireAuth, json, d);
  registerEfficacyRoutes(app, requireAuth, json, d);

  app.use((_req, res) => { sendError(res, new webhookErrors.NotFound()); });
  // body-parser errors carry an HTTP status (400 malformed JSON, 413 too large, 415 charset); anything else is ours.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status === 500) d.logger.error({ err }, 'request failed');
    const error = e.type === 'entity.parse.failed' ? new webhookErrors.InvalidJson(e.message ?? '')
      : e.type === 'entity.too.large' ? new webhookErrors.BodyTooLarge(d.bodyLimitText)
      : e.type === 'request.aborted' ? new webhookErrors.RequestAborted()
      : status === 415 ? new webhookErrors.UnsupportedBodyEncoding(e.message ?? 'unsupported body encoding')
      : status === 500 ? new webhookErrors.Internal()
      : new webhookErrors.BadRequest(e.message ?? 'bad request');
    if (!res.headersSent) sendError(res, error);
  });
  return app;
}
