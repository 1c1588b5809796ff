// The healing service's Prometheus metrics (names fixed in docs/contracts.md; the Grafana panel reads them).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ACTIONS, GUARD_DECISIONS, GUARDRAILS, OUTCOMES, type ActionName, type GuardDecision, type Guardrail, type Outcome } from './actions.js';
import type { Store } from './audit/types.js';

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
  readonly refusals: Counter<'reason' | 'decision'>;
  readonly requests: Counter<'code'>;
  readonly alertsReceived: Counter<'status'>;
  private readonly services = new Set<string>();
  private readonly cooldownSeen = new Set<string>();

  constructor(private readonly store: Store | undefined, opts: { defaultMetrics?: boolean; now?: () => number } = {}) {
    const clockNow = opts.now ?? (() => Date.now() / 1000);
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.actionsTotal = new Counter({ name: 'selfheal_healing_actions_total', help: 'Healing actions by service, action and outcome.', labelNames: ['service', 'action', 'outcome'], registers });
    this.lastAction = new Gauge({ name: 'selfheal_healing_last_action_timestamp_seconds', help: 'Unix time of the last healing action by service, action and outcome.', labelNames: ['service', 'action', 'outcome'], registers });
    this.actionDuration = new Histogram({ name: 'selfheal_healing_action_duration_seconds', help: 'Time an actuator took to carry out an action (verification excluded).', labelNames: ['action'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
    this.recovery = new Histogram({ name: 'selfheal_healing_recovery_seconds', help: 'Time from an alert starting to its resolution.', labelNames: ['service'], buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200], registers });
    this.cooldownRemaining = new Gauge({
      name: 'selfheal_healing_cooldown_remaining_seconds', help: 'Seconds left before another action may run on the service.', labelNames: ['service', 'action'], registers,
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
    this.inFlight = new Gauge({ name: 'selfheal_healing_actions_in_flight', help: 'Actions being carried out or verified.', registers, collect: async () => { if (store) this.inFlight.set(await store.inFlight().catch(() => 0)); } });
    this.deferred = new Gauge({
      name: 'selfheal_healing_deferred_actions', help: 'Incidents whose next action is deferred until a guardrail (cooldown, rate limit, concurrency) lifts.', registers,
      collect: async () => { if (store) this.deferred.set(await store.deferred().catch(() => 0)); },
    });
    this.refusals = new Counter({
      name: 'selfheal_healing_guardrail_refusals_total',
      help: 'Actions a guardrail refused, by guardrail (reason) and what followed (decision: skipped, deferred until it lifts, escalated to people).',
      labelNames: ['reason', 'decision'], registers,
    });
    for (const reason of GUARDRAILS) for (const decision of GUARD_DECISIONS) this.refusals.inc({ reason, decision }, 0);
    this.requests = new Counter({ name: 'selfheal_webhook_requests_total', help: 'Webhook requests by HTTP status code.', labelNames: ['code'], registers });
    this.alertsReceived = new Counter({ name: 'selfheal_webhook_alerts_received_total', help: 'Alerts received by status.', labelNames: ['status'], registers });
    for (const code of ['200', '400', '401', '413', '415', '500']) this.requests.inc({ code }, 0);
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
