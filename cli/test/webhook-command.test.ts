// `selfheal webhook` as a process: config values that used to pass --check-config and then fail at start
// with a bare system error now fail the check (or the start) naming the key.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/selfheal.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'selfheal-webhook-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command to its end (bounded: every case here exits at once; 20 s at most). */
function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

function config(name: string, extra: string): string {
  writeFileSync(join(dir, 'token'), 'cli-test-token-0123456789\n');
  const path = join(dir, name);
  writeFileSync(path, `auth: { type: bearer, tokenFile: ${join(dir, 'token')} }\nstore: { path: ${join(dir, `${name}.db`)} }\n${extra}`);
  return path;
}

describe('selfheal webhook: config problems name the key', () => {
  it('--check-config refuses bodyLimit: lots and a port out of range', async () => {
    const body = await run(['webhook', '--config', config('body.yml', 'bodyLimit: lots\n'), '--check-config']);
    expect(body.code).toBe(1);
    expect(body.output).toMatch(/invalid\n {2}- bodyLimit: "lots" is not a size/);
    const port = await run(['webhook', '--config', config('port.yml', 'listen: 127.0.0.1:99999\n'), '--check-config']);
    expect(port.code).toBe(1);
    expect(port.output).toMatch(/invalid\n {2}- listen: port 99999 is out of range; use 1-65535/);
  }, 30_000);

  it('refuses --listen out of range, and a SQLite store whose directory is missing, before starting', async () => {
    const listen = await run(['webhook', '--config', config('ok.yml', ''), '--listen', '127.0.0.1:99999']);
    expect(listen.code).toBe(1);
    expect(listen.output).toMatch(/--listen "127\.0\.0\.1:99999": port 99999 is out of range/);
    const missing = join(dir, 'missing', 'healer.db');
    const path = join(dir, 'store.yml');
    writeFileSync(path, `auth: { type: bearer, tokenFile: ${join(dir, 'token')} }\nstore: { path: ${missing} }\nlisten: 127.0.0.1:1\n`);
    const store = await run(['webhook', '--config', path]);
    expect(store.code).toBe(1);
    expect(store.output).toContain(`store.path: the directory ${join(dir, 'missing')} of the SQLite file ${missing} does not exist`);
  }, 30_000);
});
