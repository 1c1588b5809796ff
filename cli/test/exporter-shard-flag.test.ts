// `selfheal exporter --shard I/N` as a process: a bad value is refused with a message naming it; a good one
// overrides the config's `shard:` (seen in selfheal_exporter_shard_info on /metrics). A bad --listen is refused the same way.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@selfheal/stack';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/selfheal.js', import.meta.url));

describe('selfheal exporter --shard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfheal-exporter-shard-'));
  const file = join(dir, 'exporter.yml');

  async function writeConfig(): Promise<number> {
    const port = await freePort();
    // Nothing listens on the Prometheus port: cycles fail (reported), /metrics still answers.
    const prometheusPort = await freePort();
    writeFileSync(
      file,
      `prometheus: { url: "http://127.0.0.1:${prometheusPort}", retries: 0 }\nlisten: 127.0.0.1:${port}\nlogLevel: silent\nshard: { index: 0, count: 3 }\n` +
        'groups:\n  - name: services\n    groupBy: [service]\n    features:\n      cpu: sum by (service) (up)\n',
    );
    return port;
  }

  it('refuses an index outside 0..N-1 and a malformed value, naming the value', async () => {
    await writeConfig();
    for (const [value, message] of [
      ['3/3', /--shard <index\/count>' argument '3\/3' is invalid\. shard index 3 must be a whole number with 0 <= index < count \(3\), i\.e\. 0\.\.2/],
      ['one/3', /argument 'one\/3' is invalid\. expected INDEX\/COUNT/],
    ] as const) {
      const result = spawnSync(process.execPath, [BIN, 'exporter', '--config', file, '--shard', value], { encoding: 'utf8', timeout: 20_000 });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
  }, 40_000);

  it('refuses a --listen that is not HOST:PORT or whose port is out of range, before starting', async () => {
    await writeConfig();
    for (const [value, message] of [
      ['localhost', /--listen <host:port>' argument 'localhost' is invalid\. must be HOST:PORT, e\.g\. 127\.0\.0\.1:9188/],
      ['127.0.0.1:99999', /argument '127\.0\.0\.1:99999' is invalid\. port 99999 is out of range; use 0-65535/],
    ] as const) {
      const result = spawnSync(process.execPath, [BIN, 'exporter', '--config', file, '--listen', value], { encoding: 'utf8', timeout: 20_000 });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
  }, 40_000);

  it('overrides the config\'s shard', async () => {
    const port = await writeConfig();
    const child = spawn(process.execPath, [BIN, 'exporter', '--config', file, '--shard', '2/4'], { stdio: 'ignore' });
    try {
      const text = await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
          return response?.ok ? response.text() : undefined;
        },
        { what: 'the exporter to serve /metrics', timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(text).toMatch(/^selfheal_exporter_shard_info\{index="2",count="4"\} 1$/m);
      expect(text).not.toMatch(/count="3"/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }, 40_000);
});
