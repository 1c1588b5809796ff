// The release bookkeeping of one service (revisions.ts): rollouts add revisions, a rollback returns to the newest
// earlier one not itself rolled back, and a rollback with nowhere to go changes nothing and says why.
import { describe, expect, it } from 'vitest';
import { ActionError } from '../src/index.js';
import { RevisionHistory } from '../src/workload/revisions.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');

function refusal(f: () => unknown): ActionError {
  try {
    f();
  } catch (err) {
    if (err instanceof ActionError) return err;
    throw err;
  }
  throw new Error('expected an ActionError');
}

describe('revision history', () => {
  it('starts at revision 1 (1.0.0) with a ReplicaSet named by the version', () => {
    const h = new RevisionHistory('checkout', T0);
    expect(h.current).toMatchObject({ revision: 1, version: '1.0.0', status: 'current', createdAt: T0, defect: { errorRatio: 0, latencyMs: 0 } });
    expect(h.current.replicaset).toMatch(/^checkout-[0-9a-f]{10}$/);
    expect(h.previous()).toBeUndefined();
    expect(h.nextVersion()).toBe('1.1.0');
  });

  it('a rollout makes a new current revision; a rollback returns to the one before and marks the bad one', () => {
    const h = new RevisionHistory('checkout', T0);
    const bad = h.rollout(h.nextVersion(), { errorRatio: 0.5, latencyMs: 0 }, T0 + 60_000);
    expect(bad).toMatchObject({ revision: 2, version: '1.1.0', status: 'current', createdAt: T0 + 60_000 });
    expect(bad.replicaset).not.toBe(h.get(1)?.replicaset);
    expect(h.get(1)?.status).toBe('superseded');
    const plan = h.planRollback();
    expect([plan.from.revision, plan.to.revision]).toEqual([2, 1]);
    h.commitRollback(plan, T0 + 90_000);
    expect(h.current.revision).toBe(1);
    expect(h.get(2)).toMatchObject({ status: 'rolled_back', rolledBackAt: T0 + 90_000 });
    // Kept in the history (as a Deployment keeps old ReplicaSets); the next version is past it.
    expect(h.list().map((r) => r.revision)).toEqual([1, 2]);
    expect(h.nextVersion()).toBe('1.2.0');
  });

  it('a rollback skips revisions that were rolled back', () => {
    const h = new RevisionHistory('search', T0);
    h.rollout('1.1.0', { errorRatio: 0, latencyMs: 0 }, T0 + 1000);
    h.rollout('1.2.0', { errorRatio: 1, latencyMs: 0 }, T0 + 2000);
    h.commitRollback(h.planRollback());
    expect(h.current.version).toBe('1.1.0');
    h.rollout('1.3.0', { errorRatio: 0, latencyMs: 300 }, T0 + 3000);
    expect(h.previous()?.version).toBe('1.1.0');
  });

  it('no previous revision: a 409 naming the service and why, and nothing changed', () => {
    const h = new RevisionHistory('catalog', T0);
    const only = refusal(() => h.planRollback());
    expect(only.status).toBe(409);
    expect(only.message).toBe('catalog has no previous revision to roll back to (revision 1 (1.0.0) is its only revision); nothing was changed');
    expect(h.list()).toHaveLength(1);
    // After a bad release was rolled back, a second rollback would re-release it: refused too.
    h.rollout('1.1.0', { errorRatio: 0.5, latencyMs: 0 }, T0 + 1000);
    h.commitRollback(h.planRollback());
    const again = refusal(() => h.planRollback());
    expect(again.status).toBe(409);
    expect(again.message).toBe('catalog has no previous revision to roll back to (no revision before 1 (1.0.0) that was not rolled back; rolled back: 2 (1.1.0)); nothing was changed');
    expect(h.current.revision).toBe(1);
    expect(h.get(2)?.status).toBe('rolled_back');
  });

  it('a rollout names what is wrong with its version', () => {
    const h = new RevisionHistory('checkout', T0);
    expect(refusal(() => h.rollout('1.0.0', { errorRatio: 0, latencyMs: 0 }))).toMatchObject({ status: 409, message: 'checkout already has version 1.0.0 (revision 1, current); roll out a new version, or roll back' });
    expect(refusal(() => h.rollout('v 2', { errorRatio: 0, latencyMs: 0 })).status).toBe(400);
    expect(h.list()).toHaveLength(1);
  });

  it('reset forgets later revisions and keeps the first one with its creation time', () => {
    const h = new RevisionHistory('checkout', T0);
    h.rollout('1.1.0', { errorRatio: 0.5, latencyMs: 0 }, T0 + 1000);
    h.reset();
    expect(h.list()).toEqual([expect.objectContaining({ revision: 1, status: 'current', createdAt: T0 })]);
  });
});
