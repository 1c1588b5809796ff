// The efficacy ledger (issue 17), on both stores (SQLite, and a real PostgreSQL when it is installed): success rate
// and time to recover per (feature, action, target) over the window from real incidents through the service, in
// GET /api/v1/efficacy and /metrics; an action whose success rate fell below the floor is demoted to approve mode on
// its target (recorded, audited, counted), the next incident there waits for a person, and a person lifts it through
// the API; what healing costs (replica-seconds of a Kubernetes scale-up until its revert, quarantines held). Real
// HTTP for the service, the admin API the actions call and the Kubernetes API shape (the real client-node against
// apiserver-shaped answers: no cluster here); Prometheus's query API answered in its wire shape; an injected clock
// the test moves (no sleeps).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@selfheal/contracts';
import { parseConfig } from '../src/config/load.js';
import { ManualClock } from './support/clock.js';
import { eventually, payload, prometheusApi, startHealer, startServer, TOKEN, type TestHealer, type TestServer } from './support/harness.js';
import { deployment, startFakeCluster } from './support/kube-apiserver.js';
import { postgresGate, queryPostgres, startPostgres, type PostgresServer } from './support/postgres.js';

type Row = Record<string, unknown>;
type Kind = 'sqlite' | 'postgres';

const gate = postgresGate('the efficacy ledger tests on PostgreSQL');
const STORES = gate.skip ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
if (gate.failure) {
  describe('the efficacy ledger on PostgreSQL', () => {
    it('needs PostgreSQL', () => { throw new Error(gate.failure); });
  });
}

let pgServer: PostgresServer | undefined;
let databases = 0;
beforeAll(async () => { if (!gate.skip) pgServer = await startPostgres(); }, 60_000);
afterAll(async () => { await pgServer?.stop(); }, 60_000);

const servers: TestServer[] = [];
const healers: TestHealer[] = [];
afterEach(async () => {
  for (const h of healers.splice(0)) await h.close();
  for (const s of servers.splice(0)) await s.close();
});

async function storeFor(kind: Kind): Promise<Record<string, unknown>> {
  if (kind === 'sqlite' || !pgServer) return {};
  const name = `efficacy_${process.pid}_${++databases}`;
  await queryPostgres(pgServer.url, `CREATE DATABASE ${name}`);
  return { store: { url: pgServer.url.replace(/\/selfheal$/, `/${name}`), lease: '1s' } };
}

async function server(...args: Parameters<typeof startServer>) {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

const T0 = 1_800_000_000;
const iso = (s: number) => new Date(s * 1000).toISOString();

interface World {
  clock: ManualClock;
  /** Whether the anomaly score is below 1 (verification holds, reverts find it calm). */
  healthy: boolean;
  /** Whether the admin API fails (the action fails at once). */
  failing: boolean;
  admin: TestServer;
  prom: TestServer;
}

async function world(): Promise<World> {
  const w = { clock: new ManualClock(T0), healthy: true, failing: false } as World;
  w.admin = await server((_req, _b, res) => {
    res.statusCode = w.failing ? 500 : 200;
    res.end(w.failing ? 'boom' : 'ok');
  });
  w.prom = await server(prometheusApi((query) => {
    const sample = [{ metric: { group: 'shop', service: 'checkout' }, value: w.healthy ? 0.3 : 2.5 }];
    if (query.endsWith('>= 1')) return w.healthy ? [] : sample;
    return w.healthy ? sample : [];
  }));
  return w;
}

function policy(w: World, store: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    ...store,
    prometheus: { url: w.prom.url },
    verify: { interval: '15s', timeout: '1m' },
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { restart: { url: `${w.admin.url}/restart` } } } },
    rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['restart'] }],
    guardrails: { cooldown: 0, rateLimits: { perTarget: [{ window: 3600, max: 100 }], global: [{ window: 3600, max: 100 }] } },
    ...extra,
  };
}

async function start(raw: Record<string, unknown>, clock: ManualClock, dir?: string): Promise<TestHealer> {
  const h = await startHealer(raw, { clock, ...(dir ? { dir } : {}) });
  healers.push(h);
  return h;
}

/** An alert of `service` driven by `feature` that started `ago` seconds before the clock's now. */
const alert = (clock: ManualClock, fingerprint: string, feature: string, ago: number, service = 'checkout') =>
  payload([{ fingerprint, startsAt: iso(clock.now() - ago), labels: { alertname: 'SelfhealAnomaly', service, group: 'shop', feature } }]);

const incident = async (svc: TestHealer, fingerprint: string) => ((await svc.get('/api/v1/incidents')).body.data as Row[]).find((i) => i.fingerprint === fingerprint);

/** Posts an alert and waits until its incident is finished (or waits for a person). */
async function handled(svc: TestHealer, body: Record<string, unknown>, fingerprint: string, phase = 'done'): Promise<Row> {
  expect((await svc.post(body)).status).toBe(200);
  await svc.healer.engine.idle();
  return eventually(async () => { const i = await incident(svc, fingerprint); return i?.phase === phase ? i : undefined; }, 10_000, `incident ${fingerprint} to be ${phase}`);
}

const efficacy = async (svc: TestHealer) => (await svc.get('/api/v1/efficacy')).body.data as {
  window: number; entries: Row[]; byAction: Row[]; byTarget: Row[]; demotions: Row[]; costs: { replicaSeconds: number; addedReplicas: number; quarantinedInstances: number; byTarget: Row[] };
};

/** The value of the series of `name` with exactly these labels (in any order); undefined when absent. */
async function metric(svc: TestHealer, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] === name && (m[2] ?? '').split(',').sort().join(',') === want) return Number(m[3]);
  }
  return undefined;
}

async function lift(svc: TestHealer, target: string, action: string, body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: Row }> {
  const res = await fetch(`${svc.url}/api/v1/demotions/${target}/${action}/lift`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Row };
}

/** Moves the clock to `t`, one wait at a time: each step waits for the engine to be waiting again. */
async function advanceTo(clock: ManualClock, t: number): Promise<void> {
  for (let i = 0; i < 10_000 && clock.now() < t; i++) {
    await eventually(() => clock.nextWake !== undefined, 5000, `the engine to wait (at ${clock.now()})`);
    clock.advance(Math.max(0, Math.min(clock.nextWake ?? t, t) - clock.now()));
    await new Promise((r) => setImmediate(r));
  }
}

describe.each(STORES)('the efficacy ledger (%s store)', (kind) => {
  it('success rate and median time to recover per (feature, action, target) from real incidents, in the API and /metrics, over the window', async () => {
    const w = await world();
    const svc = await start(policy(w, await storeFor(kind), { efficacy: { window: '1h' } }), w.clock);
    // latency_p99: healed 60s and 180s after the alert started; memory_rss: one failure (the admin API fails), one healed after 30s.
    await handled(svc, alert(w.clock, 'e1', 'latency_p99', 60), 'e1');
    w.clock.advance(100);
    await handled(svc, alert(w.clock, 'e2', 'latency_p99', 180), 'e2');
    w.clock.advance(100);
    w.failing = true;
    expect(await handled(svc, alert(w.clock, 'e3', 'memory_rss', 20), 'e3')).toMatchObject({ result: 'escalated' });
    w.failing = false;
    w.clock.advance(100);
    expect(await handled(svc, alert(w.clock, 'e4', 'memory_rss', 30), 'e4')).toMatchObject({ result: 'healed' });
    expect(w.admin.requests).toHaveLength(4);

    const e = await efficacy(svc);
    expect(e).toMatchObject({ window: 3600, from: T0 + 300 - 3600, to: T0 + 300, minAttempts: 3, demoteBelow: null, demotions: [] });
    expect(e.entries).toEqual([
      { feature: 'latency_p99', action: 'restart', target: 'checkout', attempts: 2, successes: 2, failures: 0, unknown: 0, successRatio: 1, medianRecoverySeconds: 120 },
      { feature: 'memory_rss', action: 'restart', target: 'checkout', attempts: 2, successes: 1, failures: 1, unknown: 0, successRatio: 0.5, medianRecoverySeconds: 30 },
    ]);
    expect(e.byTarget).toEqual([{ target: 'checkout', action: 'restart', attempts: 4, successes: 3, failures: 1, unknown: 0, successRatio: 0.75, medianRecoverySeconds: 60, demoted: false }]);
    expect(e.byAction.map((a) => [a.feature, a.action, a.successRatio])).toEqual([['latency_p99', 'restart', 1], ['memory_rss', 'restart', 0.5]]);

    const memory = { feature: 'memory_rss', action: 'restart', target: 'checkout' };
    expect(await metric(svc, 'selfheal_healing_efficacy_attempts', memory)).toBe(2);
    expect(await metric(svc, 'selfheal_healing_efficacy_successes', memory)).toBe(1);
    expect(await metric(svc, 'selfheal_healing_efficacy_success_ratio', memory)).toBe(0.5);
    expect(await metric(svc, 'selfheal_healing_efficacy_recovery_seconds', memory)).toBe(30);
    expect(await metric(svc, 'selfheal_healing_efficacy_recovery_seconds', { ...memory, feature: 'latency_p99' })).toBe(120);

    // An hour later the first three attempts have left the window: only e4 is counted, and the others' series are gone.
    w.clock.advance(3550);
    expect((await efficacy(svc)).entries).toEqual([
      { feature: 'memory_rss', action: 'restart', target: 'checkout', attempts: 1, successes: 1, failures: 0, unknown: 0, successRatio: 1, medianRecoverySeconds: 30 },
    ]);
    expect(await metric(svc, 'selfheal_healing_efficacy_success_ratio', memory)).toBe(1);
    expect(await metric(svc, 'selfheal_healing_efficacy_attempts', { ...memory, feature: 'latency_p99' })).toBeUndefined();
  }, 60_000);

  it('an action below the floor is demoted on its target: the next incident waits for approval; a person lifts it, recorded, and it runs by itself again', async () => {
    const w = await world();
    // The team's chat (a Slack-compatible incoming webhook): told of the demotion (and, later, asked to approve).
    const chat = await server((_req, _b, res) => { res.statusCode = 200; res.end('ok'); });
    const said = () => chat.requests.map((r) => JSON.parse(r.body) as { text: string; attachments: { fields: { title: string; value: string }[] }[] });
    const svc = await start(policy(w, await storeFor(kind), {
      efficacy: { window: '1d', minAttempts: 3, demoteBelow: 0.5 }, escalation: { notify: { url: `${chat.url}/hooks/T000/B000/XXXX` } },
    }), w.clock);
    await handled(svc, alert(w.clock, 'd1', 'latency_p99', 60), 'd1');
    w.failing = true;
    w.clock.advance(60);
    await handled(svc, alert(w.clock, 'd2', 'latency_p99', 60), 'd2');
    // 1 of 2: not below 0.5, and fewer than minAttempts attempts anyway.
    expect((await svc.get('/api/v1/demotions')).body.data).toEqual([]);
    w.clock.advance(60);
    await handled(svc, alert(w.clock, 'd3', 'latency_p99', 60), 'd3');

    // 1 of 3 (33%) < 50%: demoted, durably, audited and counted.
    const demotedAt = w.clock.now();
    const reason = "restart healed 1 of its last 3 attempts on checkout (33%), below the efficacy floor of 50%: it now waits for a person's approval there until someone lifts the demotion";
    expect((await svc.get('/api/v1/demotions?status=active')).body.data).toEqual([expect.objectContaining({
      target: 'checkout', action: 'restart', status: 'active', demoted_at: demotedAt, attempts: 3, successes: 1, floor: 0.5, window_seconds: 86400, reason, lifted_at: null,
    })]);
    const audit = async () => ((await svc.get('/api/v1/audit')).body.data as Row[]).reverse();
    expect((await audit()).filter((a) => a.event === 'demoted')).toEqual([expect.objectContaining({ target: 'checkout', action: 'restart', reason, ts: demotedAt })]);
    expect(await metric(svc, 'selfheal_healing_demotions', { action: 'restart', target: 'checkout' })).toBe(1);
    // People are told, with the way to lift it.
    const demotionNotices = said().filter((m) => m.text.includes('demoted'));
    expect(demotionNotices).toHaveLength(1);
    // The link is on the service's externalUrl (here: its configured listen address).
    expect(demotionNotices[0]?.text.replace(/http:\/\/[^/]+/, 'BASE')).toBe(
      `:arrow_down: Selfheal demoted restart on checkout to approve mode: ${reason}. To let it run by itself again: POST BASE/api/v1/demotions/checkout/restart/lift with {"by": "<you>", "reason": "..."}`,
    );
    expect(demotionNotices[0]?.attachments[0]?.fields).toEqual(expect.arrayContaining([{ title: 'attempts', value: '3', short: true }, { title: 'successes', value: '1', short: true }]));
    expect((await efficacy(svc)).byTarget).toEqual([expect.objectContaining({ target: 'checkout', action: 'restart', attempts: 3, successes: 1, demoted: true })]);

    // The next incident there waits for a person (the rule says auto), with the demotion as its evidence; nothing runs.
    w.failing = false;
    w.clock.advance(60);
    const calls = w.admin.requests.length;
    expect((await svc.post(alert(w.clock, 'd4', 'latency_p99', 60))).status).toBe(200);
    await eventually(async () => (await incident(svc, 'd4'))?.phase === 'awaiting_approval', 10_000, 'd4 to await approval');
    const approvals = (await svc.get('/api/v1/approvals?status=pending')).body.data as Row[];
    expect(approvals).toEqual([expect.objectContaining({ action: 'restart', target: 'checkout', evidence: expect.objectContaining({ demoted: reason }) })]);
    expect(await metric(svc, 'selfheal_healing_actions_total', { service: 'checkout', action: 'restart', outcome: 'pending_approval' })).toBe(1);
    expect(w.admin.requests).toHaveLength(calls);

    // Lifting: authenticated, a named body, an existing demotion.
    expect((await lift(svc, 'checkout', 'restart', { by: 'alice' }, null)).status).toBe(401);
    expect((await lift(svc, 'checkout', 'restart', { reason: 'fixed' })).body).toMatchObject({ code: 'SELFHEAL_INVALID_DEMOTION_BODY', error: expect.stringMatching(/^by: must name who lifts the demotion/) });
    expect((await lift(svc, 'checkout', 'restart', { by: 'alice', when: 'now' })).body).toMatchObject({ code: 'SELFHEAL_INVALID_DEMOTION_BODY', error: expect.stringMatching(/^unknown field "when"/) });
    const missing = await lift(svc, 'checkout', 'scale_up', { by: 'alice' });
    expect(missing).toMatchObject({ status: 404, body: { code: 'SELFHEAL_DEMOTION_NOT_FOUND', error: 'no active demotion of scale_up on target checkout' } });
    w.clock.advance(30);
    const lifted = await lift(svc, 'checkout', 'restart', { by: 'alice', reason: 'the new image fixes the leak' });
    expect(lifted).toMatchObject({ status: 200, body: { data: { status: 'lifted', lifted_by: 'alice', lift_reason: 'the new image fixes the leak', lifted_at: w.clock.now() } } });
    expect((await lift(svc, 'checkout', 'restart', { by: 'alice' })).status).toBe(404);
    expect((await audit()).filter((a) => a.event === 'demotion_lifted')).toEqual([expect.objectContaining({
      target: 'checkout', action: 'restart', reason: 'demotion of restart on checkout lifted by alice: the new image fixes the leak; it runs in its configured mode again',
    })]);
    expect(await metric(svc, 'selfheal_healing_demotions', { action: 'restart', target: 'checkout' })).toBe(0);
    expect((await svc.get('/api/v1/demotions?status=active')).body.data).toEqual([]);
    expect((await svc.get('/api/v1/demotions?status=gone')).body).toMatchObject({ code: 'SELFHEAL_INVALID_DEMOTION_STATUS' });

    // Auto again: the next incident runs by itself; the failures before the lift do not demote it again.
    w.clock.advance(60);
    expect(await handled(svc, alert(w.clock, 'd5', 'latency_p99', 60), 'd5')).toMatchObject({ result: 'healed' });
    expect(w.admin.requests).toHaveLength(calls + 1);
    w.failing = true;
    w.clock.advance(60);
    await handled(svc, alert(w.clock, 'd6', 'latency_p99', 60), 'd6');
    expect((await svc.get('/api/v1/demotions?status=active')).body.data).toEqual([]);
  }, 60_000);

  it('costs: replica-seconds of a Kubernetes scale-up until its revert scaled back, and quarantines held (no API server here: the real client-node, apiserver-shaped objects)', async () => {
    const w = await world();
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-efficacy-'));
    const cluster = await startFakeCluster(dir, [deployment('shop', 'checkout', 2)]);
    servers.push(cluster.server);
    const raw = policy(w, await storeFor(kind), {
      actuators: { cluster: { type: 'kubernetes', kubeconfig: cluster.kubeconfig }, admin: { type: 'http', retries: 0 } },
      targets: {
        checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout', gitops: 'act' }, actions: { scale_up: { step: 2, maxReplicas: 8, revertAfter: '30m' } } },
        edge: { actuator: 'admin', actions: { quarantine: { url: `${w.admin.url}/quarantine` } } },
      },
      rules: [
        { name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['scale_up'] },
        { name: 'edge', matchers: ['service = edge'], target: 'edge', actions: ['quarantine'] },
      ],
    });
    const svc = await start(raw, w.clock, dir);
    const fixedAt = w.clock.now();
    await handled(svc, alert(w.clock, 'c1', 'cpu', 60), 'c1');
    expect((cluster.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas).toBe(4);
    await handled(svc, alert(w.clock, 'q1', 'instance_outlier', 30, 'edge'), 'q1');

    // Ten minutes on: 2 replicas added for 600s; one instance held in quarantine.
    w.clock.advance(600);
    expect((await efficacy(svc)).costs).toEqual({
      replicaSeconds: 1200, addedReplicas: 2, quarantinedInstances: 1,
      byTarget: [
        { target: 'checkout', replicaSeconds: 1200, addedReplicas: 2, quarantinedInstances: 0 },
        { target: 'edge', replicaSeconds: 0, addedReplicas: 0, quarantinedInstances: 1 },
      ],
    });
    expect(await metric(svc, 'selfheal_healing_cost_replica_seconds', { target: 'checkout' })).toBe(1200);
    expect(await metric(svc, 'selfheal_healing_cost_added_replicas', { target: 'checkout' })).toBe(2);
    expect(await metric(svc, 'selfheal_healing_quarantined_instances', { target: 'edge' })).toBe(1);

    // The revert scales back once the score stayed calm for 30m: the replicas stop costing from then on.
    await advanceTo(w.clock, fixedAt + 1800);
    const revert = await eventually(async () => ((await svc.get('/api/v1/reverts')).body.data as Row[]).find((r) => r.status === 'verifying' || r.status === 'reverted'), 10_000, 'the revert to run');
    expect((cluster.objects.get('deployments/shop/checkout')?.spec as { replicas: number }).replicas).toBe(2);
    const spent = 2 * (Number(revert.started_at) - fixedAt);
    expect(spent).toBeGreaterThanOrEqual(3600);
    w.clock.advance(3600);
    expect((await efficacy(svc)).costs.byTarget[0]).toEqual({ target: 'checkout', replicaSeconds: spent, addedReplicas: 0, quarantinedInstances: 0 });
    expect(await metric(svc, 'selfheal_healing_cost_replica_seconds', { target: 'checkout' })).toBe(spent);
    expect(await metric(svc, 'selfheal_healing_cost_added_replicas', { target: 'checkout' })).toBe(0);
    expect(await metric(svc, 'selfheal_healing_quarantined_instances', { target: 'edge' })).toBe(1);
  }, 60_000);
});

describe('the efficacy config is checked at start-up, naming the key', () => {
  const problems = (efficacy: unknown, extra: Record<string, unknown> = {}): string[] => {
    try {
      parseConfig({ auth: 'none', efficacy, ...extra });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
  };

  it('accepts the defaults and a floor; refuses a floor outside (0, 1], too few attempts, a window too short or past the retention, unknown keys', () => {
    expect(parseConfig({ auth: 'none' }).efficacy).toEqual({ window: 7 * 86400, minAttempts: 3 });
    expect(problems({ window: '2d', minAttempts: 5, demoteBelow: 0.25 })).toEqual([]);
    expect(problems({ demoteBelow: 0 })).toEqual(['efficacy.demoteBelow: must be more than 0 (0 would never demote; leave demoteBelow out to turn demotion off)']);
    expect(problems({ demoteBelow: 1.5 })).toEqual(['efficacy.demoteBelow: must be at most 1 (a success ratio)']);
    expect(problems({ demoteBelow: '50%' })).toEqual(['efficacy.demoteBelow: must be a success ratio between 0 and 1, e.g. 0.5']);
    expect(problems({ minAttempts: 0 })).toEqual(['efficacy.minAttempts: must be at least 1']);
    expect(problems({ minAttempts: 2.5 })).toEqual(['efficacy.minAttempts: must be a whole number of attempts, at least 1']);
    expect(problems({ window: '30s' })).toEqual(['efficacy.window: must be at least 1m']);
    expect(problems({ window: '60d' })).toEqual(['efficacy.window: must be at most store.retention (2592000s): older actions are pruned from the store the ledger is read from']);
    expect(problems({ floor: 0.5 })).toEqual([expect.stringMatching(/^efficacy: .*floor/)]);
  });
});
