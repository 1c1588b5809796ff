// The webhook endpoint over real HTTP: authentication, validation, idempotency, resolved handling.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from './support/clock.js';
import { eventually, payload, rawRequest, startHealer, startServer, TOKEN, type TestHealer, type TestServer } from './support/harness.js';

let admin: TestServer;
let svc: TestHealer;
/** The service's clock: the cooldown ends when the test moves it, not after a wall-clock sleep. */
let clock: ManualClock;

function adminPolicy(adminUrl: string) {
  return {
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { scale_up: { url: `${adminUrl}/scale/{{ labels.service }}`, body: { by: 1 } } } } },
    rules: [{ name: 'checkout', matchers: ['alertname = SelfhealAnomaly', 'service = checkout'], target: 'checkout' }],
    guardrails: { cooldown: '1s', rateLimits: { perTarget: [{ window: '1h', max: 100 }], global: [{ window: '1h', max: 100 }] } },
  };
}

beforeEach(async () => {
  admin = await startServer((_req, _body, res) => { res.end('{"ok":true}'); });
  clock = new ManualClock();
  svc = await startHealer(adminPolicy(admin.url), { clock });
});
afterEach(async () => {
  await svc.close();
  await admin.close();
});

describe('authentication', () => {
  it('answers 401 without a token, with a wrong token and with the wrong scheme', async () => {
    for (const authorization of ['', 'Bearer nope', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN]) {
      const res = await svc.post(payload([{}]), { authorization });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error).toMatch(/unauthorized/);
    }
    const reads = await fetch(`${svc.url}/api/v1/actions`);
    expect(reads.status).toBe(401);
    expect(svc.healer.sqlite!.listIncidents({}).length).toBe(0);
  });

  it('accepts basic auth when configured that way, compared on the whole user:password', async () => {
    const dir = svc.dir;
    writeFileSync(join(dir, 'password'), 'correct-horse-battery-staple\n');
    const basic = await startHealer({ ...adminPolicy(admin.url), auth: { type: 'basic', username: 'am', passwordFile: join(dir, 'password') } }, { dir: `${dir}` });
    const b64 = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    try {
      expect((await basic.post(payload([{}]), { authorization: b64('am:correct-horse-battery-staple') })).status).toBe(200);
      expect((await basic.post(payload([{}]), { authorization: b64('am:wrong-horse-battery-staple') })).status).toBe(401);
      expect((await basic.post(payload([{}]), { authorization: b64('other:correct-horse-battery-staple') })).status).toBe(401);
    } finally {
      await basic.stop();
    }
  });

  it('refuses to start with a short token', async () => {
    writeFileSync(join(svc.dir, 'short'), 'abc');
    await expect(startHealer({ auth: { type: 'bearer', tokenFile: join(svc.dir, 'short') } }, { dir: svc.dir })).rejects.toThrow(/shorter than 16/);
  });
});

describe('validation', () => {
  it('answers 400 naming the field, for unknown versions and malformed JSON', async () => {
    const bad = await svc.post({ ...payload([{}]), version: '3' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/version/);
    const p = payload([{}]) as { alerts: Record<string, unknown>[] };
    p.alerts[0]!.startsAt = 'yesterday';
    const ts = await svc.post(p);
    expect(ts.status).toBe(400);
    expect(ts.body.error).toMatch(/alerts\[0\]\.startsAt: must be an RFC 3339 timestamp/);
    const json = await svc.post('{"version": "4", ');
    expect(json.status).toBe(400);
    expect(json.body.error).toMatch(/not valid JSON/);
    const type = await svc.post('version=4', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(type.status).toBe(415);
  });

  it('answers 413 for bodies over the limit', async () => {
    const huge = payload([{ annotations: { description: 'x'.repeat(60_000) } }]) as { alerts: unknown[] };
    huge.alerts = Array.from({ length: 30 }, () => huge.alerts[0]);
    const res = await svc.post(huge);
    expect(res.status).toBe(413);
  });
});

describe('timestamps: RFC 3339 with an explicit offset only', () => {
  it('answers 400 naming the field for numbers, zone-less or impossible times, and records nothing', async () => {
    // Date.parse reads "0" as 2000, "12345" as the year 12345 and a zone-less time in the host's zone.
    const bad = ['0', '-1', '12345', '1795475710', '2026-11-23T22:00:00', '2026-11-23 22:00:00Z', '2026-11-23T22:00Z', '2026-02-30T00:00:00Z', '2026-11-23T24:00:00Z', 'Mon, 23 Nov 2026 22:00:00 GMT'];
    for (const field of ['startsAt', 'endsAt'] as const) {
      for (const value of bad) {
        const p = payload([{}]) as { alerts: Record<string, unknown>[] };
        p.alerts[0]![field] = value;
        const res = await svc.post(p);
        expect(res.status, `${field}=${value}`).toBe(400);
        expect(res.body.error, `${field}=${value}`).toMatch(new RegExp(`alerts\\[0\\]\\.${field}: must be an RFC 3339 timestamp with an offset`));
      }
    }
    // startsAt is always set by Alertmanager: its zero time there is not an occurrence.
    const zero = await svc.post(payload([{ startsAt: '0001-01-01T00:00:00Z' }]));
    expect(zero.status).toBe(400);
    expect(zero.body.error).toMatch(/alerts\[0\]\.startsAt: must be set/);
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
    expect(svc.healer.sqlite!.listAudit({})).toHaveLength(0);
  });

  it("accepts Alertmanager's forms (nanoseconds, Z or an offset, the zero endsAt) and keys equal instants alike", async () => {
    const labels = { alertname: 'SelfhealAnomaly', service: 'nobody', feature: 'cpu' };
    expect((await svc.post(payload([{ labels, startsAt: '2026-11-23T23:15:10.123456789Z', endsAt: '0001-01-01T00:00:00Z' }]))).body).toMatchObject({ new: 1 });
    // The same instant written with another offset (and fewer digits) is the same occurrence.
    expect((await svc.post(payload([{ labels, startsAt: '2026-11-24T00:15:10.123+01:00' }]))).body).toMatchObject({ new: 0, duplicate: 1 });
    const incident = svc.healer.sqlite!.listIncidents({ service: 'nobody' })[0];
    expect(incident?.starts_at).toBe('2026-11-23T23:15:10.123Z');
  });
});

describe('content type', () => {
  it('answers 415 to a POST without a Content-Type or with an empty one, and records nothing', async () => {
    const body = JSON.stringify(payload([{}]));
    for (const headers of [{}, { 'content-type': '' }, { 'content-type': 'application/json-seq' }, { 'content-type': 'text/json' }] as Record<string, string>[]) {
      for (const length of [true, false]) {
        // With a Content-Length (the fast path) and chunked (through express).
        const res = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { ...headers, authorization: `Bearer ${TOKEN}`, ...(length ? { 'content-length': Buffer.byteLength(body) } : { 'transfer-encoding': 'chunked' }) }, body });
        expect(res.status, `${JSON.stringify(headers)} ${length ? 'content-length' : 'chunked'}`).toBe(415);
        expect(JSON.parse(res.text).error).toMatch(/Content-Type must be application\/json/);
      }
    }
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
    // What Alertmanager 0.25 sends (test/fixtures/alertmanager-firing.headers.json), and the +json and charset forms.
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.alertmanager+json']) {
      const res = await rawRequest(`${svc.url}/api/v1/alerts`, { headers: { 'content-type': type, authorization: `Bearer ${TOKEN}` }, body });
      expect(res.status, type).toBe(200);
    }
  });
});

describe('edge-triggered, idempotent', () => {
  it('runs one action for a firing alert, none for repeats, and closes the incident on resolve', async () => {
    const first = await svc.post(payload([{}]));
    expect(first).toMatchObject({ status: 200, body: { received: 1, new: 1 } });
    await eventually(() => admin.requests.length === 1, 5000, 'the action');
    await svc.healer.engine.idle();
    for (let i = 0; i < 5; i++) expect((await svc.post(payload([{}]))).body).toMatchObject({ new: 0, duplicate: 1 });
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(1);
    expect(admin.requests[0]).toMatchObject({ method: 'POST', url: '/scale/checkout', body: '{"by":1}' });

    const resolved = await svc.post(payload([{ status: 'resolved', endsAt: '2026-11-23T22:07:30.000Z' }]));
    expect(resolved.body).toMatchObject({ resolved: 1, new: 0 });
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(1);
    const incidents = (await svc.get('/api/v1/incidents')).body.data as Record<string, unknown>[];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ resolved_at: '2026-11-23T22:07:30.000Z', recovery_seconds: 450, notifications: 7 });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/selfheal_healing_recovery_seconds_count\{service="checkout"\} 1/);
    expect(metrics).toMatch(/selfheal_healing_actions_total\{service="checkout",action="scale_up",outcome="succeeded"\} 1/);
    expect(metrics).toMatch(/selfheal_healing_actions_total\{service="checkout",action="restart",outcome="failed"\} 0/);
    expect(metrics).toMatch(/selfheal_healing_last_action_timestamp_seconds\{service="checkout",action="scale_up",outcome="succeeded"\} \d+/);
    expect(metrics).toMatch(/selfheal_webhook_requests_total\{code="200"\} 7/);
  });

  it('never starts an action on a resolved notification, even one that arrives first', async () => {
    await svc.post(payload([{ status: 'resolved' }]));
    await svc.post(payload([{ status: 'firing' }])); // a late re-send of the same occurrence
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(0);
    const audit = svc.healer.sqlite!.listAudit({}).map((r) => r.event);
    expect(audit).toEqual(['resolved']);
  });

  it('acts per alert, not per group, and treats a new startsAt as a new occurrence', async () => {
    const res = await svc.post(payload([
      { fingerprint: '1111', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu' } },
      { fingerprint: '2222', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu', pod: 'b' } },
      { fingerprint: '3333', labels: { alertname: 'SelfhealAnomaly', service: 'payments', feature: 'cpu' } },
    ]));
    expect(res.body).toMatchObject({ received: 3, new: 3 });
    await svc.healer.engine.idle();
    // Two checkout alerts: the second is held back by the per-target cooldown (one target, one action), and
    // deferred until it ends: the cooldown lifts by itself.
    expect(admin.requests).toHaveLength(1);
    const actions = svc.healer.sqlite!.listActions({});
    expect(actions.map((a) => a.status).sort()).toEqual(['deferred', 'succeeded']);
    expect(actions.find((a) => a.status === 'deferred')?.reason).toMatch(/cooldown/);
    expect(svc.healer.sqlite!.listIncidents({}).find((i) => i.service === 'payments')?.result).toBe('no_rule');

    clock.advance(1); // cooldown 1s
    await eventually(() => admin.requests.length === 2, 5000, 'the deferred action once the cooldown ended');
    await svc.healer.engine.idle();
    clock.advance(1);
    await svc.post(payload([{ fingerprint: '1111', startsAt: '2026-11-23T23:00:00Z', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu' } }]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(3);
    expect(svc.healer.sqlite!.listIncidents({}).filter((i) => i.service === 'checkout').map((i) => i.result)).toEqual(['healed', 'healed', 'healed']);
  });

  it('answers 500 (so Alertmanager retries) when the alerts cannot be recorded, and records them on the retry', async () => {
    svc.healer.sqlite!.db.exec('CREATE TRIGGER refuse BEFORE INSERT ON incidents BEGIN SELECT RAISE(ABORT, \'disk full (simulated)\'); END;');
    const failed = await svc.post(payload([{}]));
    expect(failed.status).toBe(500);
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
    svc.healer.sqlite!.db.exec('DROP TRIGGER refuse');
    expect((await svc.post(payload([{}]))).status).toBe(200);
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(1);
  });
});

describe('disk sync failure after the commit', () => {
  it('answers 500, and the retry (now a duplicate) still starts the action exactly once', async () => {
    const store = svc.healer.sqlite!;
    const original = store.flushToDisk.bind(store);
    store.flushToDisk = () => Promise.reject(new Error('EIO: fdatasync failed (simulated)'));
    expect((await svc.post(payload([{}]))).status).toBe(500);
    store.flushToDisk = original;
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(0);
    expect((await svc.post(payload([{}]))).body).toMatchObject({ status: 'success', duplicate: 1 });
    await svc.healer.engine.idle();
    expect((await svc.post(payload([{}]))).body).toMatchObject({ duplicate: 1 });
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(1);
  });
});

describe('readiness', () => {
  it('answers a short reason when the store fails, and logs the detail', async () => {
    const logged: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => { logged.push(line); } });
    const own = await startHealer({ rules: [] }, { logger });
    try {
      const ready = await fetch(`${own.url}/-/ready`);
      expect(await ready.text()).toBe('ready (sqlite store)\n');
      own.healer.sqlite!.db.close();
      await new Promise((r) => setTimeout(r, 1100)); // health is cached for a second
      const res = await fetch(`${own.url}/-/ready`);
      expect(res.status).toBe(503);
      expect(await res.text()).toBe('not ready: sqlite store unavailable\n');
      const entry = logged.map((l) => JSON.parse(l) as { level: number; msg: string; detail?: string }).find((l) => /store health check failed/.test(l.msg));
      expect(entry).toMatchObject({ level: 40, detail: 'the database is closed' });
    } finally {
      await own.close();
    }
  });
});

describe('read APIs and pause', () => {
  it('filters actions by service and since, and pauses through POST /api/v1/pause', async () => {
    const paused = await fetch(`${svc.url}/api/v1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"paused": true, "reason": "maintenance"}' });
    expect(paused.status).toBe(200);
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(0);
    const actions = (await svc.get('/api/v1/actions?service=checkout&since=1h')).body.data as { status: string; reason: string }[];
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ status: 'skipped', reason: 'paused (maintenance)' });
    expect(((await svc.get('/api/v1/actions?service=payments')).body.data as unknown[]).length).toBe(0);
    expect((await svc.get('/api/v1/actions?since=tomorrowish')).status).toBe(400);
    const resumed = await fetch(`${svc.url}/api/v1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"paused": false}' });
    expect(((await resumed.json()) as { data: { paused: boolean } }).data.paused).toBe(false);
    const events = svc.healer.sqlite!.listAudit({}).map((r) => r.event).reverse();
    expect(events).toEqual(['paused', 'received', 'matched', 'skipped', 'unpaused']);
  });
});
