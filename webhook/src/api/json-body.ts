// Reading a JSON request body, the same way on the express routes and on the fast path of POST /api/v1/alerts.
import type { CatalogueError } from '@selfheal/contracts';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { sendError, webhookErrors } from '../errors.js';

/** application/json or a +json type, with parameters (charset) or without. */
export const JSON_TYPE = /^application\/([\w.!#$&^-]+\+)?json\s*(;.*)?$/i;

// `__proto__` keys would be silently dropped by object construction: refuse them outright. The reviver
// (slow) only runs when the text could contain one, escaped or not.
const reviver = (key: string, value: unknown): unknown => {
  if (key === '__proto__') throw new SyntaxError('"__proto__" is not allowed as a key');
  return value;
};

/** The parsed body, or the 400 error (SELFHEAL_INVALID_JSON) for text that is not JSON. */
export function parseJsonBody(raw: string): { body: unknown } | { error: CatalogueError } {
  try {
    return { body: raw === '' ? undefined : JSON.parse(raw, /__proto__|\\u/.test(raw) ? reviver : undefined) };
  } catch (err) {
    return { error: new webhookErrors.InvalidJson((err as Error).message) };
  }
}

/** express middleware: the body as text up to `limit` bytes (any Content-Type), then parsed as JSON. */
export function jsonBody(limit: number): RequestHandler[] {
  const text = express.text({ limit, type: () => true });
  const parse = (req: Request, res: Response, next: NextFunction): void => {
    const parsed = parseJsonBody(typeof req.body === 'string' ? req.body : '');
    if ('error' in parsed) {
      sendError(res, parsed.error);
      return;
    }
    req.body = parsed.body;
    next();
  };
  return [text, parse];
}
