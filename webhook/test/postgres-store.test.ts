// The PostgreSQL store on a REAL PostgreSQL server (Debian's postgresql, started here with a temporary data
// directory): versioned migrations, exactly one incident per alert occurrence when two replicas ingest it at
// the same time, guardrails that two replicas cannot both pass, leases and take-over, and readiness.
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardReason, guardWindows } from '../src/guardrails/guardrails.js';
import { parseConfig } from '../src/config/load.js';
import { toReceived } from '@selfheal/contracts';
import { MIGRATIONS } from '../src/audit/migrations.js';
import { PostgresStore } from '../src/audit/postgres-store.js';
import type { ClaimRequest } from '../src/audit/types.js';
import { ManualClock } from './support/clock.js';
import { eventually, payload, startHealer, startServer, type TestHealer, type TestServer } from './support/harness.js';
import { postgresGate, startPostgres, type PostgresServer } from './support/postgres.js';

// Skipped only when PostgreSQL is absent and not required; under `npm test` (SELFHEAL_REQUIRE_POSTGRES=1) its absence fails.
const gate = postgresGate('the PostgreSQL store tests');
if (gate.failure) {
  describe('PostgreSQL store (real server)', () => {
    it('needs PostgreSQL', () => { throw new Error(gate.failure); });
  });
}

let server: PostgresServer;
const stores: PostgresStore[] = [];
const silent = pino({ level: 'silent' });

function store(replica: string, lease = 15): PostgresStore {
  const s = new PostgresStore({ url: server.url, poolSize: 4, connectTimeout: 10, lease, logger: silent, replica });
  stores.push(s);
  return s;
}

async function sql<T extends pg.QueryResultRow>(text: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client(server.url);
  await c.connect();
  try {
    return (await c.query<T>(text, args)).rows;
  } finally {
    await c.end();
  }
}

const alert = (n: number, status: 'firing' | 'resolved' = 'firing') => toReceived({
  status, labels: { alertname: 'SelfhealAnomaly', service: 'checkout', instance: `i${n}` }, annotations: {},
  startsAt: '2026-11-23T22:00:00Z', ...(status === 'resolved' ? { endsAt: '2026-11-23T22:05:00Z' } : {}), fingerprint: `f${n}`,
});

describe.skipIf(gate.skip)('PostgreSQL store (real server)', () => {
  beforeAll(async () => { server = await startPostgres(); }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await server?.stop();
  });

  it('creates the schema with versioned migrations, once, even when replicas start together', async () => {
    const [a, b] = [store('a'), store('b')];
    await Promise.all([a.open(), b.open()]);
    expect(await sql('SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    const columns = (await sql<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'incidents' ORDER BY ordinal_position`)).map((r) => r.column_name);
    expect(columns).toContain('owner');
    expect(await a.health()).toMatchObject({ ok: true, store: 'postgres' });
  });

  it('upgrades a schema-3 database (before deferrals and the unknown outcome) in place, keeping its rows', async () => {
    await sql('CREATE DATABASE upgrade3');
    const url = server.url.replace(/\/selfheal$/, '/upgrade3');
    // The database as a selfheal of schema 3 left it: its migrations, recorded, and one healed incident.
    const old = new pg.Client(url);
    await old.connect();
    await old.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, what TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      await old.query(m.postgres);
      await old.query('INSERT INTO schema_migrations (version, what) VALUES ($1, $2)', [m.version, m.what]);
    }
    await old.query(`INSERT INTO incidents (id, key, fingerprint, starts_at, service, labels, annotations, phase, result, received_at, updated_at)
      VALUES (1, 'f1@2026-11-01T00:00:00Z', 'f1', '2026-11-01T00:00:00Z', 'checkout', '{}', '{}', 'done', 'healed', 1761955200, 1761955210)`);
    await old.query(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, started_at) VALUES (1, 'checkout', 'restart', 'checkout', 'r', 0, 'succeeded', 1761955201)`);
    await old.end();
    const upgraded = new PostgresStore({ url, poolSize: 2, connectTimeout: 10, lease: 15, logger: silent, replica: 'upgrade' });
    stores.push(upgraded);
    await upgraded.open();
    const query = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => {
      const c = new pg.Client(url);
      await c.connect();
      try { return (await c.query<T>(text)).rows; } finally { await c.end(); }
    };
    expect((await query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await upgraded.incident(1)).toMatchObject({ result: 'healed', deferred_until: null, defer_deadline: null });
    expect(await upgraded.actionsOf(1)).toMatchObject([{ status: 'succeeded' }]);
    // `unknown` counts as executed now: one executed row per step, enforced by the rebuilt unique index.
    await query(`UPDATE actions SET status = 'unknown'`);
    await expect(query(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, started_at) VALUES (1, 'checkout', 'restart', 'checkout', 'r', 0, 'started', 1761955300)`))
      .rejects.toThrow(/duplicate key value violates unique constraint "actions_once"/);
    // Migration 5: approvals, one per incident step.
    const approval = `INSERT INTO approvals (incident_id, step, service, action, target, rule, status, requested_at, expires_at, evidence) VALUES (1, 0, 'checkout', 'restart', 'checkout', 'r', 'pending', 1, 2, '{}')`;
    await query(approval);
    await expect(query(approval)).rejects.toThrow(/duplicate key value violates unique constraint "approvals_once"/);
  });

  it('two replicas ingesting the same alerts at the same time: each occurrence is new exactly once', async () => {
    const [a, b] = [store('ing-a'), store('ing-b')];
    await Promise.all([a.open(), b.open()]);
    const alerts = Array.from({ length: 40 }, (_, i) => alert(100 + i));
    // Different batch orders on purpose: the store writes in key order, so the replicas cannot deadlock.
    const [ra, rb] = await Promise.all([a.ingest([alerts]), b.ingest([[...alerts].reverse()])]);
    const kinds = [...(ra[0] ?? []), ...(rb[0] ?? [])].map((o) => o.kind);
    expect(kinds.filter((k) => k === 'new')).toHaveLength(40);
    expect(kinds.filter((k) => k === 'duplicate')).toHaveLength(40);
    const rows = await sql<{ n: number; notified: number }>(`SELECT COUNT(*)::int AS n, SUM(notifications)::int AS notified FROM incidents WHERE key LIKE 'f1%'`);
    expect(rows[0]).toEqual({ n: 40, notified: 80 });
    // A resolved notification closes it; a late firing one for the same occurrence is ignored.
    const [resolved] = (await a.ingest([[alert(100, 'resolved')]]))[0] ?? [];
    expect(resolved).toMatchObject({ kind: 'resolved', recoverySeconds: 300 });
    expect((await b.ingest([[alert(100)]]))[0]?.[0]?.kind).toBe('already_resolved');
  });

  it('guardrails are read and `started` written in one locked transaction: two replicas cannot both pass a limit of one', async () => {
    const [a, b] = [store('guard-a'), store('guard-b')];
    await Promise.all([a.open(), b.open()]);
    const cfg = parseConfig({ auth: 'none', guardrails: { cooldown: 0, rateLimits: { perTarget: [{ window: '1h', max: 1 }], global: [] }, maxConcurrent: 10 } }).guardrails;
    const [[ia], [ib]] = [(await a.ingest([[alert(300)]]))[0] ?? [], (await b.ingest([[alert(301)]]))[0] ?? []];
    const claim = (s: PostgresStore, incidentId: number): Promise<unknown> => {
      const now = Date.now() / 1000;
      const req: ClaimRequest = {
        incidentId, target: 'limited', now, ...guardWindows(cfg, now),
        check: (snap) => guardReason(cfg, snap, { incidentId, target: 'limited', cooldownSeconds: 0, now }),
        update: { phase: 'acting', step: 0 },
        // No cooldown, as the engine writes it (null, not `now`): otherwise whichever replica loses the race may see
        // the winner's row as a cooldown of a few milliseconds instead of the rate limit this test is about.
        action: { incident_id: incidentId, service: 'checkout', action: 'restart', target: 'limited', rule: 'r', step: 0, status: 'started', reason: 'test', started_at: now, cooldown_until: null },
        event: { event: 'started', incidentId },
      };
      return s.claimAction(req);
    };
    const results = await Promise.all([claim(a, ia!.incidentId), claim(b, ib!.incidentId)]);
    expect(results.filter((r) => (r as { ok: boolean }).ok)).toHaveLength(1);
    expect(results.find((r) => !(r as { ok: boolean }).ok)).toMatchObject({ reason: 'rate limit: 1 actions on target "limited" in the last 60m (max 1)' });
    expect(await sql(`SELECT COUNT(*)::int AS n FROM actions WHERE target = 'limited'`)).toEqual([{ n: 1 }]);
  });

  it('a replica whose lease runs out loses its unfinished incidents to a live one, which keeps them', async () => {
    const dead = store('lease-dead', 1);
    const live = store('lease-live', 1);
    await Promise.all([dead.open(), live.open()]);
    const [o] = (await dead.ingest([[alert(400)]]))[0] ?? [];
    const id = o!.incidentId;
    expect(await live.claimIncident(id)).toBe(false); // the owner is alive
    expect(await live.takeOver()).not.toContain(id);
    await new Promise((r) => setTimeout(r, 1300)); // `dead` stops renewing its lease
    await live.heartbeat();
    expect(await live.takeOver()).toContain(id);
    expect((await live.incident(id))?.owner).toBe('lease-live');
    await dead.heartbeat(); // back from a long pause: the incident is no longer its own
    expect(await dead.claimIncident(id)).toBe(false);
  });

  describe('the healing service on PostgreSQL', () => {
    let admin: TestServer;
    let svc: TestHealer;
    beforeAll(async () => {
      admin = await startServer((_req, _body, res) => { res.end('ok'); });
      svc = await startHealer({
        store: { url: server.url, lease: '2s' },
        actuators: { admin: { type: 'http', retries: 0 } },
        targets: { checkout: { actuator: 'admin', actions: { scale_up: { url: `${admin.url}/scale` } } } },
        rules: [
          { name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['scale_up'] },
          { name: 'trial', matchers: ['service = trial'], target: 'checkout', actions: ['scale_up'], dryRun: true },
        ],
        guardrails: { cooldown: 0 },
      });
    });
    afterAll(async () => {
      await svc?.close();
      await admin?.close();
    });

    it('acts once per occurrence, answers reads from PostgreSQL, and is ready while the store answers', async () => {
      const body = payload([{ fingerprint: 'abcdef01', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu' } }]);
      expect((await svc.post(body)).body).toMatchObject({ status: 'success', new: 1 });
      expect((await svc.post(body)).body).toMatchObject({ duplicate: 1 });
      await svc.healer.engine.idle();
      expect(admin.requests).toHaveLength(1);
      const incident = ((await svc.get('/api/v1/incidents?service=checkout')).body.data as { id: number; fingerprint: string; notifications: number; result: string }[]).find((i) => i.fingerprint === 'abcdef01');
      expect(incident).toMatchObject({ notifications: 2, result: 'healed' });
      const audit = ((await svc.get(`/api/v1/audit?incident=${incident?.id}`)).body.data as { event: string }[]).reverse();
      expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'started', 'applied', 'succeeded']);
      // A dry run and an alert no rule matches are decided in the ingest transaction itself.
      const more = payload([
        { fingerprint: 'abcdef02', labels: { alertname: 'SelfhealAnomaly', service: 'trial', feature: 'cpu' } },
        { fingerprint: 'abcdef03', labels: { alertname: 'SelfhealAnomaly', service: 'nobody', feature: 'cpu' } },
      ]);
      expect((await svc.post(more)).body).toMatchObject({ new: 2 });
      const decided = (await svc.get('/api/v1/incidents')).body.data as { id: number; fingerprint: string; phase: string; result: string }[];
      const trial = decided.find((i) => i.fingerprint === 'abcdef02');
      expect(trial).toMatchObject({ phase: 'done', result: 'dry_run' });
      expect(decided.find((i) => i.fingerprint === 'abcdef03')).toMatchObject({ phase: 'done', result: 'no_rule' });
      const trialAudit = ((await svc.get(`/api/v1/audit?incident=${trial?.id}`)).body.data as { event: string; reason: string }[]).reverse();
      expect(trialAudit.map((r) => r.event)).toEqual(['received', 'matched', 'dry_run']);
      expect(trialAudit[2]?.reason).toBe(`would POST ${admin.url}/scale`);
      expect(((await svc.get('/api/v1/actions?service=trial')).body.data as { status: string }[]).map((a) => a.status)).toEqual(['dry_run']);
      expect(admin.requests).toHaveLength(1);
      const ready = await fetch(`${svc.url}/-/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.text()).toBe('ready (postgres store)\n');
    });
  });

  it('a deferred action is decided by one replica only, and survives its replica: taken over, it still acts once', async () => {
    const admin = await startServer((_req, _body, res) => { res.end('ok'); });
    const config = (name: string) => ({
      store: { url: server.url, lease: '1s' },
      actuators: { admin: { type: 'http', retries: 0, headers: { 'x-replica': name } } },
      targets: { shop: { actuator: 'admin', actions: { restart: { url: `${admin.url}/shop` } } }, store: { actuator: 'admin', actions: { restart: { url: `${admin.url}/store` } } } },
      rules: [{ name: 'by-service', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}', actions: ['restart'], verify: false }],
      guardrails: { cooldown: '60s', maxConcurrent: 10 },
    });
    const clockA = new ManualClock();
    const clockB = new ManualClock(clockA.now());
    const a = await startHealer(config('a'), { clock: clockA });
    const b = await startHealer(config('b'), { clock: clockB });
    const alert = (service: string, fingerprint: string) => payload([{ fingerprint, labels: { alertname: 'SelfhealAnomaly', service, feature: 'mem' } }]);
    const calls = (path: string) => admin.requests.filter((r) => r.url === path);
    const incidentRow = async (fingerprint: string) => (await sql<{ id: number; owner: string; phase: string; result: string | null }>('SELECT id, owner, phase, result FROM incidents WHERE fingerprint = $1', [fingerprint]))[0];
    try {
      // Both replicas alive: the repeat, delivered to both, is deferred by its owner only; when the cooldown ends on
      // both clocks, it runs once.
      expect((await a.post(alert('shop', 'aa01'))).status).toBe(200);
      await a.healer.engine.idle();
      expect((await a.post(alert('shop', 'aa02'))).body).toMatchObject({ new: 1 });
      expect((await b.post(alert('shop', 'aa02'))).body).toMatchObject({ duplicate: 1 });
      await eventually(async () => (await incidentRow('aa02'))?.phase === 'deferred', 10_000, 'the repeat to be deferred');
      expect((await incidentRow('aa02'))?.owner).toBe(a.healer.store.replica);
      await eventually(() => a.healer.engine.waitingDeferred === 1, 10_000, 'a to wait on it');
      expect(b.healer.engine.waitingDeferred).toBe(0);
      clockA.advance(60);
      clockB.advance(60);
      await eventually(async () => (await incidentRow('aa02'))?.result === 'healed', 10_000, 'the deferred action');
      expect(calls('/shop').map((r) => r.headers['x-replica'])).toEqual(['a', 'a']);

      // The owner of a deferred incident goes away: the other replica takes it over and acts once, when it lifts.
      await a.post(alert('store', 'bb01'));
      await a.healer.engine.idle();
      await a.post(alert('store', 'bb02'));
      await b.post(alert('store', 'bb02'));
      await eventually(async () => (await incidentRow('bb02'))?.phase === 'deferred', 10_000, 'the second repeat to be deferred');
      await a.stop();
      await eventually(() => b.healer.engine.waitingDeferred === 1, 10_000, 'b to take the deferral over');
      expect((await incidentRow('bb02'))?.owner).toBe(b.healer.store.replica);
      clockB.advance(60);
      await eventually(async () => (await incidentRow('bb02'))?.result === 'healed', 10_000, 'the deferred action on b');
      expect(calls('/store').map((r) => r.headers['x-replica'])).toEqual(['a', 'b']);
      const id = (await incidentRow('bb02'))?.id;
      expect((await sql<{ status: string }>('SELECT status FROM actions WHERE incident_id = $1 ORDER BY id', [id])).map((r) => r.status)).toEqual(['deferred', 'succeeded']);
      expect((await sql<{ event: string }>('SELECT event FROM audit WHERE incident_id = $1 ORDER BY id', [id])).map((r) => r.event))
        .toEqual(['received', 'matched', 'deferred', 'started', 'applied', 'succeeded']);
    } finally {
      await a.close();
      await b.close();
      await admin.close();
    }
  }, 60_000);

  it('readiness fails while PostgreSQL is down (liveness does not), with the error in the log, not in the answer', async () => {
    const own = await startPostgres();
    const logged: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => { logged.push(line); } });
    const svc = await startHealer({ store: { url: own.url, connectTimeout: '2s' }, rules: [] }, { logger });
    try {
      expect((await fetch(`${svc.url}/-/ready`)).status).toBe(200);
      await own.stop();
      await new Promise((r) => setTimeout(r, 1100)); // readiness caches the store's health for a second
      const res = await fetch(`${svc.url}/-/ready`);
      expect(res.status).toBe(503);
      // The endpoint is unauthenticated: no driver error (database host, port, socket path) in the answer.
      const text = await res.text();
      expect(text).toBe('not ready: postgres store unavailable\n');
      expect(text).not.toContain(new URL(own.url).port);
      const entry = logged.map((l) => JSON.parse(l) as { level: number; msg: string; detail?: string }).find((l) => /store health check failed/.test(l.msg));
      expect(entry?.level).toBe(40);
      expect(entry?.detail).toBeTruthy();
      expect((await fetch(`${svc.url}/-/healthy`)).status).toBe(200);
      expect((await svc.post(payload([{}]))).status).toBe(500); // not recorded: Alertmanager retries
    } finally {
      await svc.close();
      await own.stop();
    }
  }, 60_000);
});
