// The metrics of fixes that undo themselves (revertAfter): how reverts ended, and the fixes still in place (what a
// ledger of the cost of healing counts: replicas added and not yet removed, instances held in quarantine...).
import { Counter, Gauge, type Registry } from 'prom-client';
import { HEALING_FAMILIES as F, REVERTIBLE_ACTIONS, REVERT_OUTCOMES, promClientOptions, type ActionName, type RevertOutcome } from '@selfheal/contracts';
import type { Store } from './audit/types.js';

export class RevertMetrics {
  readonly reverts: Counter<'service' | 'action' | 'outcome'>;
  readonly unreverted: Gauge<'action'>;
  private readonly services = new Set<string>();

  /** `serviceLabel`: the healing metrics' bounded service label (at most 500 services, then `other`). */
  constructor(registry: Registry, store: Store | undefined, private readonly serviceLabel: (service: string) => string) {
    const registers = [registry];
    this.reverts = new Counter({ ...promClientOptions(F.reverts), registers });
    this.unreverted = new Gauge({
      ...promClientOptions(F.unrevertedFixes), registers,
      // Read from the store at scrape time: with several replicas, every replica's fixes.
      collect: async () => {
        if (!store) return;
        let rows: { action: string; n: number }[];
        try {
          rows = await store.unrevertedFixes();
        } catch {
          return; // store unreachable: keep the last values (readiness reports the store)
        }
        for (const action of REVERTIBLE_ACTIONS) this.unreverted.set({ action }, rows.find((r) => r.action === action)?.n ?? 0);
      },
    });
  }

  record(service: string, action: ActionName, outcome: RevertOutcome): void {
    const s = this.serviceLabel(service);
    if (!this.services.has(s)) {
      // Every revertible action × outcome pre-created at 0 the first time a service is seen (as the actions' counter).
      this.services.add(s);
      for (const a of REVERTIBLE_ACTIONS) for (const o of REVERT_OUTCOMES) this.reverts.inc({ service: s, action: a, outcome: o }, 0);
    }
    this.reverts.inc({ service: s, action, outcome });
  }
}
