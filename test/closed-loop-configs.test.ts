// The demo's configs against the real components: the shipped files and the runtime copies the demo, the
// closed-loop test and the benchmark generate are accepted by `selfheal check-config` (exporter and healing
// service schemas), and the policy's HTTP calls name the workload's admin API routes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN, CONFIG_DIR, exporterConfig, policyConfig } from '@selfheal/demo';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'selfheal-closed-loop-configs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function checkConfig(...files: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI_BIN, 'check-config', ...files], { timeout: 30_000 });
  return stdout;
}

describe('demo configs (real selfheal check-config)', () => {
  it('the shipped exporter and policy files are valid', async () => {
    const out = await checkConfig(join(CONFIG_DIR, 'exporter.yml'), join(CONFIG_DIR, 'policy.yml'));
    expect(out).toMatch(/exporter\.yml: OK \(anomaly exporter config\)/);
    expect(out).toMatch(/policy\.yml: OK \(healing service config\)/);
  });

  it('the runtime copies (free ports, test detector settings, short guardrails) are valid', async () => {
    const exporterFile = join(dir, 'exporter.yml');
    const policyFile = join(dir, 'policy.yml');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'secret');
    writeFileSync(exporterFile, exporterConfig({ prometheusUrl: 'http://127.0.0.1:19090', listen: '127.0.0.1:19188', stateDir: join(dir, 'state'), detector: { warmup: 90 } }));
    writeFileSync(
      policyFile,
      policyConfig({ workloadUrl: 'http://127.0.0.1:18081', prometheusUrl: 'http://127.0.0.1:19090', listen: '127.0.0.1:19189', tokenFile, storePath: join(dir, 'db'), guardrails: { cooldown: '10s' } }),
    );
    const out = await checkConfig(exporterFile, policyFile);
    expect(out.match(/: OK/g)).toHaveLength(2);
  });

  it('a broken runtime copy is rejected with the key named', async () => {
    const bad = join(dir, 'bad-policy.yml');
    const doc = parse(policyConfig({ workloadUrl: 'http://127.0.0.1:18081', prometheusUrl: 'http://127.0.0.1:19090', listen: '127.0.0.1:19189', tokenFile: '/x', storePath: '/y' })) as Record<string, unknown>;
    (doc.targets as Record<string, { actuator: string }>).checkout!.actuator = 'nope';
    writeFileSync(bad, JSON.stringify(doc));
    const error = await checkConfig(bad).then(
      () => undefined,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(error).toMatch(/targets\.checkout\.actuator/);
  });

  it('every policy action calls an admin API route of the workload', () => {
    const doc = parse(policyConfig({ workloadUrl: 'http://127.0.0.1:18081', prometheusUrl: 'http://p', listen: '127.0.0.1:1', tokenFile: '/x', storePath: '/y' })) as {
      targets: Record<string, { actions: Record<string, { url: string }> }>;
    };
    const routes: Record<string, RegExp> = {
      scale_up: /\/admin\/services\/\{\{ target \}\}\/scale$/,
      restart: /\/admin\/services\/\{\{ target \}\}\/restart$/,
      enable_cache: /\/admin\/services\/\{\{ target \}\}\/cache$/,
      open_circuit_breaker: /\/admin\/services\/\{\{ target \}\}\/circuit-breaker$/,
      quarantine: /\/admin\/services\/\{\{ target \}\}\/quarantine$/,
      rollback: /\/admin\/services\/\{\{ target \}\}\/rollback$/,
    };
    for (const target of Object.values(doc.targets)) {
      for (const [action, route] of Object.entries(routes)) expect(target.actions[action]?.url).toMatch(route);
    }
  });
});
