// Under `npm test` a missing PostgreSQL fails the PostgreSQL tests instead of skipping them: a green run must
// have exercised the PostgreSQL store. Runs the real test file in a child vitest with PostgreSQL made absent
// (SELFHEAL_PG_BIN naming an empty directory), with and without SELFHEAL_REQUIRE_POSTGRES=1.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/harness.js';

const webhookDir = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function runPostgresTests(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const empty = tempDir('selfheal-no-pg-');
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [vitest, 'run', 'test/postgres-store.test.ts', '--reporter=verbose'], {
      cwd: webhookDir, env: { ...process.env, ...env, SELFHEAL_PG_BIN: empty }, timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }));
  }).finally(() => rmSync(empty, { recursive: true, force: true }));
}

describe('PostgreSQL tests when PostgreSQL is absent', () => {
  it('fail with SELFHEAL_REQUIRE_POSTGRES=1 (npm test sets it), and are skipped, saying so, without it', async () => {
    const [required, optional] = await Promise.all([runPostgresTests({ SELFHEAL_REQUIRE_POSTGRES: '1' }), runPostgresTests({ SELFHEAL_REQUIRE_POSTGRES: '' })]);
    expect(required.code, required.output).not.toBe(0);
    expect(required.output).toMatch(/SELFHEAL_REQUIRE_POSTGRES=1 but the PostgreSQL store tests cannot run: PostgreSQL server binaries not found/);
    expect(required.output).toMatch(/1 failed/);
    expect(optional.code, optional.output).toBe(0);
    expect(optional.output).toMatch(/SKIPPING the PostgreSQL store tests: PostgreSQL server binaries not found/);
    expect(optional.output).toMatch(/skipped/);
  }, 150_000);

  it('npm test (scripts/test.sh) requires them', () => {
    const script = readFileSync(fileURLToPath(new URL('../../scripts/test.sh', import.meta.url)), 'utf8');
    expect(script).toMatch(/^export SELFHEAL_REQUIRE_POSTGRES=1$/m);
    expect(script.indexOf('export SELFHEAL_REQUIRE_POSTGRES=1')).toBeLessThan(script.indexOf('npx vitest run'));
  });
});
