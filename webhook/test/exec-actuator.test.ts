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

  it('by default refuses values that start with - (options) or hold a .. segment (traversal), running nothing', async () => {
    const marker = join(dir, 'ran');
    const script = join(dir, 'mark.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\nprintf "%s|" "$@"\n`);
    chmodSync(script, 0o755);
    // Each of these matches the default allowedValue pattern, [A-Za-z0-9._:/@=+-]{0,253}.
    for (const instance of ['-rf', '--output=/x', '-', '../../etc/passwd', '..', 'a/../b', 'logs/..', '/var/log/../../etc/shadow']) {
      const result = await run([script, '{{ labels.instance }}'], { instance });
      expect(result.outcome, instance).toBe('failed');
      expect(result.reason, instance).toMatch(instance.startsWith('-') ? /refused: the value of labels\.instance \(".*"\) starts with "-"/ : /refused: the value of labels\.instance \(".*"\) holds a "\.\." path segment/);
      // The same through the environment.
      expect((await run([script], { instance }, {}, { TARGET: '{{ labels.instance }}' })).outcome, instance).toBe('failed');
    }
    expect(existsSync(marker)).toBe(false);
    // Dashes and dots inside a value are fine.
    const ok = await run([script, '--instance', '{{ labels.instance }}', '{{ labels.path }}'], { instance: 'host-1..a:9100', path: 'var/log/app.log' });
    expect(ok).toMatchObject({ outcome: 'succeeded' });
    expect(ok.detail?.stdout).toBe('--instance|host-1..a:9100|var/log/app.log|');
  });

  it('allowLeadingDash and allowDotDot turn those refusals off, one by one; SELFHEAL_LABEL_* follows the same rule', async () => {
    const script = join(dir, 'env.sh');
    writeFileSync(script, '#!/bin/sh\nprintf "%s|" "$@"; echo "[$SELFHEAL_LABEL_INSTANCE]"\n');
    chmodSync(script, 0o755);
    expect((await run([script, '{{ labels.instance }}'], { instance: '-rf' }, { allowLeadingDash: true })).detail?.stdout).toBe('-rf|[-rf]\n');
    expect((await run([script, '{{ labels.instance }}'], { instance: '../x' }, { allowLeadingDash: true })).outcome).toBe('failed');
    expect((await run([script, '{{ labels.instance }}'], { instance: '../x' }, { allowDotDot: true })).detail?.stdout).toBe('../x|[../x]\n');
    // A label value the rules refuse is not exported (a program could pass it on).
    expect((await run([script], { instance: '--x' })).detail?.stdout).toBe('|[]\n');
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
