// `selfheal exporter` and `selfheal webhook` as processes with prometheus.auth.sigv4 and no AWS credentials anywhere
// (no AWS account here; the environment, shared files and instance metadata are all pointed at nothing): both stop
// at start-up with exit code 1 and a message naming the provider chain and what to set, and neither listens.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@selfheal/stack';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/selfheal.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'selfheal-cli-managed-prom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function noAwsEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', HOME: dir };
}

const PROM = 'url: https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd\n  auth: { sigv4: { region: us-east-1 } }';

describe('a missing AWS credential is named at start-up (no AWS account here)', () => {
  it('selfheal exporter exits 1 with the message', () => {
    const file = join(dir, 'exporter.yml');
    writeFileSync(file, `prometheus:\n  ${PROM}\nlisten: 127.0.0.1:0\nlogLevel: silent\ngroups:\n  - name: services\n    groupBy: [service]\n    features:\n      cpu: sum by (service) (up)\n`);
    const run = spawnSync(process.execPath, [BIN, 'exporter', '--config', file], { encoding: 'utf8', timeout: 30_000, env: noAwsEnv() });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^selfheal exporter: prometheus\.auth\.sigv4: no AWS credentials: the AWS default provider chain found nothing .*AWS_ACCESS_KEY_ID.*AWS_WEB_IDENTITY_TOKEN_FILE.*eks\.amazonaws\.com\/role-arn/ms);
  });

  it('selfheal webhook exits 1 with the message', async () => {
    const file = join(dir, 'policy.yml');
    writeFileSync(file, `listen: 127.0.0.1:${await freePort()}\nauth: none\nstore: { path: ${join(dir, 'webhook.db')} }\nprometheus:\n  ${PROM}\n`);
    const run = spawnSync(process.execPath, [BIN, 'webhook', '--config', file], { encoding: 'utf8', timeout: 30_000, env: noAwsEnv() });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/selfheal webhook: prometheus\.auth\.sigv4: no AWS credentials: the AWS default provider chain found nothing .*AWS_PROFILE/s);
  });
});
