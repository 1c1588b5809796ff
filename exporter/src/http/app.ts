// The exporter's HTTP interface (express): metrics, health, readiness, and the entities as JSON.
import express, { type Express, type Response } from 'express';
import type { CatalogueError } from '@selfheal/contracts';
import { errorResponse, exporterErrors } from './errors.js';
import type { EntityReport } from './types.js';

/** What the HTTP layer needs from the service. */
export interface ExporterHttpSource {
  readonly ready: boolean;
  readonly contentType: string;
  metricsText(): Promise<string>;
  entities(group?: string): EntityReport[];
}

function sendError(res: Response, error: CatalogueError): void {
  const answer = errorResponse(error);
  res.status(answer.status).set(answer.headers).type('text/plain').send(answer.body);
}

export function createApp(source: ExporterHttpSource): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/metrics', async (_req, res) => {
    try {
      res.type(source.contentType).send(await source.metricsText());
    } catch (error) {
      sendError(res, new exporterErrors.MetricsFailed((error as Error).message));
    }
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('Selfheal exporter is Healthy.\n');
  });
  app.get('/-/ready', (_req, res) => {
    if (source.ready) res.type('text/plain').send('Selfheal exporter is Ready.\n');
    else sendError(res, new exporterErrors.NotReady());
  });
  app.get('/api/v1/entities', (req, res) => {
    const group = typeof req.query.group === 'string' ? req.query.group : undefined;
    res.json({ status: 'success', data: source.entities(group) });
  });
  app.get('/', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><title>Selfheal exporter</title><h1>Selfheal anomaly exporter</h1><ul>' +
          '<li><a href="metrics">/metrics</a></li><li><a href="api/v1/entities">/api/v1/entities</a></li>' +
          '<li><a href="-/healthy">/-/healthy</a></li><li><a href="-/ready">/-/ready</a></li></ul>',
      );
  });
  app.use((_req, res) => {
    sendError(res, new exporterErrors.NotFound());
  });
  return app;
}
