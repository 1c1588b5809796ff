// The healing service's HTTP error answers come from its catalogue (src/errors.ts): asserted by code, over real
// HTTP, on both paths of POST /api/v1/alerts (the fast path and express) and on the read and pause API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookErrors } from '../src/errors.js';
import { payload, rawRequest, startHealer, TOKEN, type TestHealer } from './support/harness.js';

let svc: TestHealer;
beforeAll(async () => {
  svc = await startHealer({ bodyLimit: '1kb' });
});
afterAll(async () => {
  await svc.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const json = (text: string) => JSON.parse(text) as { status: string; error: string; code: string };

describe('webhook HTTP errors, by code', () => {
  it('401 SELFHEAL_UNAUTHORIZED without credentials', async () => {
    const res = await svc.post(payload([{}]), { authorization: 'Bearer nope' });
    expect(res.status).toBe(webhookErrors.Unauthorized.statusCode);
    expect(res.body).toMatchObject({ status: 'error', code: 'SELFHEAL_UNAUTHORIZED', error: 'unauthorized: missing or wrong credentials' });
  });

  it('415 SELFHEAL_UNSUPPORTED_MEDIA_TYPE without a JSON Content-Type', async () => {
    const res = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' });
    expect(res.status).toBe(415);
    expect(json(res.text).code).toBe('SELFHEAL_UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 SELFHEAL_BODY_TOO_LARGE over bodyLimit', async () => {
    const res = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { ...auth, 'content-type': 'application/json' }, body: `{"x":"${'a'.repeat(2000)}"}` });
    expect(res.status).toBe(413);
    expect(json(res.text)).toMatchObject({ code: 'SELFHEAL_BODY_TOO_LARGE', error: 'body larger than 1kb' });
  });

  it('400 SELFHEAL_INVALID_JSON on the fast path and through express (chunked)', async () => {
    const fast = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { ...auth, 'content-type': 'application/json' }, body: '{nope' });
    expect(fast.status).toBe(400);
    expect(json(fast.text).code).toBe('SELFHEAL_INVALID_JSON');
    const chunked = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: '{nope' });
    expect(chunked.status).toBe(400);
    expect(json(chunked.text).code).toBe('SELFHEAL_INVALID_JSON');
  });

  it('400 SELFHEAL_INVALID_PAYLOAD naming the field', async () => {
    const res = await svc.post({ version: '4', alerts: 'none' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('SELFHEAL_INVALID_PAYLOAD');
    expect(res.body.error).toMatch(/^invalid Alertmanager webhook payload: /);
  });

  it('400 SELFHEAL_INVALID_SINCE and SELFHEAL_INVALID_STATE on the read API', async () => {
    const since = await svc.get('/api/v1/actions?since=tomorrowish');
    expect(since.status).toBe(400);
    expect(since.body.code).toBe('SELFHEAL_INVALID_SINCE');
    const state = await svc.get('/api/v1/incidents?state=asleep');
    expect(state.status).toBe(400);
    expect(state.body.code).toBe(webhookErrors.InvalidState.code);
  });

  it('400 SELFHEAL_INVALID_PAUSE_BODY and 404 SELFHEAL_NOT_FOUND', async () => {
    const pause = await fetch(`${svc.url}/api/v1/pause`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"paused":"yes"}' });
    expect(pause.status).toBe(400);
    expect(((await pause.json()) as { code: string }).code).toBe('SELFHEAL_INVALID_PAUSE_BODY');
    const missing = await svc.get('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 'error', error: 'not found', code: 'SELFHEAL_NOT_FOUND' });
  });

  it('gives every entry its own code and a 4xx/5xx status', () => {
    const codes = Object.values(webhookErrors).map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const entry of Object.values(webhookErrors)) expect(entry.statusCode).toBeGreaterThanOrEqual(400);
  });
});
