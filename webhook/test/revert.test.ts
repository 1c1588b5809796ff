// Fixes that undo themselves (`revertAfter`), on both stores (SQLite, and a real PostgreSQL when it is installed):
// the revert waits while the anomaly score is at or above 1 and runs once it stayed below 1 for revertAfter, as
// its own audited, guarded step; a revert that re-triggers the incident puts the fix back and stops reverting for
// that target; a restart while a revert is pending resumes it, and it runs once. Real HTTP for the admin API the
// fixes and reverts call; Prometheus's query API answered from a score history on the engine's clock (the shape of
// Prometheus's answers; revert-prometheus.test.ts checks the same queries against the real Prometheus); an injected
// clock the test moves (no sleeps).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@selfheal/contracts';
import { parseConfig } from '../src/config/load.js';
import { ManualClock } from './support/clock.js';
import { eventually, payload, prometheusApi, startHealer, startServer, TOKEN, type TestHealer, type TestServer } from './support/harness.js';
import { deployment, hpa, startFakeCluster } from './support/kube-apiserver.js';
import { postgresGate, queryPostgres, startPostgres, type PostgresServer } from './support/postgres.js';

type Row = Record<string, unknown>;

/** The anomaly score over the engine's time (every entity alike), and the three queries a fix and its revert make. */
class ScoreHistory {
  private readonly points: [number, number][] = [];
  readonly queries: string[] = [];

  constructor(private readonly clock: ManualClock) {}

  set(value: number, at = this.clock.now()): void {
    this.points.push([at, value]);
    this.points.sort((a, b) => a[0] - b[0]);
  }

  /** One feature's own score from `at` on (by default a feature's score is the entity's). */
  setFeature(feature: string, value: number, at = this.clock.now()): void {
    const points = this.featurePoints.get(feature) ?? [];
    points.push([at, value]);
    points.sort((a, b) => a[0] - b[0]);
    this.featurePoints.set(feature, points);
  }

  private readonly featurePoints = new Map<string, [number, number][]>();

  private at(t: number, points = this.points): number | undefined {
    let v: number | undefined;
    for (const [pt, pv] of points) if (pt <= t) v = pv;
    return v;
  }

  /** Prometheus's answer: a sample when the condition holds, none when it does not. */
  answer(query: string): { metric: Record<string, string>; value: number }[] | Error {
    this.queries.push(query);
    const now = this.clock.now();
    const sample = (value: number) => [{ metric: { group: 'shop', service: 'checkout' }, value }];
    const calm = /^max_over_time\(selfheal_anomaly_score\{ [^}]* \}\[(\d+)s\]\) < 1$/.exec(query);
    if (calm) {
      const from = now - Number(calm[1]);
      const values = [this.at(from), ...this.points.filter(([t]) => t > from && t <= now).map(([, v]) => v)].filter((v) => v !== undefined);
      const max = Math.max(...values);
      return values.length > 0 && max < 1 ? sample(max) : [];
    }
    const current = this.at(now);
    if (/^selfheal_anomaly_score\{ [^}]* \} >= 1$/.test(query)) return current !== undefined && current >= 1 ? sample(current) : [];
    const featureBack = /^selfheal_anomaly_feature_score\{ [^}]*,feature="([^"]+)" \} >= 1$/.exec(query);
    if (featureBack) {
      const own = this.featurePoints.get(featureBack[1] as string);
      const value = own ? this.at(now, own) : current;
      return value !== undefined && value >= 1 ? sample(value) : [];
    }
    if (/^selfheal_anomaly_score\{ [^}]* \} < 1$/.test(query)) return current !== undefined && current < 1 ? sample(current) : [];
    return new Error(`unexpected query ${query}`);
  }
}

const gate = postgresGate('the revert tests on PostgreSQL');
let pgServer: PostgresServer | undefined;
let databases = 0;
const STORES = gate.skip ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
if (gate.failure) {
  describe('reverts on PostgreSQL', () => {
    it('needs PostgreSQL', () => { throw new Error(gate.failure); });
  });
}

beforeAll(async () => { if (!gate.skip) pgServer = await startPostgres(); }, 60_000);
afterAll(async () => { await pgServer?.stop(); }, 60_000);

const servers: TestServer[] = [];
const healers: TestHealer[] = [];
afterEach(async () => {
  for (const h of healers.splice(0)) await h.close();
  for (const s of servers.splice(0)) await s.close();
});

/** A fresh database per test (a revert left open by one test is nobody else's). */
async function storeFor(kind: 'sqlite' | 'postgres'): Promise<Record<string, unknown>> {
  if (kind === 'sqlite' || !pgServer) return {};
  const name = `reverts_${process.pid}_${++databases}`;
  await queryPostgres(pgServer.url, `CREATE DATABASE ${name}`);
  return { store: { url: pgServer.url.replace(/\/selfheal$/, `/${name}`), lease: '1s' } };
}

async function server(...args: Parameters<typeof startServer>) {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

const alert = (fingerprint: string) => payload([{ fingerprint, labels: { alertname: 'SelfhealAnomaly', service: 'checkout', group: 'shop', feature: 'latency_p99' } }]);

function policy(store: Record<string, unknown>, prom: string, admin: string, slack: string, extra: Record<string, unknown> = {}) {
  return {
    ...store,
    prometheus: { url: prom },
    verify: { interval: '15s', timeout: '5m' },
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: {
      checkout: {
        actuator: 'admin',
        actions: { enable_cache: { url: `${admin}/cache/on`, revertAfter: '10m', revert: { url: `${admin}/cache/off`, method: 'POST' } } },
      },
    },
    rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['enable_cache'] }],
    guardrails: { cooldown: 0 },
    escalation: { notify: { url: `${slack}/hooks/T000` } },
    ...extra,
  };
}

interface Setup {
  svc: TestHealer;
  clock: ManualClock;
  scores: ScoreHistory;
  admin: TestServer;
  slack: TestServer;
  /** Admin API calls with the engine's time they came at. */
  calls: { path: string; at: number }[];
  /** Paths whose answer the admin API holds back, and the answers held. */
  hold: Set<string>;
  held: (() => void)[];
  raw: Record<string, unknown>;
}

async function setup(kind: 'sqlite' | 'postgres', extra: Record<string, unknown> = {}): Promise<Setup> {
  const clock = new ManualClock(1_800_000_000);
  const scores = new ScoreHistory(clock);
  const calls: { path: string; at: number }[] = [];
  const hold = new Set<string>();
  const held: (() => void)[] = [];
  const admin = await server((req, _b, res) => {
    calls.push({ path: req.url ?? '', at: clock.now() });
    if (hold.has(req.url ?? '')) held.push(() => res.end('ok'));
    else res.end('ok');
  });
  const slack = await server((_q, _b, res) => { res.end('ok'); });
  const prom = await server(prometheusApi((q) => scores.answer(q)));
  const raw = policy(await storeFor(kind), prom.url, admin.url, slack.url, extra);
  const svc = await startHealer(raw, { clock });
  healers.push(svc);
  return { svc, clock, scores, admin, slack, calls, hold, held, raw };
}

/** Moves the clock to `t`, one wait at a time: each step waits for the engine to be waiting again. */
async function advanceTo(clock: ManualClock, t: number): Promise<void> {
  for (let i = 0; i < 10_000 && clock.now() < t; i++) {
    await eventually(() => clock.nextWake !== undefined, 5000, `the engine to wait (at ${clock.now()})`);
    clock.advance(Math.max(0, Math.min(clock.nextWake ?? t, t) - clock.now()));
    await new Promise((r) => setImmediate(r));
  }
}

const reverts = async (svc: TestHealer) => (await svc.get('/api/v1/reverts')).body.data as Row[];
const auditEvents = async (svc: TestHealer) => ((await svc.get('/api/v1/audit')).body.data as Row[]).reverse();
const metric = async (svc: TestHealer, series: string) => {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** The fix runs and is verified (score already below 1): returns when its revert waits. */
async function fixApplied(s: Setup, fingerprint = 'f1'): Promise<Row> {
  s.scores.set(2.5, s.clock.now() - 120);
  s.scores.set(0.4, s.clock.now() - 5);
  expect((await s.svc.post(alert(fingerprint))).status).toBe(200);
  await s.svc.healer.engine.idle();
  return eventually(async () => (await reverts(s.svc)).find((r) => r.status === 'waiting'), 5000, 'the revert to be armed');
}

describe.each(STORES)('a fix that undoes itself (%s store)', (kind) => {
  it('waits while the score is at or above 1 and reverts (HTTP, real server) once it stayed below 1 for revertAfter; recorded and counted', async () => {
    const s = await setup(kind);
    const armed = await fixApplied(s);
    const fixedAt = s.clock.now();
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on']);
    expect(armed).toMatchObject({ action: 'enable_cache', target: 'checkout', status: 'waiting', after_seconds: 600, due_at: fixedAt + 600, plan: { call: { url: `${s.admin.url}/cache/off`, method: 'POST' } } });
    expect(await metric(s.svc, 'selfheal_healing_unreverted_fixes{action="enable_cache"}')).toBe(1);

    // The anomaly flares up again half-way: at the due time the score has not stayed below 1 for 10 minutes.
    await advanceTo(s.clock, fixedAt + 300);
    s.scores.set(1.5);
    await advanceTo(s.clock, fixedAt + 310);
    s.scores.set(0.3);
    await advanceTo(s.clock, fixedAt + 909);
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on']);
    expect((await reverts(s.svc))[0]).toMatchObject({ status: 'waiting' });
    // 10 minutes after the flare-up, at the next look (every verify.interval, 15s), the fix is undone once.
    await advanceTo(s.clock, fixedAt + 915);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'verifying', 5000, 'the revert to run');
    expect(s.calls).toEqual([{ path: '/cache/on', at: fixedAt }, { path: '/cache/off', at: fixedAt + 915 }]);
    expect(s.scores.queries).toContain('max_over_time(selfheal_anomaly_score{ group="shop",service="checkout" }[600s]) < 1');

    // No return of the anomaly within the verification window (5m): reverted.
    await advanceTo(s.clock, fixedAt + 915 + 300);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'reverted', 5000, 'the revert to end');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off']);
    const events = (await auditEvents(s.svc)).map((e) => e.event);
    expect(events.slice(events.indexOf('succeeded'))).toEqual(['succeeded', 'revert_scheduled', 'revert_started', 'revert_applied', 'reverted']);
    expect((await auditEvents(s.svc)).find((e) => e.event === 'revert_started')?.reason).toBe(`revert enable_cache: POST ${s.admin.url}/cache/off: the anomaly score stayed below 1 for 10m (max_over_time(selfheal_anomaly_score{ group="shop",service="checkout" }[600s]) < 1)`);
    expect(await metric(s.svc, 'selfheal_healing_reverts_total{service="checkout",action="enable_cache",outcome="reverted"}')).toBe(1);
    expect(await metric(s.svc, 'selfheal_healing_unreverted_fixes{action="enable_cache"}')).toBe(0);
    expect(s.slack.requests).toHaveLength(0);
  }, 60_000);

  it('a revert that re-triggers the incident puts the fix back and stops reverting for that target (recorded, a person told)', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    await advanceTo(s.clock, fixedAt + 600);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'verifying', 5000, 'the revert to run');
    // The anomaly comes back a minute after the revert: within the verification window.
    await advanceTo(s.clock, fixedAt + 660);
    s.scores.set(2.2);
    await advanceTo(s.clock, fixedAt + 675);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'reapplied', 5000, 'the fix to be put back');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off', '/cache/on']);
    const events = (await auditEvents(s.svc)).map((e) => e.event);
    expect(events.slice(events.indexOf('revert_applied'))).toEqual(['revert_applied', 'revert_retriggered', 'reapplied']);
    expect((await reverts(s.svc))[0]?.reason).toMatch(/^the revert re-triggered the incident: POST .*\/cache\/on answered 200; reverting stopped for target "checkout"$/);
    expect(await metric(s.svc, 'selfheal_healing_reverts_total{service="checkout",action="enable_cache",outcome="reapplied"}')).toBe(1);
    expect(await metric(s.svc, 'selfheal_healing_unreverted_fixes{action="enable_cache"}')).toBe(1);
    await eventually(() => s.slack.requests.length === 1, 5000, 'the notification');
    expect(JSON.parse(s.slack.requests[0]!.body).text).toMatch(/reverted enable_cache on checkout, the anomaly came back, and the fix was put back/);

    // The next fix on that target stays: its revert is recorded and skipped, nothing is undone.
    s.scores.set(0.2);
    expect((await s.svc.post(alert('f2'))).status).toBe(200);
    await s.svc.healer.engine.idle();
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'skipped', 5000, 'the second revert to be skipped');
    expect((await reverts(s.svc))[0]?.reason).toMatch(/^reverting stopped for target "checkout": the revert of enable_cache \(incident \d+\) re-triggered it; enable_cache stays in place$/);
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off', '/cache/on', '/cache/on']);
  }, 60_000);

  it('another feature of the entity going anomalous after the revert is not a re-trigger: the revert stands', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    await advanceTo(s.clock, fixedAt + 600);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'verifying', 5000, 'the revert to run');
    // A minute after the revert the entity is anomalous again, but its memory, not the latency the fix answered.
    await advanceTo(s.clock, fixedAt + 660);
    s.scores.set(2.2);
    s.scores.setFeature('latency_p99', 0.3);
    await advanceTo(s.clock, fixedAt + 600 + 300);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'reverted', 5000, 'the revert to end');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off']);
    expect(s.scores.queries).toContain('selfheal_anomaly_feature_score{ group="shop",service="checkout",feature="latency_p99" } >= 1');
    expect(s.scores.queries.some((q) => q.startsWith('selfheal_anomaly_score{') && q.endsWith('>= 1'))).toBe(false);
  }, 60_000);

  it('the guardrails apply to a revert: paused, it is held back (recorded once) and runs once unpaused', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    const pause = (paused: boolean) => fetch(`${s.svc.url}/api/v1/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paused, reason: 'maintenance' }) });
    expect((await pause(true)).status).toBe(200);
    await advanceTo(s.clock, fixedAt + 660);
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on']);
    expect((await reverts(s.svc))[0]).toMatchObject({ status: 'waiting' });
    const deferred = (await auditEvents(s.svc)).filter((e) => e.event === 'revert_deferred');
    expect(deferred).toHaveLength(1);
    expect(deferred[0]?.reason).toMatch(/^the revert of enable_cache is held back: paused \(maintenance\); looked at again at /);
    expect(await metric(s.svc, 'selfheal_healing_reverts_total{service="checkout",action="enable_cache",outcome="deferred"}')).toBe(1);
    expect((await pause(false)).status).toBe(200);
    await advanceTo(s.clock, fixedAt + 670);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'verifying', 5000, 'the revert once unpaused');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off']);
  }, 60_000);

  it('a revert held back by the cooldown of another incident\'s action on the target runs when it ends', async () => {
    const s = await setup(kind);
    // A second rule acts on the same target with a 20 minute cooldown.
    const targets = s.raw.targets as Record<string, { actions: Record<string, unknown> }>;
    const raw = {
      ...s.raw,
      targets: { checkout: { ...targets.checkout, actions: { ...targets.checkout?.actions, scale_up: { url: `${s.admin.url}/scale` } } } },
      rules: [
        { name: 'cpu', matchers: ['service = checkout', 'feature = cpu'], target: 'checkout', actions: ['scale_up'], cooldown: '20m' },
        ...(s.raw.rules as unknown[]),
      ],
    };
    await s.svc.stop();
    const svc = await startHealer(raw, { clock: s.clock, dir: s.svc.dir });
    healers.push(svc);
    s.svc = svc;
    await fixApplied(s);
    const fixedAt = s.clock.now();
    await advanceTo(s.clock, fixedAt + 590);
    expect((await svc.post(payload([{ fingerprint: 'cpu1', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', group: 'shop', feature: 'cpu' } }]))).status).toBe(200);
    await svc.healer.engine.idle();
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/scale']);
    await advanceTo(s.clock, fixedAt + 600 + 60);
    const held = (await auditEvents(svc)).filter((e) => e.event === 'revert_deferred');
    expect(held.map((e) => e.reason)).toEqual([expect.stringMatching(/^the revert of enable_cache is held back: cooldown: target "checkout" acted on recently; 20m left; looked at again at /)]);
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/scale']);
    await advanceTo(s.clock, fixedAt + 590 + 1200);
    await eventually(() => s.calls.length === 3, 5000, 'the revert when the cooldown ended');
    expect(s.calls[2]).toEqual({ path: '/cache/off', at: fixedAt + 590 + 1200 });
  }, 60_000);

  it('a restart while a revert is pending resumes it: it runs once, at its time', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    await advanceTo(s.clock, fixedAt + 100);
    await s.svc.stop();

    const later = new ManualClock(fixedAt + 200);
    const history = new ScoreHistory(later);
    history.set(0.4, fixedAt - 5);
    const prom = await server(prometheusApi((q) => history.answer(q)));
    const again = await startHealer({ ...s.raw, prometheus: { url: prom.url } }, { clock: later, dir: s.svc.dir });
    healers.push(again);
    await eventually(() => later.nextWake === fixedAt + 600, 10_000, 'the restarted service to wait for the revert');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on']);
    await advanceTo(later, fixedAt + 600);
    await eventually(async () => (await reverts(again))[0]?.status === 'verifying', 5000, 'the revert after the restart');
    await advanceTo(later, fixedAt + 600 + 300);
    await eventually(async () => (await reverts(again))[0]?.status === 'reverted', 5000, 'the revert to end');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off']);
  }, 60_000);

  it('stopped while the revert runs: the next start does not repeat it, records unknown and tells a person', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    // The admin API holds its answer to the revert: the service stops while the revert is in flight.
    s.hold.add('/cache/off');
    await advanceTo(s.clock, fixedAt + 600);
    await eventually(() => s.held.length === 1, 5000, 'the revert in flight');
    expect((await reverts(s.svc))[0]).toMatchObject({ status: 'started' });
    await s.svc.stop();
    for (const release of s.held) release();

    const again = await startHealer(s.raw, { clock: s.clock, dir: s.svc.dir });
    healers.push(again);
    await eventually(async () => (await reverts(again))[0]?.status === 'unknown', 5000, 'the interrupted revert to be recorded');
    expect((await reverts(again))[0]?.reason).toBe('the service stopped while the revert of enable_cache was running, before its result was seen; not repeating it');
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off']);
    expect(await metric(again, 'selfheal_healing_reverts_total{service="checkout",action="enable_cache",outcome="unknown"}')).toBe(1);
    await eventually(() => s.slack.requests.length === 1, 5000, 'the notification');
    expect(JSON.parse(s.slack.requests[0]!.body).text).toMatch(/could not revert enable_cache on checkout \(unknown\)/);
  }, 60_000);

  it('stopped while the fix is being put back: the next start does not repeat it either (unknown) and reverting stays stopped', async () => {
    const s = await setup(kind);
    await fixApplied(s);
    const fixedAt = s.clock.now();
    await advanceTo(s.clock, fixedAt + 600);
    await eventually(async () => (await reverts(s.svc))[0]?.status === 'verifying', 5000, 'the revert to run');
    s.hold.add('/cache/on');
    s.scores.set(3);
    await advanceTo(s.clock, fixedAt + 615);
    await eventually(() => s.held.length === 1, 5000, 'the fix being put back');
    expect((await reverts(s.svc))[0]).toMatchObject({ status: 'reapplying' });
    await s.svc.stop();
    for (const release of s.held) release();

    const again = await startHealer(s.raw, { clock: s.clock, dir: s.svc.dir });
    healers.push(again);
    await eventually(async () => (await reverts(again))[0]?.status === 'unknown', 5000, 'the interrupted re-apply to be recorded');
    expect((await reverts(again))[0]?.reason).toMatch(/^the service stopped while enable_cache was being put back on checkout .*not repeating it; reverting stopped for this target$/);
    expect(s.calls.map((c) => c.path)).toEqual(['/cache/on', '/cache/off', '/cache/on']);
    expect((await auditEvents(again)).filter((e) => String(e.event).startsWith('revert_') || e.event === 'reverted').map((e) => e.event))
      .toEqual(['revert_scheduled', 'revert_started', 'revert_applied', 'revert_retriggered', 'revert_unknown']);
    // Reverting stays stopped for the target: the next fix there stays.
    s.hold.clear();
    s.scores.set(0.2);
    expect((await again.post(alert('f2'))).status).toBe(200);
    await again.healer.engine.idle();
    await eventually(async () => (await reverts(again))[0]?.status === 'skipped', 5000, 'the next revert to be skipped');
  }, 60_000);

  it('Kubernetes scale_up (no API server here: the real client-node, apiserver-shaped objects) is reverted to the previous replica count, and an HPA\'s minReplicas to its previous floor', async () => {
    const s = await setup(kind);
    const cluster = await startFakeCluster(s.svc.dir, [deployment('shop', 'checkout', 2), deployment('shop', 'payments', 3), hpa('shop', 'payments-hpa', 'Deployment', 'payments', 3, 9, 3)]);
    servers.push(cluster.server);
    const raw = {
      ...s.raw,
      actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig } },
      targets: {
        checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout', gitops: 'act' }, actions: { scale_up: { step: 2, maxReplicas: 8, revertAfter: '30m' } } },
        payments: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'payments', gitops: 'act' }, actions: { scale_up: { step: 2, maxReplicas: 8, hpa: 'raise-min', revertAfter: '30m' } } },
      },
      rules: [{ name: 'by-service', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}', actions: ['scale_up'] }],
    };
    await s.svc.stop();
    const svc = await startHealer(raw, { clock: s.clock, dir: s.svc.dir });
    healers.push(svc);
    s.scores.set(0.4, s.clock.now() - 5);
    const fixedAt = s.clock.now();
    expect((await svc.post(alert('k1'))).status).toBe(200);
    await svc.healer.engine.idle();
    const spec = (name: string) => cluster.objects.get(name)?.spec as { replicas?: number; minReplicas?: number };
    expect(spec('deployments/shop/checkout').replicas).toBe(4);
    const armed = (await reverts(svc))[0];
    expect(armed).toMatchObject({ action: 'scale_up', status: 'waiting', fix_detail: { from: 2, to: 4 } });
    await advanceTo(s.clock, fixedAt + 1800);
    await eventually(async () => (await reverts(svc))[0]?.status === 'verifying', 5000, 'the revert to run');
    expect(spec('deployments/shop/checkout').replicas).toBe(2);
    expect((await reverts(svc))[0]?.reason).toBe('scaled Deployment/checkout in shop back from 4 to 2 replicas');
    expect((await auditEvents(svc)).find((e) => e.event === 'revert_started')?.reason).toMatch(/^revert scale_up on checkout \(back to 2\): the anomaly score stayed below 1 for 30m/);
    // The HPA's floor: raised by the fix, lowered back by its revert.
    const paymentsAlert = payload([{ fingerprint: 'k2', labels: { alertname: 'SelfhealAnomaly', service: 'payments', group: 'shop', feature: 'cpu' } }]);
    const before = s.clock.now();
    expect((await svc.post(paymentsAlert)).status).toBe(200);
    await svc.healer.engine.idle();
    expect(spec('horizontalpodautoscalers/shop/payments-hpa').minReplicas).toBe(5);
    await advanceTo(s.clock, before + 1800);
    await eventually(async () => (await reverts(svc)).find((r) => r.target === 'payments')?.status === 'verifying', 5000, 'the HPA revert');
    expect(spec('horizontalpodautoscalers/shop/payments-hpa').minReplicas).toBe(3);
  }, 60_000);
});

describe('an exec fix undone by its declared argv', () => {
  it('runs the revert argv (a real process) once the score stayed below 1 for revertAfter', async () => {
    const s = await setup('sqlite');
    const log = join(s.svc.dir, 'exec.log');
    const append = (word: string) => [process.execPath, '-e', `require('node:fs').appendFileSync(process.argv[1], process.argv[2] + '\\n')`, log, word];
    const raw = {
      ...s.raw,
      actuators: { run: { type: 'exec', timeout: '10s' } },
      targets: { checkout: { actuator: 'run', actions: { open_circuit_breaker: { argv: append('open'), revertAfter: '2m', revert: { argv: append('close') } } } } },
      rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['open_circuit_breaker'] }],
    };
    await s.svc.stop();
    const svc = await startHealer(raw, { clock: s.clock, dir: s.svc.dir });
    healers.push(svc);
    s.svc = svc;
    await fixApplied(s);
    const fixedAt = s.clock.now();
    expect(readFileSync(log, 'utf8')).toBe('open\n');
    await advanceTo(s.clock, fixedAt + 120);
    await eventually(async () => (await reverts(svc))[0]?.status === 'verifying', 10_000, 'the revert to run');
    expect(readFileSync(log, 'utf8')).toBe('open\nclose\n');
    expect((await reverts(svc))[0]?.detail).toMatchObject({ exitCode: 0, argv: append('close') });
  }, 60_000);
});

describe.skipIf(gate.skip)('reverts across replicas (PostgreSQL)', () => {
  it('a pending revert of a replica that goes away is taken over by the other and runs once', async () => {
    const store = await storeFor('postgres');
    const clockA = new ManualClock(1_800_000_000);
    const clockB = new ManualClock(clockA.now());
    const scores = new ScoreHistory(clockA);
    const calls: string[] = [];
    const admin = await server((req, _b, res) => { calls.push(`${String(req.headers['x-replica'])} ${req.url ?? ''}`); res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const prom = await server(prometheusApi((q) => scores.answer(q)));
    const raw = (name: string) => {
      const p = policy(store, prom.url, admin.url, slack.url);
      return { ...p, actuators: { admin: { type: 'http', retries: 0, headers: { 'x-replica': name } } } };
    };
    const a = await startHealer(raw('a'), { clock: clockA });
    const b = await startHealer(raw('b'), { clock: clockB });
    healers.push(a, b);
    scores.set(2.5, clockA.now() - 120);
    scores.set(0.4, clockA.now() - 5);
    expect((await a.post(alert('ha1'))).status).toBe(200);
    expect((await b.post(alert('ha1'))).body).toMatchObject({ duplicate: 1 });
    await a.healer.engine.idle();
    const armed = await eventually(async () => (await reverts(a)).find((r) => r.status === 'waiting'), 10_000, 'the revert to be armed');
    expect(armed.owner).toBe(a.healer.store.replica);
    // b's lease ticks look for orphaned reverts: a's is a's while a lives.
    await new Promise((r) => setTimeout(r, 800));
    expect(b.healer.engine.reverts.active).toBe(0);
    await a.stop();
    await eventually(() => b.healer.engine.reverts.active === 1, 10_000, 'b to take the revert over');
    expect((await queryPostgres<{ owner: string }>(String((store.store as { url: string }).url), 'SELECT owner FROM reverts'))[0]?.owner).toBe(b.healer.store.replica);
    // b's clock: the revert is due; the score history is read on a's clock, moved along.
    clockA.advance(600);
    await advanceTo(clockB, clockB.now() + 600);
    await eventually(async () => (await reverts(b))[0]?.status === 'verifying', 10_000, 'the revert on b');
    expect(calls).toEqual(['a /cache/on', 'b /cache/off']);
  }, 60_000);
});

describe('revert declarations are checked at start-up, naming the key', () => {
  const base = (actions: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    auth: 'none', prometheus: { url: 'http://127.0.0.1:9090' },
    actuators: { admin: { type: 'http' }, cluster: { type: 'kubernetes' }, run: { type: 'exec' } },
    targets: { checkout: { actuator: 'admin', actions }, shop: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' }, actions: { scale_up: { revertAfter: '30m' } } } },
    ...extra,
  });
  const problems = (raw: unknown): string[] => {
    try {
      parseConfig(raw);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
  };

  it('accepts a declared revert; Kubernetes infers its own', () => {
    expect(problems(base({ enable_cache: { url: 'http://x/on', revertAfter: '10m', revert: { url: 'http://x/off' } } }))).toEqual([]);
  });

  it('refuses revertAfter (or revert) on restart: it cannot be reverted', () => {
    expect(problems(base({ restart: { url: 'http://x/restart', revertAfter: '10m' } }))).toEqual([
      'targets.checkout.actions.restart.revertAfter: restart cannot be reverted: a rollout restart replaces the pods and leaves nothing to put back (a rollback neither: it is a change of its own); remove revertAfter',
    ]);
    const k8s = base({});
    (k8s.targets.shop.actions as Record<string, unknown>).restart = { revertAfter: '5m' };
    expect(problems(k8s)).toEqual([expect.stringMatching(/^targets\.shop\.actions\.restart\.revertAfter: restart cannot be reverted/)]);
    const rule = base({ restart: { url: 'http://x/restart' } }, { rules: [{ name: 'r', target: 'checkout', actions: [{ action: 'restart', params: { revertAfter: '5m' } }] }] });
    expect(problems(rule)).toEqual([expect.stringMatching(/^rules\[0\]\.actions\[0\]\.params\.revertAfter: restart cannot be reverted/)]);
  });

  it('an http or exec fix needs the call that undoes it; Kubernetes needs none; revert needs revertAfter; both need Prometheus', () => {
    expect(problems(base({ enable_cache: { url: 'http://x/on', revertAfter: '10m' } }))).toEqual([
      'targets.checkout.actions.enable_cache.revert: the http actuator cannot know how to undo enable_cache: declare the call that undoes it under revert (e.g. revert: {url: ..., method: POST})',
    ]);
    expect(problems(base({ enable_cache: { url: 'http://x/on', revert: { url: 'http://x/off' } } }))).toEqual([expect.stringMatching(/^targets\.checkout\.actions\.enable_cache\.revertAfter: revert is declared but revertAfter is missing/)]);
    expect(problems(base({ enable_cache: { url: 'http://x/on', revertAfter: '10m', revert: { url: 'ftp://x/off' } } }))).toEqual(['targets.checkout.actions.enable_cache.revert.url: must start with http:// or https://']);
    expect(problems(base({ enable_cache: { url: 'http://x/on', revertAfter: 'soon', revert: { url: 'http://x/off' } } }))).toEqual([expect.stringMatching(/^targets\.checkout\.actions\.enable_cache\.revertAfter: "soon" is not a duration/)]);
    const k8s = base({});
    (k8s.targets.shop.actions as Record<string, unknown>).enable_cache = { configMap: { name: 'flags', key: 'CACHE', value: 'on' }, revertAfter: '5m', revert: { configMap: { name: 'flags', key: 'CACHE', value: 'off' } } };
    expect(problems(k8s)).toEqual(['targets.shop.actions.enable_cache.revert: the kubernetes actuator reverts enable_cache by itself (it records the value the fix replaced); remove revert and keep revertAfter']);
    const exec = base({});
    exec.targets = { ...exec.targets, checkout: { actuator: 'run', actions: { quarantine: { argv: ['/usr/local/bin/drain', '{{ labels.instance }}'], revertAfter: '1h' } } } } as typeof exec.targets;
    expect(problems(exec)).toEqual([expect.stringMatching(/^targets\.checkout\.actions\.quarantine\.revert: the exec actuator cannot know how to undo quarantine: declare the call that undoes it under revert \(e\.g\. revert: \{argv: \[\.\.\.\]\}\)$/)]);
    const noProm = base({ enable_cache: { url: 'http://x/on', revertAfter: '10m', revert: { url: 'http://x/off' } } });
    delete (noProm as { prometheus?: unknown }).prometheus;
    expect(problems(noProm)).toEqual([
      'targets.checkout.actions.enable_cache.revertAfter: needs prometheus.url: the revert waits until a PromQL condition (the anomaly score stayed below 1 that long) holds',
      'targets.shop.actions.scale_up.revertAfter: needs prometheus.url: the revert waits until a PromQL condition (the anomaly score stayed below 1 that long) holds',
    ]);
  });
});
