// Issue #5: files named by the config are checked at start-up (key + path in the message), while actuators
// read their secrets when they act (rotation works; replay and dry-run descriptions never need them).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpActuator } from '../src/actuators/http/http-actuator.js';
import { httpActuatorSchema, httpCallSchema } from '../src/actuators/http/config.js';
import { ConfigError } from '@selfheal/contracts';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { configFileProblems } from '../src/config/files.js';
import { templateVars } from '../src/policy/policy.js';
import { formatReplay, replay } from '../src/replay/files.js';
import { createHealer } from '../src/app.js';
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
  it('prometheus.auth\'s bearer token and basic password files are checked at start-up too', () => {
    dir = tempDir();
    const bearer = testConfig(dir, { prometheus: { url: 'http://127.0.0.1:9090', auth: { bearerTokenFile: join(dir, 'prom-token') } } });
    expect(configFileProblems(bearer)).toEqual([`prometheus.auth.bearerTokenFile: the file ${join(dir, 'prom-token')} does not exist`]);
    const basic = testConfig(dir, { prometheus: { url: 'http://127.0.0.1:9090', auth: { basic: { username: 'u', passwordFile: join(dir, 'prom-password') } } } });
    expect(configFileProblems(basic)).toEqual([`prometheus.auth.basic.passwordFile: the file ${join(dir, 'prom-password')} does not exist`]);
  });

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

describe('values that used to pass the config check and fail only at start', () => {
  const problems = (raw: Record<string, unknown>) => {
    try {
      parseConfig({ auth: 'none', ...raw });
      return [];
    } catch (err) {
      return (err as ConfigError).errors;
    }
  };

  it('bodyLimit must be a size', () => {
    for (const bad of ['lots', '', '1 megabyte', '-1mb', '0', '1tb5']) {
      expect(problems({ bodyLimit: bad }), bad).toEqual([`bodyLimit: ${JSON.stringify(bad)} is not a size; write e.g. 512kb, 1mb, 4mb (or bytes as a number)`]);
    }
    for (const good of ['1mb', '512kb', ' 2 MB ', '100000', '1.5mb']) expect(problems({ bodyLimit: good }), good).toEqual([]);
    expect(parseConfig({ auth: 'none', bodyLimit: 65536 }).bodyLimit).toBe('65536');
  });

  it('listen must be HOST:PORT with a port from 1 to 65535', () => {
    expect(problems({ listen: '127.0.0.1:99999' })).toEqual(['listen: port 99999 is out of range; use 1-65535']);
    expect(problems({ listen: '127.0.0.1:0' })).toEqual(['listen: port 0 is out of range; use 1-65535']);
    expect(problems({ listen: 'localhost' })).toEqual(['listen: must be HOST:PORT, e.g. 127.0.0.1:9189']);
    expect(problems({ listen: ':9189' })).toEqual([]);
    expect(problems({ listen: '0.0.0.0:65535' })).toEqual([]);
  });

  it('start-up names store.path and the file when the SQLite directory is missing, the path is a directory, or the file is not a database', () => {
    dir = tempDir();
    const missing = join(dir, 'no-such-dir', 'healer.db');
    let config = testConfig(dir, { store: { path: missing } });
    expect(configFileProblems(config)).toEqual([`store.path: the directory ${join(dir, 'no-such-dir')} of the SQLite file ${missing} does not exist; create it or point store.path elsewhere`]);
    let thrown: unknown;
    try {
      createHealer(config, { logger: pino({ level: 'silent' }), defaultMetrics: false, configFile: 'webhook.yml' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(`store.path: the directory ${join(dir, 'no-such-dir')} of the SQLite file ${missing} does not exist`);
    // A directory where the file should be.
    mkdirSync(join(dir, 'is-a-dir.db'));
    config = testConfig(dir, { store: { path: join(dir, 'is-a-dir.db') } });
    expect(configFileProblems(config)).toEqual([`store.path: ${join(dir, 'is-a-dir.db')} is a directory, not an SQLite file`]);
    // A file that is not a database: SQLite's own message, with the key and the file.
    writeFileSync(join(dir, 'garbage.db'), 'this is not an SQLite database, just text long enough to have a header'.repeat(20));
    expect(() => createHealer(testConfig(dir, { store: { path: join(dir, 'garbage.db') } }), { logger: pino({ level: 'silent' }), defaultMetrics: false }))
      .toThrow(`store.path: cannot open the SQLite database ${join(dir, 'garbage.db')}: file is not a database`);
    // In-memory and PostgreSQL stores have no file.
    expect(configFileProblems(testConfig(dir, { store: { path: ':memory:' } }))).toEqual([]);
    expect(configFileProblems(testConfig(dir, { store: { url: 'postgres://x@127.0.0.1:9/x' } }))).toEqual([]);
  });

  it('start-up names listen when the address cannot be bound', async () => {
    dir = tempDir();
    server = await startServer((_req, _b, res) => { res.end(); });
    const port = Number(new URL(server.url).port);
    const healer = createHealer(testConfig(dir, { listen: `127.0.0.1:${port}` }), { logger: pino({ level: 'silent' }), defaultMetrics: false });
    try {
      await expect(healer.listen()).rejects.toThrow(`listen: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
    } finally {
      await healer.close();
    }
  });
});
