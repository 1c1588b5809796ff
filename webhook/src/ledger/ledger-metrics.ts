// The efficacy ledger's metrics, read from the store at scrape time (with several replicas, every replica's actions):
// success rate and median time to recover per (feature, action, target) over efficacy.window, the demotions, and
// what healing costs (replica-seconds of scale-ups, replicas and quarantines still held). Each scrape sets the
// series the ledger has now and drops the others (an attempt that left the window leaves no stale series).
import { Gauge, type Registry } from 'prom-client';
import { HEALING_FAMILIES as F, promClientOptions } from '@selfheal/contracts';
import type { Store } from '../audit/types.js';
import { ledgerOf, type Efficacy, type EfficacyConfig } from './ledger.js';

export class LedgerMetrics {
  private readonly attempts: Gauge<'feature' | 'action' | 'target'>;
  private readonly successes: Gauge<'feature' | 'action' | 'target'>;
  private readonly ratio: Gauge<'feature' | 'action' | 'target'>;
  private readonly recovery: Gauge<'feature' | 'action' | 'target'>;
  private readonly demotions: Gauge<'action' | 'target'>;
  private readonly replicaSeconds: Gauge<'target'>;
  private readonly addedReplicas: Gauge<'target'>;
  private readonly quarantined: Gauge<'target'>;
  /** One read of the store per scrape, shared by the families' collect callbacks. */
  private pending: Promise<{ e: Efficacy; d: { target: string; action: string; active: number }[] } | undefined> | undefined;

  constructor(registry: Registry, private readonly store: Store | undefined, private readonly config: EfficacyConfig, private readonly now: () => number) {
    const registers = [registry];
    const collect = () => this.collect();
    // Only the first family's callback reads; prom-client runs every collect before serialising any family.
    this.attempts = new Gauge({ ...promClientOptions(F.efficacyAttempts), registers, collect });
    this.successes = new Gauge({ ...promClientOptions(F.efficacySuccesses), registers, collect });
    this.ratio = new Gauge({ ...promClientOptions(F.efficacySuccessRatio), registers, collect });
    this.recovery = new Gauge({ ...promClientOptions(F.efficacyRecovery), registers, collect });
    this.demotions = new Gauge({ ...promClientOptions(F.demotions), registers, collect });
    this.replicaSeconds = new Gauge({ ...promClientOptions(F.costReplicaSeconds), registers, collect });
    this.addedReplicas = new Gauge({ ...promClientOptions(F.costAddedReplicas), registers, collect });
    this.quarantined = new Gauge({ ...promClientOptions(F.quarantinedInstances), registers, collect });
  }

  private async collect(): Promise<void> {
    if (!this.store) return;
    const store = this.store;
    // The families of one scrape share one read (the first callback starts it, the others await it).
    this.pending ??= (async () => {
      try {
        const ledger = ledgerOf(store);
        return { e: await ledger.efficacy(this.config, this.now()), d: await ledger.demotionStates() };
      } catch {
        return undefined; // store unreachable: keep the last values (readiness reports the store)
      } finally {
        setImmediate(() => { this.pending = undefined; });
      }
    })();
    const read = await this.pending;
    if (!read) return;
    this.apply(read.e, read.d);
  }

  private apply(e: Efficacy, demotions: { target: string; action: string; active: number }[]): void {
    for (const g of [this.attempts, this.successes, this.ratio, this.recovery, this.demotions, this.replicaSeconds, this.addedReplicas, this.quarantined]) g.reset();
    for (const x of e.entries) {
      const labels = { feature: x.feature, action: x.action, target: x.target };
      this.attempts.set(labels, x.attempts);
      this.successes.set(labels, x.successes);
      this.ratio.set(labels, x.successRatio);
      if (x.medianRecoverySeconds !== null) this.recovery.set(labels, x.medianRecoverySeconds);
    }
    for (const d of demotions) this.demotions.set({ action: d.action, target: d.target }, Number(d.active));
    for (const c of e.costs.byTarget) {
      this.replicaSeconds.set({ target: c.target }, c.replicaSeconds);
      this.addedReplicas.set({ target: c.target }, c.addedReplicas);
      this.quarantined.set({ target: c.target }, c.quarantinedInstances);
    }
  }
}
