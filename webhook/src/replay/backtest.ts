// `selfheal replay --prometheus URL --since 7d`: a policy backtest over history. The SelfhealAnomaly alert's
// occurrences are rebuilt from Prometheus (ALERTS: alert-history.ts, occurrences.ts), with the labels and
// annotations of the shipped rule (shipped-rule.ts) and the anomaly scores as evidence; the notifications
// Alertmanager's shipped route would have sent go through the policy and the guardrails in simulated time
// (simulate.ts); nothing is executed. The result: per rule, what would have run, what the guardrails held back
// and refused, and what the efficacy ledger knew.
import { PrometheusClient, ZERO_TIME, labelMatchers, toReceived, type Guardrail } from '@selfheal/contracts';
import type { ActionRow, Store } from '../audit/types.js';
import type { Config } from '../config/schema.js';
import { readAlertHistory, type HistoryWindow } from './alert-history.js';
import { readLedger, type LedgerView } from './ledger-view.js';
import { evaluationInterval, notificationsOf, occurrencesOf, SHIPPED_ROUTE, type AlertOccurrence, type RouteTiming } from './occurrences.js';
import { NON_ENTITY_LABELS, SHIPPED_ANOMALY_RULE, shippedAnnotations } from './shipped-rule.js';
import { simulate, type SimEvent } from './simulate.js';

export interface BacktestOptions extends HistoryWindow {
  prometheus: string;
  /** Per request (default 30 s: a day of samples is a large answer). */
  timeoutSeconds?: number;
  route?: RouteTiming;
  /** The rule's evaluation interval; default: what the samples show. */
  evaluationInterval?: number;
  onProgress?: (phase: 'read' | 'evidence' | 'replay', done: number, total: number) => void;
}

/** No history to replay: the window holds no sample of the alert nor of the scores it is computed from. */
export class NoHistoryError extends Error {}

/** Why an action was not run (a guardrail, or a refusal). */
export type HoldReason = Guardrail | 'refused';

export interface RuleSummary {
  /** The rule's name; `(no rule)` for alerts no rule matched. */
  rule: string;
  /** Alert occurrences the rule decided. */
  alerts: number;
  /** Actions that would have run (the actuator describes them: nothing executed), in all and per action. */
  wouldRun: number;
  byAction: Record<string, number>;
  /** Actions in shadow mode (rule or action `mode: shadow`): recorded, never run. */
  shadow: number;
  /** Actions held back by a guardrail that lifts (cooldown, rate limits, maxConcurrent), per guardrail... */
  deferred: Partial<Record<HoldReason, number>>;
  /** ...of which run once it lifted, dropped because the alert resolved first, or given up past maxDefer. */
  deferredThenRan: number;
  deferredDropped: number;
  deferredGivenUp: number;
  /** Actions not run, per guardrail (pause; a lifting one past maxDefer) or refusal (`refused`), with the reasons. */
  skipped: Partial<Record<HoldReason, number>>;
  reasons: { reason: string; count: number }[];
}

export interface OccurrenceReport {
  labels: Record<string, string>;
  startsAt: string;
  firedAt: string;
  endsAt: string | null;
  /** selfheal_anomaly_score when it fired, its peak while firing, and the feature's own score when it fired. */
  score: number | null;
  peakScore: number | null;
  featureScore: number | null;
  rule: string | null;
  result: string | null;
  notifications: number;
  actions: { time: string; action: string; target: string; status: string; reason: string }[];
}

export interface BacktestReport {
  prometheus: string;
  since: string;
  until: string;
  evaluationIntervalSeconds: number;
  route: RouteTiming;
  alerts: { series: number; occurrences: number; replayed: number; firingBeforeWindow: number; firingAtEnd: number; notifications: number };
  rules: RuleSummary[];
  occurrences: OccurrenceReport[];
  ledger: LedgerView;
}

const iso = (s: number): string => new Date(s * 1000).toISOString();

/** Which guardrail a recorded reason names (the guardrails write these prefixes, guardrails/guardrails.ts). */
export function holdReasonOf(reason: string | null): HoldReason {
  const r = reason ?? '';
  if (r.startsWith('paused')) return 'paused';
  if (r.startsWith('cooldown:')) return 'cooldown';
  if (r.startsWith('rate limit:')) return 'rate_limit';
  if (r.startsWith('global rate limit:')) return 'global_rate_limit';
  if (r.startsWith('max concurrent')) return 'max_concurrent';
  return 'refused';
}

const entityOf = (labels: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => !NON_ENTITY_LABELS.has(k)));

async function scoreAt(client: PrometheusClient, promql: string, at: number): Promise<number | null> {
  const samples = await client.query(promql, at);
  const values = samples.map((s) => s.value).filter((v) => Number.isFinite(v));
  return values.length === 0 ? null : Math.max(...values);
}

interface Evidence { score: number | null; peakScore: number | null; featureScore: number | null }

/** The scores behind an occurrence: when it fired (the rule's $value, its anomaly_score annotation) and at its peak. */
async function evidenceOf(client: PrometheusClient, o: AlertOccurrence, interval: number): Promise<Evidence> {
  const entity = labelMatchers(entityOf(o.labels));
  const score = await scoreAt(client, `selfheal_anomaly_score{${entity}}`, o.firedAt);
  const span = Math.max(1, Math.round(o.lastFiringAt - o.startsAt + interval));
  const peakScore = await scoreAt(client, `max_over_time(selfheal_anomaly_score{${entity}}[${span}s])`, o.lastFiringAt);
  const feature = o.labels.feature;
  const featureScore = feature === undefined ? null : await scoreAt(client, `selfheal_anomaly_feature_score{${labelMatchers({ ...entityOf(o.labels), feature })}}`, o.firedAt);
  return { score, peakScore, featureScore };
}

/** Whether Prometheus holds any score of the exporter in the window (the series API reads the index, not samples). */
async function hasScores(client: PrometheusClient, w: HistoryWindow): Promise<boolean> {
  return (await client.series(['selfheal_anomaly_score'], { start: w.since, end: w.until })).length > 0;
}

export async function backtest(config: Config, o: BacktestOptions): Promise<BacktestReport> {
  const client = new PrometheusClient(o.prometheus, { timeoutMs: (o.timeoutSeconds ?? 30) * 1000, retry: { retries: 2, backoffSeconds: 1 } });
  const route = o.route ?? SHIPPED_ROUTE;
  const series = await readAlertHistory(client, SHIPPED_ANOMALY_RULE.alert, o, (done, total) => o.onProgress?.('read', done, total));
  if (series.length === 0 && !(await hasScores(client, o))) {
    throw new NoHistoryError(`Prometheus ${client.baseUrl} has no ALERTS{alertname="${SHIPPED_ANOMALY_RULE.alert}"} and no selfheal_anomaly_score samples between ${iso(o.since)} and ${iso(o.until)}: nothing to replay (is the window within its retention, and does this Prometheus scrape the exporter and load prometheus/rules?)`);
  }
  const interval = o.evaluationInterval ?? evaluationInterval(series);
  const all = occurrencesOf(series, { since: o.since, until: o.until, interval });
  const replayed = all.filter((x) => !x.beforeWindow);

  const evidence: Evidence[] = [];
  for (const [i, occ] of replayed.entries()) {
    evidence.push(await evidenceOf(client, occ, interval));
    o.onProgress?.('evidence', i + 1, replayed.length);
  }

  const events: SimEvent<number>[] = [];
  replayed.forEach((occ, i) => {
    const annotations = shippedAnnotations(occ.labels, evidence[i]?.score ?? undefined);
    for (const n of notificationsOf(occ, route, o.until)) {
      events.push({
        at: n.at, tag: i,
        alert: toReceived({ status: n.status, labels: occ.labels, annotations, startsAt: iso(occ.startsAt), endsAt: n.status === 'resolved' && occ.endsAt !== undefined ? iso(occ.endsAt) : ZERO_TIME }),
      });
    }
  });

  const summary = await simulate(config, events, {
    until: o.until,
    onEvent: (done, total) => o.onProgress?.('replay', done, total),
    inspect: async (store, outcomes) => {
      const incidentOf = new Map<number, number>();
      for (const out of outcomes) if (out.kind === 'new') incidentOf.set(out.event.tag, out.incidentId);
      return summarize(store, replayed, evidence, incidentOf);
    },
  });

  return {
    prometheus: client.baseUrl, since: iso(o.since), until: iso(o.until), evaluationIntervalSeconds: interval, route,
    alerts: {
      series: series.length, occurrences: all.length, replayed: replayed.length, firingBeforeWindow: all.length - replayed.length,
      firingAtEnd: replayed.filter((x) => x.endsAt === undefined).length, notifications: events.length,
    },
    rules: summary.rules,
    occurrences: summary.occurrences,
    ledger: await readLedger(config, o.until),
  };
}

async function summarize(store: Store, occurrences: AlertOccurrence[], evidence: Evidence[], incidentOf: Map<number, number>): Promise<{ rules: RuleSummary[]; occurrences: OccurrenceReport[] }> {
  const rules = new Map<string, RuleSummary>();
  const ruleOf = (name: string): RuleSummary => {
    let r = rules.get(name);
    if (!r) {
      r = { rule: name, alerts: 0, wouldRun: 0, byAction: {}, shadow: 0, deferred: {}, deferredThenRan: 0, deferredDropped: 0, deferredGivenUp: 0, skipped: {}, reasons: [] };
      rules.set(name, r);
    }
    return r;
  };
  const reasons = new Map<string, Map<string, number>>();
  const reports: OccurrenceReport[] = [];
  for (const [i, occ] of occurrences.entries()) {
    const id = incidentOf.get(i);
    const inc = id === undefined ? undefined : await store.incident(id);
    const actions: ActionRow[] = id === undefined ? [] : await store.actionsOf(id);
    const ev = evidence[i];
    reports.push({
      labels: occ.labels, startsAt: iso(occ.startsAt), firedAt: iso(occ.firedAt), endsAt: occ.endsAt === undefined ? null : iso(occ.endsAt),
      score: ev?.score ?? null, peakScore: ev?.peakScore ?? null, featureScore: ev?.featureScore ?? null,
      rule: inc?.rule ?? null, result: inc?.result ?? null, notifications: inc?.notifications ?? 0,
      actions: actions.map((a) => ({ time: iso(a.started_at), action: a.action, target: a.target, status: a.status, reason: a.reason ?? '' })),
    });
    if (!inc) continue;
    const r = ruleOf(inc.rule ?? '(no rule)');
    r.alerts++;
    if (inc.result === 'no_rule') continue;
    const why = (reason: string) => {
      const m = reasons.get(r.rule) ?? new Map<string, number>();
      // The numbers in a reason (time left, counts) differ per alert: the reason's kind is what is counted.
      const kind = reason.replace(/\d+(\.\d+)?[a-z]*/g, 'N');
      m.set(kind, (m.get(kind) ?? 0) + 1);
      reasons.set(r.rule, m);
    };
    let deferred = false;
    for (const a of actions) {
      if (a.status === 'succeeded') {
        r.wouldRun++;
        r.byAction[a.action] = (r.byAction[a.action] ?? 0) + 1;
        if (deferred) r.deferredThenRan++;
        deferred = false;
      } else if (a.status === 'dry_run') {
        r.shadow++;
      } else if (a.status === 'deferred') {
        const g = holdReasonOf(a.reason);
        r.deferred[g] = (r.deferred[g] ?? 0) + 1;
        deferred = true;
      } else if (a.status === 'skipped') {
        const g = holdReasonOf(a.reason);
        r.skipped[g] = (r.skipped[g] ?? 0) + 1;
        why(a.reason ?? '');
        if (deferred) r.deferredGivenUp++;
        deferred = false;
      }
    }
    // Still deferred at the end of its incident: the alert resolved first (dropped), or the window ended.
    if (deferred && inc.result === 'resolved') r.deferredDropped++;
    if (inc.result === 'skipped' && actions.length === 0 && inc.reason) {
      // Decided without an action row (e.g. the rule's target template named no target): refused.
      r.skipped.refused = (r.skipped.refused ?? 0) + 1;
      why(inc.reason);
    }
  }
  for (const r of rules.values()) {
    r.reasons = [...(reasons.get(r.rule) ?? new Map<string, number>()).entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
  }
  return { rules: [...rules.values()].sort((a, b) => a.rule.localeCompare(b.rule)), occurrences: reports };
}
