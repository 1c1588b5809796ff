// A crash (SIGKILL) in the middle of an action: after the restart no audit record is lost and the action is
// not repeated; the service verifies it instead. The service runs as a real child process.
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

describe('restart in the middle of an action', () => {
  it('loses no audit record and does not repeat the action', async () => {
    dir = tempDir();
    // The admin API accepts the first call and never answers it: the action is in flight when we crash.
    const admin = await startServer((_req, _body, res) => { if (admin.requests.length > 1) res.end('ok'); });
    servers.push(admin);
    const prom = await startServer(prometheusApi(() => [{ metric: { service: 'checkout' }, value: 0.3 }]));
    servers.push(prom);
    const port = await freePort();
    writeFileSync(join(dir, 'token'), TOKEN);
    const config = join(dir, 'config.yml');
    writeFileSync(config, stringify({
      listen: `127.0.0.1:${port}`,
      auth: { type: 'bearer', tokenFile: join(dir, 'token') },
      store: { path: join(dir, 'healer.db') },
      prometheus: { url: prom.url },
      verify: { interval: '50ms', timeout: '30s' },
      actuators: { admin: { type: 'http', timeout: '60s', retries: 0 } },
      targets: { checkout: { actuator: 'admin', actions: { restart: { url: `${admin.url}/restart` } } } },
      rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['restart'] }],
    }));
    const post = (body: unknown) => fetch(`http://127.0.0.1:${port}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const first = await spawnHealer(config);
    expect((await post(payload([{}]))).status).toBe(200);
    await eventually(() => admin.requests.length === 1, 10_000, 'the action to reach the admin API');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const db = new Database(join(dir, 'healer.db'), { readonly: true });
    const before = db.prepare('SELECT event FROM audit ORDER BY id').all() as { event: string }[];
    db.close();
    expect(before.map((r) => r.event)).toEqual(['received', 'matched', 'started']);

    const second = await spawnHealer(config);
    const get = async (path: string) => ((await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { data: Record<string, unknown>[] }).data;
    await eventually(async () => (await get('/api/v1/incidents'))[0]?.phase === 'done', 10_000, 'the incident to finish');
    // Re-sent by Alertmanager after the restart: still no second action.
    expect((await post(payload([{}]))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(admin.requests).toHaveLength(1);
    const audit = (await get('/api/v1/audit')).reverse();
    expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'started', 'interrupted', 'succeeded']);
    expect(audit[3]?.reason).toMatch(/restarted while restart was running; not repeating it, verifying instead/);
    expect((await get('/api/v1/incidents'))[0]).toMatchObject({ result: 'healed', notifications: 2 });
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 60_000);
});
