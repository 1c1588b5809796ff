// What the efficacy ledger knew, in the backtest's report: read from the config's SQLite store, opened read-only (a
// running service owns it); a store that is absent, PostgreSQL, or older than the ledger is said, not an error.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toReceived } from '@selfheal/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/audit/sqlite-store.js';
import { parseConfig } from '../src/config/load.js';
import { ledgerOf } from '../src/ledger/ledger.js';
import type { BacktestReport } from '../src/replay/backtest.js';
import { formatBacktest } from '../src/replay/format-backtest.js';
import { readLedger } from '../src/replay/ledger-view.js';

const dir = mkdtempSync(join(tmpdir(), 'selfheal-replay-ledger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const NOW = 1_800_000_000;
const EFFICACY = { window: 86400, minAttempts: 3, demoteBelow: 0.5 };

const config = (store: unknown) => parseConfig({
  auth: 'none', store, efficacy: EFFICACY,
  actuators: { cluster: { type: 'kubernetes', kubeconfig: '/nonexistent' } },
  targets: { checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' } } },
  rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['scale_up'] }],
});

/** A store as the service leaves it: three scale-ups on checkout, one healed, two failed, and the demotion that followed. */
async function serviceStore(path: string): Promise<void> {
  const store = new SqliteStore({ path, now: () => NOW });
  try {
    for (const [i, status] of (['succeeded', 'failed', 'failed'] as const).entries()) {
      const alert = toReceived({ status: 'firing', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu_usage' }, annotations: {}, startsAt: new Date((NOW - 3600 * (i + 1)) * 1000).toISOString() });
      const [outcome] = (await store.ingest([[alert]]))[0] ?? [];
      if (outcome?.kind !== 'new') throw new Error('not ingested');
      const t = NOW - 3600 * (i + 1) + 60;
      await store.recordStep({
        action: { incident_id: outcome.incidentId, service: 'checkout', action: 'scale_up', target: 'checkout', rule: 'checkout', step: 0, status, reason: status, started_at: t, finished_at: t + 120 },
        event: { event: status, incidentId: outcome.incidentId, service: 'checkout', action: 'scale_up', target: 'checkout', reason: status },
        update: { phase: 'done', result: status === 'succeeded' ? 'healed' : 'escalated' },
      });
    }
    expect(await ledgerOf(store).evaluate(EFFICACY, 'checkout', 'scale_up', NOW)).toMatchObject({ status: 'active' });
  } finally {
    await store.close();
  }
}

const report = (ledger: BacktestReport['ledger']): BacktestReport => ({
  prometheus: 'http://prometheus:9090', since: new Date((NOW - 86400) * 1000).toISOString(), until: new Date(NOW * 1000).toISOString(), evaluationIntervalSeconds: 15,
  route: { groupWait: 0, groupInterval: 30, repeatInterval: 14400 },
  alerts: { series: 1, occurrences: 1, replayed: 1, firingBeforeWindow: 0, firingAtEnd: 0, notifications: 2 },
  rules: [{ rule: 'checkout', alerts: 1, wouldRun: 1, byAction: { scale_up: 1 }, shadow: 0, deferred: {}, deferredThenRan: 0, deferredDropped: 0, deferredGivenUp: 0, skipped: {}, reasons: [] }],
  occurrences: [{ labels: { service: 'checkout' }, startsAt: '', firedAt: '', endsAt: null, score: 1.5, peakScore: 1.5, featureScore: 1.2, rule: 'checkout', result: 'healed', notifications: 2,
    actions: [{ time: '', action: 'scale_up', target: 'checkout', status: 'succeeded', reason: 'replay: would scale' }] }],
  ledger,
});

describe('the backtest reads the efficacy ledger of the configured store', () => {
  it('an SQLite store: its figures and demotions up to the end of the window, read-only (the file is not changed)', async () => {
    const path = join(dir, 'webhook.db');
    await serviceStore(path);
    const before = readFileSync(path);
    const view = await readLedger(config({ path }), NOW);
    expect(readFileSync(path).equals(before)).toBe(true);
    if (!view.read) throw new Error(view.why);
    expect(view.efficacy.byTarget).toEqual([expect.objectContaining({ target: 'checkout', action: 'scale_up', attempts: 3, successes: 1, demoted: true })]);
    const text = formatBacktest(report(view));
    expect(text).toContain(`Efficacy ledger of ${path} over 24.0h up to`);
    expect(text).toContain('scale_up on checkout: 1 of 3 attempts healed (33%), median recovery 3m; DEMOTED to approve mode: the service would ask a person first');
  });

  it('no store file, a PostgreSQL store, a store older than the ledger: said why, nothing created', async () => {
    const missing = join(dir, 'absent.db');
    expect(await readLedger(config({ path: missing }), NOW)).toEqual({ read: false, store: missing, why: `no store at ${missing} (store.path): the service has not run here, so there is no ledger to read` });
    expect(() => readFileSync(missing)).toThrow();
    expect(await readLedger(config('postgres://selfheal@db.example:5432/selfheal'), NOW)).toMatchObject({ read: false, store: 'postgres', why: expect.stringContaining('GET /api/v1/efficacy') });
    const old = join(dir, 'old.db');
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(old);
    db.pragma('user_version = 6');
    db.close();
    expect(await readLedger(config({ path: old }), NOW)).toMatchObject({ read: false, why: `the store ${old} predates the efficacy ledger (schema 6 < 7)` });
    expect(formatBacktest(report({ read: false, store: old, why: 'x' }))).toContain('Efficacy ledger: not read (x).');
  });
});
