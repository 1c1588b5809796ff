// The common case of POST /api/v1/alerts without express's router and body parser (a fifth of the CPU per
// alert): authenticated, JSON, identity-encoded, with a Content-Length within bodyLimit. Anything else (bad
// credentials, other types, encodings, chunked or oversized bodies) goes through express, which answers it
// exactly as before.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CatalogueError } from '@selfheal/contracts';
import type { Logger } from 'pino';
import { errorAnswer, webhookErrors } from '../errors.js';
import type { HealingMetrics } from '../metrics.js';
import type { AcceptAlerts } from '../receiver/accept.js';
import { parseJsonBody } from './json-body.js';

export interface FastAlertsDeps {
  bodyLimit: number;
  authenticate(header: string | undefined): boolean;
  acceptAlerts: AcceptAlerts;
  metrics: HealingMetrics;
  logger: Logger;
}

/** A request handler that returns false when it did not take the request (express answers it then). */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function makeFastAlerts(d: FastAlertsDeps): FastPath {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/v1/alerts') return false;
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!Number.isInteger(length) || length <= 0 || length > d.bodyLimit || h['transfer-encoding'] !== undefined) return false;
    if ((h['content-encoding'] ?? 'identity').toLowerCase() !== 'identity' || !/^application\/(.+\+)?json\s*(;\s*charset=utf-8\s*)?$/i.test(h['content-type'] ?? '')) return false;
    if (!d.authenticate(h.authorization)) return false;
    const chunks: Buffer[] = [];
    let size = 0;
    const send = (status: number, body: Record<string, unknown>) => {
      const text = JSON.stringify(body);
      d.metrics.requests.inc({ code: String(status) });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const sendFailure = (error: CatalogueError) => { const a = errorAnswer(error); send(a.status, a.body); };
    req.on('data', (c: Buffer) => { size += c.length; if (size <= length) chunks.push(c); });
    req.on('error', () => { if (!res.headersSent) sendFailure(new webhookErrors.RequestAborted()); });
    req.on('end', () => {
      if (size !== length) { sendFailure(new webhookErrors.LengthMismatch(size, length)); return; }
      const parsed = parseJsonBody(Buffer.concat(chunks, size).toString('utf8'));
      if ('error' in parsed) { sendFailure(parsed.error); return; }
      d.acceptAlerts(parsed.body).then((a) => send(a.status, a.body), (err: unknown) => {
        d.logger.error({ err }, 'request failed');
        sendFailure(new webhookErrors.Internal());
      });
    });
    return true;
  };
}
