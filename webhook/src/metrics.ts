// The healing service's Prometheus metrics, built from the families declared in @selfheal/contracts (the Grafana
// panel, the rules and docs/contracts.md read them).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  ACTIONS, GUARD_DECISIONS, GUARDRAILS, HEALING_FAMILIES as F, OUTCOMES, promClientOptions, type ActionName, type GuardDecision, type Guardrail, type Outcome,
} from '@selfheal/contracts';
import { approvalsOf } from './audit/approvals.js';
import type { Store } from './audit/types.js';
import { LedgerMetrics } from './ledger/ledger-metrics.js';
import type { EfficacyConfig } from './ledger/ledger.js';
import { RevertMetrics } from './revert-metrics.js';

/** Bounded label cardinality: services beyond this many are counted as "other". */
const MAX_SERVICES = 500;

export class HealingMetrics {
  readonly registry = new Registry();
  readonly actionsTotal: Counter<'service' | 'action' | 'outcome'>;
  readonly lastAction: Gauge<'service' | 'action' | 'outcome'>;
  readonly actionDuration: Histogram<'action'>;
  readonly recovery: Histogram<'service'>;
  readonly cooldownRemaining: Gauge<'service' | 'action'>;
  readonly inFlight: Gauge;
  readonly deferred: Gauge;
  readonly pendingApprovals: Gauge;
  readonly refusals: Counter<'reason' | 'decision'>;
  readonly requests: Counter<'code'>;
  /** SNS messages at POST /api/v1/alerts/sns by type and outcome (pre-created by the SNS receiver, when configured). */
  readonly snsMessages: Counter<'type' | 'outcome'>;
  readonly alertsReceived: Counter<'status'>;
  /** Fixes that undo themselves: reverts by outcome, fixes still in place. */
  readonly reverts: RevertMetrics;
  /** The efficacy ledger: success rates, times to recover, demotions and costs, read from the store. */
  readonly ledger: LedgerMetrics;
  private readonly services = new Set<string>();
  private readonly cooldownSeen = new Set<string>();

  constructor(private readonly store: Store | undefined, opts: { defaultMetrics?: boolean; now?: () => number; efficacy?: EfficacyConfig } = {}) {
    const clockNow = opts.now ?? (() => Date.now() / 1000);
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.actionsTotal = new Counter({ ...promClientOptions(F.actions), registers });
    this.lastAction = new Gauge({ ...promClientOptions(F.lastAction), registers });
    this.actionDuration = new Histogram({ ...promClientOptions(F.actionDuration), registers });
    this.recovery = new Histogram({ ...promClientOptions(F.recovery), registers });
    this.cooldownRemaining = new Gauge({
      ...promClientOptions(F.cooldownRemaining), registers,
      // Read from the store at scrape time: with several replicas, cooldowns set by any of them.
      collect: async () => {
        if (!store) return;
        const now = clockNow();
        const active = new Set<string>();
        let cooldowns: { service: string; action: string; until: number }[];
        try {
          cooldowns = await store.activeCooldowns(now);
        } catch {
          return; // store unreachable: keep the last values (readiness reports the store)
        }
        for (const c of cooldowns) {
          const service = this.serviceLabel(c.service);
          active.add(`${service}\u0000${c.action}`);
          this.cooldownSeen.add(`${service}\u0000${c.action}`);
          this.cooldownRemaining.set({ service, action: c.action }, Math.max(0, c.until - now));
        }
        for (const key of this.cooldownSeen) {
          if (active.has(key)) continue;
          const [service = '', action = ''] = key.split('\u0000');
          this.cooldownRemaining.set({ service, action }, 0);
        }
      },
    });
    this.inFlight = new Gauge({ ...promClientOptions(F.inFlight), registers, collect: async () => { if (store) this.inFlight.set(await store.inFlight().catch(() => 0)); } });
    this.deferred = new Gauge({
      ...promClientOptions(F.deferred), registers,
      collect: async () => { if (store) this.deferred.set(await store.deferred().catch(() => 0)); },
    });
    this.pendingApprovals = new Gauge({
      ...promClientOptions(F.pendingApprovals), registers,
      collect: async () => {
        if (!store) return;
        try {
          this.pendingApprovals.set(await approvalsOf(store).pendingCount());
        } catch {
          // store unreachable: keep the last value (readiness reports the store)
        }
      },
    });
    this.refusals = new Counter({ ...promClientOptions(F.guardrailRefusals), registers });
    for (const reason of GUARDRAILS) for (const decision of GUARD_DECISIONS) this.refusals.inc({ reason, decision }, 0);
    this.requests = new Counter({ ...promClientOptions(F.webhookRequests), registers });
    this.alertsReceived = new Counter({ ...promClientOptions(F.alertsReceived), registers });
    this.snsMessages = new Counter({ ...promClientOptions(F.snsMessages), registers });
    for (const code of ['200', '400', '401', '413', '415', '500']) this.requests.inc({ code }, 0);
    this.reverts = new RevertMetrics(this.registry, store, (service) => this.serviceLabel(service));
    this.ledger = new LedgerMetrics(this.registry, store, opts.efficacy ?? { window: 7 * 86400, minAttempts: 3 }, clockNow);
  }

  /** Restores the last-action gauges from the store (at start). */
  async restore(): Promise<void> {
    if (!this.store) return;
    for (const r of await this.store.lastActionTimes()) this.lastAction.set({ service: this.serviceLabel(r.service), action: r.action, outcome: r.outcome }, r.ts);
  }

  /** Service label value, pre-creating every action×outcome series at 0 the first time a service is seen. */
  serviceLabel(service: string): string {
    if (this.services.has(service)) return service;
    if (this.services.size >= MAX_SERVICES) return 'other';
    this.services.add(service);
    for (const action of ACTIONS) for (const outcome of OUTCOMES) this.actionsTotal.inc({ service, action, outcome }, 0);
    return service;
  }

  recordRefusal(reason: Guardrail, decision: GuardDecision): void {
    this.refusals.inc({ reason, decision });
  }

  recordOutcome(service: string, action: ActionName, outcome: Outcome, at = Date.now() / 1000): void {
    const s = this.serviceLabel(service);
    this.actionsTotal.inc({ service: s, action, outcome });
    this.lastAction.set({ service: s, action, outcome }, at);
  }
}
