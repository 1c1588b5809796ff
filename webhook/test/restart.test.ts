// A crash (SIGKILL) in the middle of an action: after the restart no audit record is lost and the action is
// not repeated; the service verifies it instead, and when nothing can verify it, records its outcome as
// unknown and tells a person. The service runs as a real child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, payload, prometheusApi, startServer, tempDir, TOKEN, type TestServer } from './support/harness.js';
import { freePort } from './support/ports.js';

const runner = fileURLToPath(new URL('./support/run-healer.ts', import.meta.url));
const children: ChildProcess[] = [];
const servers: TestServer[] = [];
let dir = '';

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function spawnHealer(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', runner, config], { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('..', import.meta.url)) });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  await eventually(() => out.includes('listening') || child.exitCode !== null, 20_000, 'the service to start');
  if (!out.includes('listening')) throw new Error(`service failed to start:\n${out}`);
  return child;
}

/**
 * The admin API the actions call: it accepts the first /restart and never answers it (the action is in flight
 * when the service is killed); later calls are answered.
 */
async function holdingAdmin(): Promise<TestServer> {
  const admin = await startServer((req, _body, res) => { if (req.url !== '/restart' || admin.requests.filter((r) => r.url === '/restart').length > 1) res.end('ok'); });
  servers.push(admin);
  return admin;
}

/** Config for the child: checkout is restarted; payments (a sentinel) calls /sentinel. */
function writeConfig(port: number, admin: TestServer, extra: Record<string, unknown>, rule: Record<string, unknown> = {}): string {
  writeFileSync(join(dir, 'token'), TOKEN);
  const config = join(dir, 'config.yml');
  writeFileSync(config, stringify({
    listen: `127.0.0.1:${port}`,
    auth: { type: 'bearer', tokenFile: join(dir, 'token') },
    store: { path: join(dir, 'healer.db') },
    actuators: { admin: { type: 'http', timeout: '60s', retries: 0 } },
    targets: {
      checkout: { actuator: 'admin', actions: { restart: { url: `${admin.url}/restart` } } },
      payments: { actuator: 'admin', actions: { restart: { url: `${admin.url}/sentinel` } } },
    },
    rules: [
      { name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['restart'], ...rule },
      { name: 'sentinel', matchers: ['service = payments'], target: 'payments', actions: ['restart'], verify: false },
    ],
    ...extra,
  }));
  return config;
}

/** Runs one crash: the first service is SIGKILLed while its restart action is in flight; returns the second. */
async function crashMidAction(config: string, port: number, admin: TestServer) {
  const post = async (body: unknown) => (await fetch(`http://127.0.0.1:${port}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  const get = async (path: string) => ((await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { data: Record<string, unknown>[] }).data;
  const first = await spawnHealer(config);
  expect(await post(payload([{}]))).toBe(200);
  await eventually(() => admin.requests.length === 1, 10_000, 'the action to reach the admin API');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const db = new Database(join(dir, 'healer.db'), { readonly: true });
  const before = db.prepare('SELECT event FROM audit ORDER BY id').all() as { event: string }[];
  db.close();
  expect(before.map((r) => r.event)).toEqual(['received', 'matched', 'started']);

  const second = await spawnHealer(config);
  await eventually(async () => (await get('/api/v1/incidents'))[0]?.phase === 'done', 10_000, 'the incident to finish');
  // Re-sent by Alertmanager after the restart: still no second action. The sentinel alert, posted after it, is a
  // barrier: its action reaching the admin API means the re-sent one was decided (before it) and started nothing.
  expect(await post(payload([{}]))).toBe(200);
  expect(await post(payload([{ fingerprint: 'sentinel', labels: { alertname: 'SelfhealAnomaly', service: 'payments', feature: 'mem' } }]))).toBe(200);
  await eventually(() => admin.requests.some((r) => r.url === '/sentinel'), 10_000, 'the sentinel action');
  expect(admin.requests.filter((r) => r.url === '/restart')).toHaveLength(1);
  const stop = async () => {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  };
  return { get, stop, metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text() };
}

const checkoutAudit = async (get: (path: string) => Promise<Record<string, unknown>[]>) =>
  (await get('/api/v1/audit')).reverse().filter((r) => r.service === 'checkout');

describe('restart in the middle of an action', () => {
  it('loses no audit record and does not repeat the action; verification decides its outcome', async () => {
    dir = tempDir();
    const admin = await holdingAdmin();
    const prom = await startServer(prometheusApi(() => [{ metric: { service: 'checkout' }, value: 0.3 }]));
    servers.push(prom);
    const port = await freePort();
    const config = writeConfig(port, admin, { prometheus: { url: prom.url }, verify: { interval: '50ms', timeout: '30s' } });
    const { get, stop } = await crashMidAction(config, port, admin);
    const audit = await checkoutAudit(get);
    expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'started', 'interrupted', 'succeeded']);
    expect(audit[3]?.reason).toMatch(/restarted while restart was running, before its result was seen; not repeating it, verifying instead/);
    expect((await get('/api/v1/incidents')).find((i) => i.service === 'checkout')).toMatchObject({ result: 'healed', notifications: 2 });
    await stop();
  }, 60_000);

  // Without verification nobody saw what the interrupted action did: it is not "healed", it is unknown, and a
  // person is told, as for a failure (no further action is stacked on one whose effect nobody saw).
  for (const [name, extra, rule] of [
    ['no prometheus.url', {}, {}],
    ['verify: false on the rule', { prometheus: { url: 'http://127.0.0.1:9/' } }, { verify: false }],
  ] as const) {
    it(`an interrupted action that cannot be verified (${name}) is recorded as unknown and escalated`, async () => {
      dir = tempDir();
      const admin = await holdingAdmin();
      const slack = await startServer((_req, _body, res) => { res.end('ok'); });
      servers.push(slack);
      const port = await freePort();
      const config = writeConfig(port, admin, { ...extra, escalation: { notify: { url: `${slack.url}/hooks/T000` } } }, rule);
      const { get, stop, metrics } = await crashMidAction(config, port, admin);
      const audit = await checkoutAudit(get);
      expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'started', 'interrupted', 'unknown', 'escalated']);
      const incident = (await get('/api/v1/incidents')).find((i) => i.service === 'checkout');
      expect(incident).toMatchObject({ phase: 'done', result: 'unknown' });
      expect(String(incident?.reason)).toMatch(/outcome unknown: the service stopped while restart was running, before its result was seen, and it cannot be verified .*; notification sent$/);
      const action = (await get('/api/v1/actions?service=checkout'))[0];
      expect(action).toMatchObject({ action: 'restart', status: 'unknown' });
      expect(slack.requests).toHaveLength(1);
      expect(JSON.parse(slack.requests[0]!.body).text).toMatch(/^:warning: Selfheal does not know whether it healed checkout: outcome unknown/);
      const text = await metrics();
      expect(text).toMatch(/^selfheal_healing_actions_total\{service="checkout",action="restart",outcome="unknown"\} 1$/m);
      expect(text).toMatch(/^selfheal_healing_actions_total\{service="checkout",action="restart",outcome="succeeded"\} 0$/m);
      expect(text).toMatch(/^selfheal_healing_last_action_timestamp_seconds\{service="checkout",action="restart",outcome="unknown"\} \d+/m);
      await stop();
    }, 60_000);
  }
});
