// An existing SQLite database of an older schema upgrades in place at start-up (migrations.ts): its rows stay
// readable, the new columns start empty, and the new rules hold (an `unknown` action counts as executed).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/audit/migrations.js';
import { HealingStore } from '../src/audit/sqlite-db.js';
import { tempDir } from './support/harness.js';

/** A database exactly as a selfheal of schema `version` left it, with one finished incident and its action. */
function oldDatabase(path: string, version: number): void {
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) db.exec(m.sqlite);
  db.pragma(`user_version = ${version}`);
  db.prepare(`INSERT INTO incidents (id, key, fingerprint, starts_at, service, alertname, labels, annotations, phase, result, step, received_at, updated_at)
    VALUES (1, 'f1@2026-11-01T00:00:00Z', 'f1', '2026-11-01T00:00:00Z', 'checkout', 'SelfhealAnomaly', '{"service":"checkout"}', '{}', 'done', 'healed', 0, 1761955200, 1761955210)`).run();
  db.prepare(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, reason, started_at, finished_at, cooldown_until)
    VALUES (1, 'checkout', 'restart', 'checkout', 'r', 0, 'succeeded', 'ok', 1761955201, 1761955205, 1761955801)`).run();
  db.prepare(`INSERT INTO audit (ts, event, incident_id, service) VALUES (1761955200, 'received', 1, 'checkout')`).run();
  db.close();
}

describe('SQLite schema migrations', () => {
  it('upgrades a schema-3 database (before deferrals and the unknown outcome) in place, keeping its rows', () => {
    const dir = tempDir();
    const path = join(dir, 'old.db');
    try {
      oldDatabase(path, 3);
      const store = new HealingStore({ path });
      try {
        expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        const columns = (store.db.prepare(`SELECT name FROM pragma_table_info('incidents')`).all() as { name: string }[]).map((c) => c.name);
        expect(columns).toEqual(expect.arrayContaining(['owner', 'deferred_until', 'defer_deadline']));
        expect(store.incident(1)).toMatchObject({ result: 'healed', deferred_until: null, defer_deadline: null });
        expect(store.listActions({})).toMatchObject([{ status: 'succeeded', reason: 'ok' }]);
        expect(store.listAudit({})).toHaveLength(1);
        // The old action still sets its target's cooldown (it is executed), and `unknown` now counts as executed too:
        // a second executed row for the same step is refused by the (rebuilt) unique index.
        expect(store.cooldownUntil('checkout', 2, 1761955300)).toBe(1761955801);
        store.db.prepare(`UPDATE actions SET status = 'unknown'`).run();
        expect(() => store.db.prepare(`INSERT INTO actions (incident_id, service, action, target, rule, step, status, started_at) VALUES (1, 'checkout', 'restart', 'checkout', 'r', 0, 'started', 1761955300)`).run())
          .toThrow(/UNIQUE constraint failed/);
        // Migration 5: approvals, one per incident step.
        const approval = `INSERT INTO approvals (incident_id, step, service, action, target, rule, status, requested_at, expires_at, evidence) VALUES (1, 0, 'checkout', 'restart', 'checkout', 'r', 'pending', 1, 2, '{}')`;
        store.db.prepare(approval).run();
        expect(() => store.db.prepare(approval).run()).toThrow(/UNIQUE constraint failed: approvals.incident_id, approvals.step/);
        expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        store.close();
      }
      // Opened again: nothing left to migrate.
      const again = new HealingStore({ path });
      expect(again.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('upgrades a database from before reverts in place: the reverts table, empty, and its rows kept', () => {
    const reverts = MIGRATIONS.find((m) => m.what.startsWith('reverts'));
    expect(reverts).toBeDefined();
    const dir = tempDir();
    const path = join(dir, 'before-reverts.db');
    try {
      oldDatabase(path, (reverts?.version ?? 0) - 1);
      const store = new HealingStore({ path });
      try {
        expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        expect(store.openReverts()).toEqual([]);
        expect(store.unrevertedFixes()).toEqual([]);
        expect(store.listActions({})).toMatchObject([{ status: 'succeeded', reason: 'ok' }]);
        // One revert per fix: a second row for the same action is refused.
        const insert = () => store.db.prepare(`INSERT INTO reverts (action_id, incident_id, service, action, target, rule, status, after_seconds, due_at, plan, created_at)
          VALUES (1, 1, 'checkout', 'scale_up', 'checkout', 'r', 'waiting', 60, 1761955300, '{}', 1761955240)`).run();
        insert();
        expect(insert).toThrow(/UNIQUE constraint failed: reverts.action_id/);
        expect(store.unrevertedFixes()).toEqual([{ action: 'scale_up', n: 1 }]);
        // Arming the same fix's revert again (two replicas finishing one action) adds nothing and fails nothing.
        const arm = { row: { action_id: 1, incident_id: 1, service: 'checkout', action: 'scale_up' as const, target: 'checkout', rule: 'r', after_seconds: 60, due_at: 1761955400, plan: {}, created_at: 1761955340 }, event: { event: 'revert_scheduled', incidentId: 1 } };
        store.finishAction(1, 'succeeded', 'ok', undefined, { event: 'succeeded', incidentId: 1 }, undefined, arm);
        expect(store.listReverts({})).toHaveLength(1);
        expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database written by a newer selfheal', () => {
    const dir = tempDir();
    const path = join(dir, 'new.db');
    try {
      oldDatabase(path, SCHEMA_VERSION);
      const db = new Database(path);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => new HealingStore({ path })).toThrow(`written by a newer selfheal (schema ${SCHEMA_VERSION + 1} > ${SCHEMA_VERSION})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
