// `selfheal exporter` as a process: bad config, start against a real Prometheus, SIGHUP reloads (a broken
// file is rejected and the running config kept), SIGTERM saves the models and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleValue, scrapeMetrics } from '@selfheal/contracts';
import { freePort, startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/selfheal.js', import.meta.url));

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function metric(url: string, name: string): Promise<number | undefined> {
  return sampleValue(await scrapeMetrics(`${url}/metrics`), name);
}

describe('selfheal exporter (process)', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'selfheal-exporter-cli-'));

  beforeAll(async () => {
    stack = await startStack({ withAlertmanager: false, includeShippedRules: false });
    // A few scrapes of self-scraped history for the first (range) read.
    await waitFor(
      async () => ((await stack.prometheusClient.query('count_over_time(up{job="prometheus"}[1m])'))[0]?.value ?? 0) >= 3,
      { what: 'three self-scrapes of Prometheus', timeoutMs: 30_000, intervalMs: 200 },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses a bad config with every problem and exit code 2', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'prometheus:\n  url: http://127.0.0.1:9090\ngroups:\n  - name: a\n    groupBy: [job]\n    features: {}\n    schedule: {interval: 1x}\n');
    const { output, exited } = run(['exporter', '--config', file]);
    expect(await exited).toBe(2);
    expect(output()).toMatch(/invalid config .*bad\.yml/);
    expect(output()).toMatch(/groups\[0\]\.features: define at least one feature/);
    expect(output()).toMatch(/groups\[0\]\.schedule\.interval: "1x" is not a duration/);
  }, 30_000);

  it('runs, reloads on SIGHUP (keeping the old config when the new one is broken), saves on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const file = join(dir, 'exporter.yml');
    // Prometheus scrapes itself: one entity per HTTP handler of its API.
    const group = (name: string) =>
      `  - name: ${name}\n    groupBy: [handler]\n    features:\n      requests: sum by (handler) (prometheus_http_requests_total)\n      responses: sum by (handler) (prometheus_http_response_size_bytes_count)\n    schedule: {interval: 1s, trainWindow: 1m}\n`;
    const config = (groups: string) => `prometheus:\n  url: ${stack.prometheusUrl}\nlisten: 127.0.0.1:${port}\nstateDir: ${join(dir, 'state')}\nlogLevel: warn\ngroups:\n${groups}`;
    writeFileSync(file, config(group('first')));
    const { child, output, exited } = run(['exporter', '--config', file]);
    try {
      await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { what: 'the exporter to be ready', timeoutMs: 20_000 }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${output()}`);
      });
      expect(await metric(url, 'selfheal_exporter_config_last_reload_successful')).toBe(1);

      writeFileSync(file, config(group('first').replace('groupBy: [handler]', 'groupBy: handler')));
      child.kill('SIGHUP');
      await waitFor(async () => (await metric(url, 'selfheal_exporter_config_last_reload_successful')) === 0, { what: 'the reload to be rejected', timeoutMs: 10_000 });
      // The log line and the metric travel by different pipes: wait for the line rather than expect it at once.
      await waitFor(() => /configuration reload rejected; keeping the running configuration/.test(output()), { what: 'the rejected reload to be logged', timeoutMs: 5_000 });
      expect(output()).toMatch(/groups\[0\]\.groupBy: expected a list of label names/);
      expect((await fetch(`${url}/-/healthy`)).ok).toBe(true);

      writeFileSync(file, config(group('first') + group('second')));
      child.kill('SIGHUP');
      await waitFor(async () => (await metric(url, 'selfheal_exporter_config_last_reload_successful')) === 1, { what: 'the reload to succeed', timeoutMs: 10_000 });
      await waitFor(
        async () => {
          const body = (await (await fetch(`${url}/api/v1/entities`)).json()) as { data: { group: string }[] };
          return new Set(body.data.map((e) => e.group)).size === 2;
        },
        { what: 'both groups to have entities', timeoutMs: 10_000 },
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const stateDir = join(dir, 'state');
    expect(existsSync(stateDir) && readdirSync(stateDir).filter((f) => f.endsWith('.state')).length).toBe(2);
  }, 60_000);
});
