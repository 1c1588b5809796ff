// Highly available healing service: two replicas (the real `selfheal webhook` command, each its own process)
// share one REAL PostgreSQL (Debian's postgresql, temporary data directory), behind one REAL Alertmanager
// whose selfheal-healer receiver notifies BOTH replicas (two webhook_configs, as with a Service in front of
// several pods or one URL per replica). 200 distinct alerts, each delivered to both replicas again and again
// (repeat_interval 2s): exactly 200 actions, counted by the admin API they call. One replica is SIGKILLed
// while its actions are in flight: nothing is lost, nothing is repeated, the other replica carries on. The actions
// the dead replica had in flight were never answered to it and nothing verifies them (verify: false): their
// outcome is recorded as unknown, and escalated, not as healed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleValue, scrapeMetrics } from '@selfheal/contracts';
import { freePort, startStack, waitFor, type Stack } from '@selfheal/stack';
import { postgresGate, queryPostgres, startPostgres, type PostgresServer } from '@selfheal/webhook/testing/postgres';

const TOKEN = 'ha-test-token-0123456789abcdef';
const ALERTS = 200;
const cli = fileURLToPath(new URL('../cli/bin/selfheal.js', import.meta.url));
// Skipped only when PostgreSQL is absent and not required; under `npm test` (SELFHEAL_REQUIRE_POSTGRES=1) its absence fails.
const gate = postgresGate('the highly-available healing service test');
if (gate.failure) {
  describe('two healing-service replicas on one PostgreSQL', () => {
    it('needs PostgreSQL', () => { throw new Error(gate.failure); });
  });
}

interface Replica { name: string; url: string; child: ChildProcess; log: string[] }

/** The admin API the actions call: counts every call per alert instance; holds its answers while `holding`. */
class AdminApi {
  readonly calls = new Map<string, number>();
  readonly byReplica = new Map<string, number>();
  holding = false;
  private held: ServerResponse[] = [];
  server: Server = createServer((req, res) => {
    const instance = /^\/act\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '?';
    this.calls.set(instance, (this.calls.get(instance) ?? 0) + 1);
    const from = String(req.headers['x-replica'] ?? '?');
    this.byReplica.set(from, (this.byReplica.get(from) ?? 0) + 1);
    req.resume();
    if (this.holding) this.held.push(res);
    else res.end('ok');
  });
  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) if (!res.destroyed) res.end('ok');
  }
  url = '';
  async start(): Promise<void> {
    // Longer than any pause in the test: an idle keep-alive connection closed by the server just as a replica
    // reuses it would fail that action (retries: 0 here, so that every call is counted exactly).
    this.server.keepAliveTimeout = 120_000;
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  get total(): number { return [...this.calls.values()].reduce((a, b) => a + b, 0); }
  close(): Promise<void> { return new Promise((r) => { this.server.close(() => r()); this.server.closeAllConnections(); }); }
}

describe.skipIf(gate.skip)('two healing-service replicas on one PostgreSQL behind a real Alertmanager', () => {
  let dir: string;
  let postgres: PostgresServer;
  let stack: Stack;
  const admin = new AdminApi();
  const replicas: Replica[] = [];

  async function startReplica(name: string): Promise<Replica> {
    const port = await freePort();
    const config = join(dir, `${name}.yml`);
    writeFileSync(config, stringify({
      listen: `127.0.0.1:${port}`,
      auth: { type: 'bearer', tokenFile: join(dir, 'token') },
      store: { url: postgres.url, lease: '3s', poolSize: 6 },
      actuators: { admin: { type: 'http', retries: 0, timeout: '30s', headers: { 'x-replica': name } } },
      targets: { shop: { actuator: 'admin', actions: { scale_up: { url: `${admin.url}/act/{{ labels.instance }}` } } } },
      rules: [{ name: 'ha', matchers: ['alertname = SelfhealAnomaly', 'service = shop'], target: 'shop', actions: ['scale_up'], verify: false }],
      // Every alert must act: no cooldown, generous limits (they are still checked in the store, by both).
      guardrails: { cooldown: 0, rateLimits: { perTarget: [{ window: '1h', max: 1000 }], global: [{ window: '1h', max: 1000 }] }, maxConcurrent: 500 },
    }));
    const child = spawn(process.execPath, [cli, 'webhook', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    const replica = { name, url: `http://127.0.0.1:${port}`, child, log };
    replicas.push(replica);
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`replica ${name} exited:\n${log.join('')}`);
      return (await fetch(`${replica.url}/-/ready`).catch(() => undefined))?.status === 200;
    }, { what: `replica ${name} to be ready`, timeoutMs: 30_000 });
    return replica;
  }

  const query = <T extends Record<string, unknown>>(text: string): Promise<T[]> => queryPostgres<T>(postgres.url, text);

  /** Webhook requests a replica acknowledged (its own metric). */
  async function acknowledged(r: Replica): Promise<number> {
    return sampleValue(await scrapeMetrics(`${r.url}/metrics`), 'selfheal_webhook_requests_total', { code: '200' }) ?? 0;
  }

  /** Pushes alerts into Alertmanager's API the way Prometheus does. */
  async function pushAlerts(from: number, to: number): Promise<void> {
    const startsAt = new Date(Date.now() - 1000).toISOString();
    const endsAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const alerts = Array.from({ length: to - from }, (_, i) => ({
      labels: { alertname: 'SelfhealAnomaly', service: 'shop', group: 'shop', severity: 'warning', feature: 'cpu_usage', instance: `i${from + i}` },
      annotations: { summary: 'HA test' }, startsAt, endsAt, generatorURL: 'http://127.0.0.1:9090/graph',
    }));
    const res = await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'selfheal-ha-'));
    writeFileSync(join(dir, 'token'), TOKEN);
    postgres = await startPostgres();
    await admin.start();
    const a = await startReplica('a');
    const b = await startReplica('b');
    stack = await startStack({
      webhook: { url: `${a.url}/api/v1/alerts`, token: TOKEN },
      alertmanager: { groupWait: '0s', groupInterval: '1s', repeatInterval: '2s' },
      includeShippedRules: false,
    });
    // The shipped receiver, pointed at both replicas: one more webhook_config, then a real config reload.
    const file = join(stack.workDir, 'alertmanager.yml');
    const amConfig = parse(readFileSync(file, 'utf8')) as { receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[] };
    const healer = amConfig.receivers.find((r) => r.name === 'selfheal-healer');
    const first = healer?.webhook_configs?.[0];
    if (!healer || !first) throw new Error('the shipped alertmanager.yml has no selfheal-healer webhook');
    healer.webhook_configs = [first, { ...first, url: `${b.url}/api/v1/alerts` }];
    writeFileSync(file, stringify(amConfig));
    expect((await fetch(`${stack.alertmanagerUrl}/-/reload`, { method: 'POST' })).status).toBe(200);
    const status = (await (await fetch(`${stack.alertmanagerUrl}/api/v2/status`)).json()) as { config: { original: string } };
    expect(status.config.original).toContain(`${b.url}/api/v1/alerts`);
  }, 120_000);

  afterAll(async () => {
    if (process.env.HA_DEBUG) {
      console.log('admin calls', admin.calls.size, Object.fromEntries(admin.byReplica));
      console.log(await query('SELECT phase, result, owner, COUNT(*)::int FROM incidents GROUP BY 1,2,3'));
      const twice = [...admin.calls].filter(([, n]) => n > 1).map(([i]) => i);
      console.log('called twice', twice);
      const bad = await query<{ incident_id: number; events: string }>(`SELECT incident_id, string_agg(event || ' [' || COALESCE(reason, '') || ']', ' | ' ORDER BY id) AS events FROM audit WHERE incident_id IN (SELECT id FROM incidents WHERE result != 'healed') GROUP BY 1 LIMIT 3`);
      for (const r of bad) console.log('NOT HEALED', r.incident_id, r.events);
      for (const i of twice) {
        console.log(await query(`SELECT id, key, owner, phase, result, notifications FROM incidents WHERE labels LIKE '%"instance":"${i}"%'`));
        console.log(await query(`SELECT a.* FROM actions a JOIN incidents i ON i.id = a.incident_id WHERE i.labels LIKE '%"instance":"${i}"%'`));
        console.log(await query(`SELECT a.* FROM audit a JOIN incidents i ON i.id = a.incident_id WHERE i.labels LIKE '%"instance":"${i}"%' ORDER BY a.id`));
      }
      console.log(await query('SELECT * FROM replicas'));
      for (const r of replicas) console.log(r.name, r.log.join('').slice(-3000));
    }
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => (r.child.exitCode === null && r.child.signalCode === null ? new Promise((res) => r.child.once('exit', res)) : undefined)));
    await stack?.stop();
    await admin.close();
    await postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('200 alerts delivered to both replicas, repeatedly, one replica SIGKILLed mid-run: exactly 200 actions, the killed ones\' outcome unknown', async () => {
    // Wave 1: the admin API holds its answers, so when a replica is killed its actions are in flight.
    admin.holding = true;
    await pushAlerts(0, ALERTS / 2);
    await waitFor(() => admin.calls.size === ALERTS / 2, { what: 'every wave-1 alert to reach the admin API', timeoutMs: 60_000 });
    expect(admin.total).toBe(ALERTS / 2);
    // Alertmanager delivered wave 1 to both replicas (a notification carries one alert: group_by ['...']).
    await waitFor(async () => (await acknowledged(replicas[0]!)) >= ALERTS / 2 && (await acknowledged(replicas[1]!)) >= ALERTS / 2, { what: 'wave 1 on both replicas', timeoutMs: 30_000 });
    // The replica that claimed more of the actions dies (whichever replica's delivery came first owns an alert).
    const [a, b] = (admin.byReplica.get('a') ?? 0) >= (admin.byReplica.get('b') ?? 0) ? [replicas[0]!, replicas[1]!] : [replicas[1]!, replicas[0]!];
    const inFlightOnA = admin.byReplica.get(a.name) ?? 0;
    expect(inFlightOnA).toBeGreaterThan(0);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    admin.release();

    // Wave 2 arrives while a is dead: Alertmanager's deliveries to a fail, b records and acts on them.
    await pushAlerts(ALERTS / 2, ALERTS);
    await waitFor(async () => {
      const [row] = await query<{ done: number }>(`SELECT COUNT(*)::int AS done FROM incidents WHERE phase = 'done'`);
      return admin.calls.size === ALERTS && row?.done === ALERTS;
    }, { what: 'all 200 incidents to finish on the surviving replica', timeoutMs: 60_000 });

    // Keep the re-sends coming until every alert has been delivered at least 3 times (Alertmanager slows a
    // receiver's repeats while one of its webhooks, the dead replica's, keeps failing and being retried).
    await waitFor(async () => ((await query<{ n: number }>('SELECT MIN(notifications)::int AS n FROM incidents'))[0]?.n ?? 0) >= 3,
      { what: 'every alert to be delivered at least 3 times', timeoutMs: 60_000 });
    // A barrier instead of a pause: one more alert, pushed after those re-sends were recorded. Its action reaching
    // the admin API means the re-sends recorded before it were decided, and (checked below) started nothing.
    await pushAlerts(ALERTS, ALERTS + 1);
    await waitFor(() => admin.calls.get(`i${ALERTS}`) === 1, { what: 'the barrier alert\'s action', timeoutMs: 30_000 });
    expect(admin.total).toBe(ALERTS + 1);
    expect([...admin.calls.values()].every((n) => n === 1)).toBe(true);
    const notified = await query<{ min_notified: number }>(`SELECT MIN(notifications)::int AS min_notified FROM incidents WHERE labels NOT LIKE '%"instance":"i${ALERTS}"%'`);
    expect(notified[0]?.min_notified).toBeGreaterThanOrEqual(3);
    // a's in-flight actions, taken over by b: not repeated, and since nothing saw their result, unknown (not healed).
    expect(await query(`SELECT phase, result, COUNT(*)::int AS n FROM incidents GROUP BY 1, 2 ORDER BY 2`)).toEqual([
      { phase: 'done', result: 'healed', n: ALERTS + 1 - inFlightOnA },
      { phase: 'done', result: 'unknown', n: inFlightOnA },
    ]);
    expect(await acknowledged(b)).toBeGreaterThanOrEqual(2 * ALERTS); // b: every alert, and re-sends
    const actions = await query<{ status: string; n: number }>(`SELECT status, COUNT(*)::int AS n FROM actions GROUP BY status ORDER BY status`);
    expect(actions).toEqual([{ status: 'succeeded', n: ALERTS + 1 - inFlightOnA }, { status: 'unknown', n: inFlightOnA }]);
    const events = await query<{ event: string; n: number }>(`SELECT event, COUNT(*)::int AS n FROM audit WHERE event IN ('interrupted', 'unknown', 'escalated') GROUP BY event ORDER BY event`);
    expect(events).toEqual([{ event: 'escalated', n: inFlightOnA }, { event: 'interrupted', n: inFlightOnA }, { event: 'unknown', n: inFlightOnA }]);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^selfheal_healing_actions_total\\{service="shop",action="scale_up",outcome="unknown"\\} ${inFlightOnA}$`, 'm'));
    expect(b.child.exitCode).toBeNull();
    expect((await fetch(`${b.url}/-/ready`)).status).toBe(200);
  }, 150_000);
});
