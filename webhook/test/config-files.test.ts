// Issue #5: files named by the config are checked at start-up (key + path in the message), while actuators
// read their secrets when they act (rotation works; replay and dry-run descriptions never need them).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpActuator } from '../src/actuators/http/http-actuator.js';
import { httpActuatorSchema, httpCallSchema } from '../src/actuators/http/config.js';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.js';
import { configFileProblems } from '../src/config/files.js';
import { templateVars } from '../src/policy/policy.js';
import { formatReplay, replay } from '../src/replay.js';
import { createHealer } from '../src/server.js';
import { startServer, tempDir, testConfig, type TestServer } from './support/harness.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const examplePolicy = fileURLToPath(new URL('../examples/policy.yml', import.meta.url));
let dir = '';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('files named by the config', () => {
  it('start-up refuses a missing or non-file secret, naming the key and the path', () => {
    dir = tempDir();
    mkdirSync(join(dir, 'a-directory'));
    const config = testConfig(dir, {
      actuators: { admin: { type: 'http', tokenFile: join(dir, 'missing-token') }, cluster: { type: 'kubernetes', kubeconfig: join(dir, 'a-directory') } },
      escalation: { notify: { urlFile: join(dir, 'slack-url') } },
    });
    expect(configFileProblems(config)).toEqual([
      `actuators.admin.tokenFile: the file ${join(dir, 'missing-token')} does not exist`,
      `actuators.cluster.kubeconfig: the file ${join(dir, 'a-directory')} is not a regular file`,
      `escalation.notify.urlFile: the file ${join(dir, 'slack-url')} does not exist`,
    ]);
    let thrown: unknown;
    try {
      createHealer(config, { logger: pino({ level: 'silent' }), defaultMetrics: false, configFile: 'webhook.yml' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(/^invalid config webhook\.yml:\n {2}- actuators\.admin\.tokenFile: the file .*missing-token does not exist/);
    writeFileSync(join(dir, 'missing-token'), 'secret\n');
    writeFileSync(join(dir, 'slack-url'), 'http://127.0.0.1:9/hook\n');
    expect(configFileProblems(config)).toEqual([`actuators.cluster.kubeconfig: the file ${join(dir, 'a-directory')} is not a regular file`]);
  });

  it('replay runs the example policy although its secret files do not exist on this machine', async () => {
    const config = loadConfig(examplePolicy);
    // The example names /etc/selfheal/... files; a service would refuse to start, replay must not care.
    expect(configFileProblems(config).some((p) => p.startsWith('actuators.checkout-admin.tokenFile: the file /etc/selfheal/checkout-admin-token'))).toBe(true);
    const lines = await replay(config, [fixture('alertmanager-firing.json'), fixture('alertmanager-resolved.json')]);
    expect(lines.map((l) => l.kind)).toEqual(['new', 'resolved']);
    expect(formatReplay(lines)).toMatch(/would run: scale_up on checkout/);
  });

  it('the HTTP actuator reads its token when it acts: a rotated token is used, a vanished one fails the action clearly', async () => {
    dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first-token\n');
    server = await startServer((_req, _b, res) => { res.end('ok'); });
    const actuator = new HttpActuator(httpActuatorSchema.parse({ type: 'http', tokenFile, retries: 0 }));
    const vars = templateVars({ labels: { service: 'payments' }, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
    const req = { action: 'enable_cache' as const, targetName: 'payments', target: { actuator: 'a', actions: {} }, params: httpCallSchema.parse({ url: `${server.url}/cache` }), vars, signal: new AbortController().signal };
    expect(actuator.describe(req)).toBe(`POST ${server.url}/cache`);
    expect((await actuator.execute(req)).outcome).toBe('succeeded');
    writeFileSync(tokenFile, 'second-token\n');
    expect((await actuator.execute(req)).outcome).toBe('succeeded');
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer first-token', 'Bearer second-token']);
    rmSync(tokenFile);
    const result = await actuator.execute(req);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(new RegExp(`cannot read tokenFile ${tokenFile}: ENOENT`));
    expect(server.requests).toHaveLength(2);
  });

  it('store: a SQLite path by default, or PostgreSQL by URL (short and long form), with clear errors', () => {
    expect(parseConfig({ auth: 'none' }).store).toMatchObject({ path: 'selfheal-webhook.db', synchronous: 'full' });
    expect(parseConfig({ auth: 'none', store: 'postgres://selfheal@db:5432/selfheal' }).store).toMatchObject({ url: 'postgres://selfheal@db:5432/selfheal', lease: 15, poolSize: 10 });
    expect(parseConfig({ auth: 'none', store: { url: 'postgresql://db/selfheal', passwordFile: '/run/pw', lease: '5s' } }).store).toMatchObject({ passwordFile: '/run/pw', lease: 5 });
    const problems = (raw: unknown) => {
      try {
        parseConfig({ auth: 'none', store: raw });
        return [];
      } catch (err) {
        return (err as ConfigError).errors;
      }
    };
    expect(problems({ url: 'postgres://db/x', path: '/var/lib/x.db' })).toEqual(['store: give either path (SQLite) or url (PostgreSQL), not both']);
    expect(problems({ url: 'mysql://db/x' })).toEqual(['store.url: must be a PostgreSQL URL, e.g. postgres://selfheal@db.example:5432/selfheal']);
    expect(problems({ passwordFile: '/run/pw' })).toEqual(['store.passwordFile: passwordFile is for the PostgreSQL store; set url too']);
  });
});
