// The efficacy ledger over the durable store: the attempts and costs read for GET /api/v1/efficacy and /metrics, and
// the demotions (table `demotions`, migration 7). After an action fails, its success rate on the target over the
// window (since the last time a person lifted a demotion of it there, if later) is compared with the floor
// (efficacy.demoteBelow); below it, with at least minAttempts attempts, the action is demoted to approve mode on
// that target, durably and audited (`demoted`), until a person lifts it through the API (`demotion_lifted`).
// Each change is one transaction (a script, audit/script.ts) for both databases; at most one demotion of a
// (target, action) is active (a partial unique index), so two replicas demoting at once record one.
import type { ActionName } from '@selfheal/contracts';
import { q, scriptRunner, type Runner, type Script } from '../audit/script.js';
import { auditArgs, SQL } from '../audit/sql.js';
import type { Store } from '../audit/types.js';
import { computeCosts, computeLedger, type AttemptRow, type CostRow, type LedgerEntry, type TargetCost, type Figures } from './efficacy.js';

export interface EfficacyConfig {
  window: number;
  minAttempts: number;
  demoteBelow?: number;
}

/** A row of the demotions table. */
export interface DemotionRecord {
  id: number;
  target: string;
  action: ActionName;
  status: 'active' | 'lifted';
  demoted_at: number;
  attempts: number;
  successes: number;
  success_ratio: number;
  floor: number;
  window_seconds: number;
  reason: string;
  lifted_at: number | null;
  lifted_by: string | null;
  lift_reason: string | null;
}

export interface Efficacy {
  window: number;
  from: number;
  to: number;
  minAttempts: number;
  demoteBelow: number | null;
  entries: LedgerEntry[];
  byAction: ({ feature: string; action: string } & Figures)[];
  byTarget: ({ target: string; action: string; demoted: boolean } & Figures)[];
  costs: { replicaSeconds: number; addedReplicas: number; quarantinedInstances: number; byTarget: TargetCost[] };
  demotions: DemotionRecord[];
}

const FINAL = `('succeeded','failed','unknown')`;

const ATTEMPTS_SQL = `SELECT a.action, a.target, a.status, a.started_at, a.finished_at, i.labels, i.starts_at
  FROM actions a JOIN incidents i ON i.id = a.incident_id WHERE a.started_at >= ? AND a.status IN ${FINAL}`;

// Scale-ups that changed the replica count (any executed outcome: a fix whose verification failed stays in place)
// and quarantines that succeeded (or are being verified); the ones a revert moved back before the window left out.
const COSTS_SQL = `SELECT a.action, a.target, a.status, a.detail, a.started_at, r.status AS revert_status, r.started_at AS revert_started_at
  FROM actions a LEFT JOIN reverts r ON r.action_id = a.id
  WHERE ((a.action = 'scale_up' AND a.status IN ('verifying','succeeded','failed','unknown') AND a.detail IS NOT NULL)
      OR (a.action = 'quarantine' AND a.status IN ('verifying','succeeded')))
    AND (r.id IS NULL OR r.status NOT IN ('verifying','reverted') OR r.started_at >= ?)`;

const asDemotion = (r: Record<string, unknown> | undefined): DemotionRecord | undefined => r as DemotionRecord | undefined;

function* evaluate(c: EfficacyConfig, floor: number, target: string, action: string, now: number): Script<DemotionRecord | undefined> {
  const active = (yield* q(`SELECT id FROM demotions WHERE target = ? AND action = ? AND status = 'active'`, target, action))[0];
  if (active) return undefined;
  // Attempts before a person last lifted a demotion of it here do not count again.
  const lifted = (yield* q(`SELECT MAX(lifted_at) AS t FROM demotions WHERE target = ? AND action = ? AND status = 'lifted'`, target, action))[0]?.t;
  const since = Math.max(now - c.window, typeof lifted === 'number' ? lifted : -Infinity);
  const t = (yield* q(`SELECT CAST(COUNT(*) AS INTEGER) AS attempts, CAST(COALESCE(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0) AS INTEGER) AS successes
    FROM actions WHERE target = ? AND action = ? AND started_at >= ? AND status IN ${FINAL}`, target, action, since))[0] ?? {};
  const attempts = Number(t.attempts ?? 0);
  const successes = Number(t.successes ?? 0);
  const ratio = attempts === 0 ? 1 : successes / attempts;
  if (attempts < c.minAttempts || ratio >= floor) return undefined;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const reason = `${action} healed ${successes} of its last ${attempts} attempts on ${target} (${pct(ratio)}), below the efficacy floor of ${pct(floor)}: it now waits for a person's approval there until someone lifts the demotion`;
  const row = asDemotion((yield* q(`INSERT INTO demotions (target, action, status, demoted_at, attempts, successes, success_ratio, floor, window_seconds, reason)
    VALUES (?,?,'active',?,?,?,?,?,?,?) ON CONFLICT (target, action) WHERE status = 'active' DO NOTHING RETURNING *`,
  target, action, now, attempts, successes, ratio, floor, c.window, reason))[0]);
  if (!row) return undefined;
  yield* q(SQL.insertAudit, ...auditArgs({ event: 'demoted', action, target, reason, detail: { demotion: row.id, attempts, successes, successRatio: ratio, floor, since } }, now));
  return row;
}

function* lift(target: string, action: string, by: string, why: string | undefined, now: number): Script<DemotionRecord | undefined> {
  const row = asDemotion((yield* q(`UPDATE demotions SET status = 'lifted', lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE target = ? AND action = ? AND status = 'active' RETURNING *`,
    now, by, why ?? null, target, action))[0]);
  if (!row) return undefined;
  const text = `demotion of ${action} on ${target} lifted by ${by}${why ? `: ${why}` : ''}; it runs in its configured mode again`;
  yield* q(SQL.insertAudit, ...auditArgs({ event: 'demotion_lifted', action, target, reason: text, detail: { demotion: row.id, by, reason: why ?? null } }, now));
  return row;
}

export class Ledger {
  private readonly run: Runner;

  /** Over a store, or a runner of its database (replay: an SQLite file opened read-only). */
  constructor(store: Store | Runner) {
    this.run = typeof store === 'function' ? store : scriptRunner(store, 'efficacy ledger');
  }

  /** After an action failed: demotes it on the target if its success rate fell below the floor. The new demotion, if any. */
  evaluate(c: EfficacyConfig, target: string, action: string, now: number): Promise<DemotionRecord | undefined> {
    const floor = c.demoteBelow;
    if (floor === undefined) return Promise.resolve(undefined);
    return this.run(() => evaluate(c, floor, target, action, now));
  }

  /** A person lifts the active demotion; undefined when there is none. */
  lift(target: string, action: string, by: string, why: string | undefined, now: number): Promise<DemotionRecord | undefined> {
    return this.run(() => lift(target, action, by, why, now));
  }

  /** The active demotion of the action on the target, if any. */
  active(target: string, action: string): Promise<DemotionRecord | undefined> {
    return this.run(function* () { return asDemotion((yield* q(`SELECT * FROM demotions WHERE target = ? AND action = ? AND status = 'active'`, target, action))[0]); }, true);
  }

  demotions(status?: 'active' | 'lifted'): Promise<DemotionRecord[]> {
    return this.run(function* () {
      return (yield* q(`SELECT * FROM demotions ${status ? 'WHERE status = ?' : ''} ORDER BY id DESC LIMIT 1000`, ...(status ? [status] : []))) as unknown as DemotionRecord[];
    }, true);
  }

  /** Every (target, action) ever demoted, and whether it is now: the demotions gauge (lifted ones at 0). */
  demotionStates(): Promise<{ target: string; action: string; active: number }[]> {
    return this.run(function* () {
      return (yield* q(`SELECT target, action, CAST(MAX(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS INTEGER) AS active FROM demotions GROUP BY target, action`)) as unknown as { target: string; action: string; active: number }[];
    }, true);
  }

  /** The ledger over [now - window, now]. */
  efficacy(c: EfficacyConfig, now: number): Promise<Efficacy> {
    const from = now - c.window;
    return this.run(function* () {
      const attempts = (yield* q(ATTEMPTS_SQL, from)) as unknown as AttemptRow[];
      const costs = (yield* q(COSTS_SQL, from)) as unknown as CostRow[];
      const demotions = (yield* q(`SELECT * FROM demotions WHERE status = 'active' ORDER BY id`)) as unknown as DemotionRecord[];
      const ledger = computeLedger(attempts.map((a) => ({ ...a, started_at: Number(a.started_at), finished_at: a.finished_at === null ? null : Number(a.finished_at) })));
      const byTargetCost = computeCosts(costs.map((r) => ({ ...r, started_at: Number(r.started_at), revert_started_at: r.revert_started_at === null ? null : Number(r.revert_started_at) })), from, now);
      const demoted = new Set(demotions.map((d) => `${d.target}\u0000${d.action}`));
      const sum = (k: 'replicaSeconds' | 'addedReplicas' | 'quarantinedInstances') => byTargetCost.reduce((s, x) => s + x[k], 0);
      return {
        window: c.window, from, to: now, minAttempts: c.minAttempts, demoteBelow: c.demoteBelow ?? null,
        entries: ledger.entries, byAction: ledger.byAction,
        byTarget: ledger.byTarget.map((t) => ({ ...t, demoted: demoted.has(`${t.target}\u0000${t.action}`) })),
        costs: { replicaSeconds: sum('replicaSeconds'), addedReplicas: sum('addedReplicas'), quarantinedInstances: sum('quarantinedInstances'), byTarget: byTargetCost },
        demotions,
      };
    }, true);
  }
}

const byStore = new WeakMap<Store, Ledger>();

/** The ledger of `store` (one per store, shared by the engine, the API and the metrics). */
export function ledgerOf(store: Store): Ledger {
  let l = byStore.get(store);
  if (!l) {
    l = new Ledger(store);
    byStore.set(store, l);
  }
  return l;
}
