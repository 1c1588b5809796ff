// `replay`: recorded Alertmanager payloads (the captured fixtures) through the policy, nothing executed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { formatReplay, replay } from '../src/replay/files.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('replay', () => {
  it('prints what would have happened, with guardrails on the alerts\' own clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-replay-'));
    try {
      const firing = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(fixture('alertmanager-firing.json'), 'utf8'))) as { alerts: { startsAt: string; fingerprint: string }[] };
      // The same service fires again 10 minutes later (a new occurrence) and once more after 2 hours.
      const later = (minutes: number, fp: string) => ({ ...firing, alerts: firing.alerts.map((a) => ({ ...a, fingerprint: fp, startsAt: new Date(Date.parse(a.startsAt) + minutes * 60_000).toISOString() })) });
      writeFileSync(join(dir, 'more.json'), JSON.stringify([later(10, 'aaaa'), later(120, 'bbbb'), { version: '3' }]));
      const config = parseConfig({
        auth: 'none',
        actuators: { cluster: { type: 'kubernetes', kubeconfig: '/nonexistent' } },
        targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' } } },
        rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout' }],
        guardrails: { cooldown: '30m' },
      });
      const lines = await replay(config, [fixture('alertmanager-firing.json'), fixture('alertmanager-resolved.json'), join(dir, 'more.json')]);
      const text = formatReplay(lines);
      expect(lines.map((l) => l.kind)).toEqual(['invalid', 'new', 'resolved', 'new', 'new']);
      expect(lines[1]?.decisions).toEqual([{ time: '2026-11-23T23:15:10.860Z', action: 'scale_up', target: 'checkout', outcome: 'succeeded', reason: 'replay: would scale deployment/checkout -n shop by +1 replicas (max 10; owning HPA: raise-min)' }]);
      // 10 minutes later: inside the 30 minute cooldown, which lifts within maxDefer (30m): deferred, not skipped;
      // decided again on the alerts' clock when the cooldown ends (the alert 'aaaa' is never resolved): it runs then.
      expect(lines[3]?.decisions[0]).toMatchObject({ outcome: 'deferred', reason: expect.stringMatching(/^cooldown: target "checkout" acted on recently; 20m left/) });
      expect(lines[3]?.decisions[1]).toMatchObject({ time: '2026-11-23T23:45:10.860Z', outcome: 'succeeded' });
      expect(text).toMatch(/would run \(at 2026-11-23T23:45:10.860Z\): scale_up on checkout/);
      expect(text).toMatch(/deferred: scale_up on checkout — cooldown: target "checkout" acted on recently; 20m left/);
      expect(lines[2]?.note).toBe('closes the incident; never starts an action');
      expect(lines[4]?.decisions[0]?.outcome).toBe('succeeded');
      expect(text).toMatch(/would run: scale_up on checkout — scale deployment\/checkout/);
      expect(lines[0]?.note).toMatch(/version/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows an action in approve mode as it would run once approved; the top-level shadow mode is lifted as dryRun was', async () => {
    for (const raw of [{ rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', mode: 'approve' }] }, { mode: 'shadow', rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout' }] }]) {
      const config = parseConfig({
        auth: 'none',
        actuators: { cluster: { type: 'kubernetes', kubeconfig: '/nonexistent' } },
        targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' } } },
        ...raw,
      });
      const lines = await replay(config, [fixture('alertmanager-firing.json')]);
      expect(lines[0]?.decisions).toEqual([{ time: '2026-11-23T23:15:10.860Z', action: 'scale_up', target: 'checkout', outcome: 'succeeded', reason: 'replay: would scale deployment/checkout -n shop by +1 replicas (max 10; owning HPA: raise-min)' }]);
    }
  });
});
