// The exec actuator: argv only (never a shell), validated template values, timeout, output capture.
import { existsSync, mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execActuatorSchema, execCallSchema } from '../src/actuators/exec/config.js';
import { ExecActuator } from '../src/actuators/exec/exec-actuator.js';
import { templateVars } from '../src/policy/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'selfheal-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[], labels: Record<string, string>, opts: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const actuator = new ExecActuator(execActuatorSchema.parse({ type: 'exec', ...opts }));
  const vars = templateVars({ labels, annotations: {}, fingerprint: 'abc', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
  return actuator.execute({ action: 'restart', targetName: 'legacy', target: { actuator: 'x', actions: {} }, params: execCallSchema.parse({ argv, env }), vars, signal: new AbortController().signal });
}

describe('ExecActuator', () => {
  it('passes template values as single argv elements, with SELFHEAL_* environment variables', async () => {
    const script = join(dir, 'show.sh');
    writeFileSync(script, '#!/bin/sh\nprintf "%s|" "$@"; echo "$SELFHEAL_ACTION $SELFHEAL_LABEL_SERVICE $EXTRA"\n');
    chmodSync(script, 0o755);
    const result = await run([script, '--instance', '{{ labels.instance }}', '*'], { instance: 'host-1:9100', service: 'legacy' }, {}, { EXTRA: 'x-{{ labels.service }}' });
    expect(result).toMatchObject({ outcome: 'succeeded', detail: { exitCode: 0 } });
    // `*` reaches the program literally: no shell expanded it.
    expect(result.detail?.stdout).toBe('--instance|host-1:9100|*|restart legacy x-legacy\n');
  });

  it('refuses values outside the allowed pattern instead of running anything (no injection)', async () => {
    const marker = join(dir, 'pwned');
    const result = await run(['/bin/echo', '{{ labels.instance }}'], { instance: `x; touch ${marker}` });
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/does not match the allowed pattern/);
    const viaSubst = await run(['/bin/echo', '{{ labels.instance }}'], { instance: `$(touch ${marker})` });
    expect(viaSubst.outcome).toBe('failed');
    expect(existsSync(marker)).toBe(false);
  });

  it('reports the exit code and captures bounded output', async () => {
    const result = await run(['/bin/sh', '-c', 'echo out; echo err >&2; head -c 5000 /dev/zero | tr "\\0" a; exit 3'], {}, { maxOutputBytes: 100 });
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/exited 3/);
    expect(String(result.detail?.stdout)).toHaveLength(100);
    expect(result.detail?.stderr).toBe('err\n');
  });

  it('kills a program that overruns its timeout', async () => {
    const t0 = Date.now();
    const result = await run(['/bin/sleep', '10'], {}, { timeout: '200ms' });
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/timed out after 0.2s/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('reports a missing program', async () => {
    const result = await run([join(dir, 'does-not-exist')], {});
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/ENOENT/);
  });

  it('rejects a templated program or a shell string at config time', () => {
    expect(execCallSchema.safeParse({ argv: ['{{ labels.cmd }}'] }).success).toBe(false);
    expect(execCallSchema.safeParse({ argv: [] }).success).toBe(false);
  });
});
