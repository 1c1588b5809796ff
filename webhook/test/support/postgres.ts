// A real PostgreSQL server for tests and benchmarks: Debian's postgresql binaries (initdb, pg_ctl), a
// temporary data directory, a free port on 127.0.0.1 and the unix socket in the same directory, fsync on
// (durability is what is being tested). PostgreSQL refuses to run as root: when this process is root, the
// server runs as the unprivileged `nobody` user (setpriv), and the data directory is owned by it.
import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const execFile = promisify(execFileCb);

export interface PostgresServer {
  /** postgres://selfheal@127.0.0.1:PORT/selfheal (trust authentication on loopback; no password). */
  url: string;
  port: number;
  dir: string;
  /** Stops the server (fast shutdown) and removes the directory. */
  stop(): Promise<void>;
}

/** Where Debian puts the server binaries; SELFHEAL_PG_BIN, when set, is the only place looked at. */
export function postgresBinDir(): string | undefined {
  const candidates = process.env.SELFHEAL_PG_BIN
    ? [process.env.SELFHEAL_PG_BIN]
    : ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/14/bin'];
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')) && existsSync(join(d, 'postgres')));
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBinDir()) return 'PostgreSQL server binaries not found (Debian package postgresql: initdb, pg_ctl, postgres under /usr/lib/postgresql/<version>/bin); run scripts/setup.sh test';
  if (process.getuid?.() === 0 && !unprivilegedUser()) return 'running as root and no unprivileged user (nobody) to run PostgreSQL as (it refuses to run as root)';
  return undefined;
}

/**
 * Whether the PostgreSQL tests must run: `npm test` (scripts/test.sh, whose setup installs PostgreSQL) sets
 * SELFHEAL_REQUIRE_POSTGRES=1, so a missing PostgreSQL fails the run instead of leaving it green and untested.
 */
export function postgresRequired(): boolean {
  return process.env.SELFHEAL_REQUIRE_POSTGRES === '1';
}

/**
 * For a PostgreSQL test file: the reason to skip it (undefined: run it). When PostgreSQL is missing and required,
 * it is not skipped: `failure` is the message its one test fails with. When it is missing and not required, the
 * skip is announced on stderr.
 */
export function postgresGate(what: string): { skip: string | undefined; failure: string | undefined } {
  const unavailable = postgresUnavailable();
  if (!unavailable) return { skip: undefined, failure: undefined };
  if (postgresRequired()) return { skip: unavailable, failure: `SELFHEAL_REQUIRE_POSTGRES=1 but ${what} cannot run: ${unavailable}` };
  console.warn(`SKIPPING ${what}: ${unavailable} (SELFHEAL_REQUIRE_POSTGRES=1 makes this a failure; npm test sets it)`);
  return { skip: unavailable, failure: undefined };
}

/** uid/gid of `nobody` when we are root (postgres will not run as root). */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

async function run(bin: string, args: string[], asUser: { uid: number; gid: number } | undefined, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const [file, argv] = asUser ? ['setpriv', [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--', bin, ...args]] : [bin, args];
  try {
    await execFile(file, argv, { env: { ...process.env, LC_ALL: 'C', ...env }, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Starts a fresh server; resolves once it accepts connections, with database and role `selfheal`. */
export async function startPostgres(opts: { fsync?: boolean; maxConnections?: number } = {}): Promise<PostgresServer> {
  const reason = postgresUnavailable();
  if (reason) throw new Error(reason);
  const bin = postgresBinDir() ?? '';
  const asUser = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'selfheal-pg-'));
  const data = join(dir, 'data');
  if (asUser) {
    // mkdtemp makes it 0700 root: hand it to the server's user.
    chownSync(dir, asUser.uid, asUser.gid);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  let started = false;
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'selfheal', '--auth=trust', '-E', 'UTF8', '--no-instructions'], asUser);
    writeFileSync(join(data, 'postgresql.auto.conf'), [
      `listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${dir}'`,
      `fsync = ${opts.fsync === false ? 'off' : 'on'}`, `synchronous_commit = on`, `max_connections = ${opts.maxConnections ?? 100}`,
      `shared_buffers = 32MB`, `logging_collector = off`, `log_min_messages = warning`,
    ].join('\n') + '\n');
    if (asUser) chownSync(join(data, 'postgresql.auto.conf'), asUser.uid, asUser.gid);
    await run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', `-k ${dir}`, 'start'], asUser);
    started = true;
    await run(join(bin, 'createdb'), ['-h', dir, '-p', String(port), '-U', 'selfheal', 'selfheal'], asUser);
  } catch (err) {
    if (started) spawnSync(asUser ? 'setpriv' : join(bin, 'pg_ctl'), asUser ? [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    url: `postgres://selfheal@127.0.0.1:${port}/selfheal`,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], asUser).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One query on its own connection (tests and benchmarks that inspect the database). */
export async function queryPostgres<T extends Record<string, unknown>>(url: string, text: string, args: unknown[] = []): Promise<T[]> {
  const { default: pg } = await import('pg');
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query<T>(text, args)).rows;
  } finally {
    await c.end();
  }
}
