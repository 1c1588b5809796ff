// The backtest's report as text: a header, the per-rule table, the reasons, what the efficacy ledger knew.
import { roughDuration } from '@selfheal/contracts';
import type { BacktestReport, HoldReason } from './backtest.js';

const LABEL: Record<HoldReason, string> = {
  cooldown: 'cooldown', rate_limit: 'rate limit', global_rate_limit: 'global rate limit', max_concurrent: 'max concurrent',
  paused: 'paused', blast_radius: 'blast radius', gitops: 'gitops', refused: 'refused',
  no_recent_change: 'no recent change', no_previous_revision: 'no previous revision', rollback_opt_out: 'rollback opt-out',
  progressive_delivery: 'progressive delivery',
};

const counts = (m: Partial<Record<HoldReason, number>>): string =>
  Object.entries(m).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${n} ${LABEL[k as HoldReason]}`).join(', ') || '0';

/** A duration as the report writes it (0 as 0s, not 0ms). */
const dur = (s: number): string => (s === 0 ? '0s' : roughDuration(s));

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd());
}

export function formatBacktest(r: BacktestReport): string {
  const out: string[] = [];
  const a = r.alerts;
  out.push(`Policy backtest of SelfhealAnomaly from ${r.prometheus}, ${r.since} to ${r.until} (nothing executed)`);
  out.push(`  rule evaluated every ${dur(r.evaluationIntervalSeconds)}; Alertmanager route: group_wait ${dur(r.route.groupWait)}, group_interval ${dur(r.route.groupInterval)}, repeat_interval ${dur(r.route.repeatInterval)}`);
  out.push(`  ${a.replayed} alert occurrence(s) of ${a.series} alert(s) replayed, ${a.notifications} notification(s)` +
    (a.firingBeforeWindow ? `; ${a.firingBeforeWindow} already firing when the window began (decided before it: not replayed)` : '') +
    (a.firingAtEnd ? `; ${a.firingAtEnd} still firing at its end` : ''));
  if (a.replayed === 0) {
    out.push('', 'No SelfhealAnomaly alert fired in this window: the policy would have done nothing.');
    return out.join('\n');
  }
  out.push('');
  const rows = [['rule', 'alerts', 'would run', 'shadow', 'deferred by', 'then ran', 'dropped (resolved)', 'given up', 'not run']];
  for (const x of r.rules) {
    const actions = Object.entries(x.byAction).map(([k, n]) => `${k} ${n}`).join(', ');
    rows.push([x.rule, String(x.alerts), `${x.wouldRun}${actions ? ` (${actions})` : ''}`, String(x.shadow), counts(x.deferred), String(x.deferredThenRan), String(x.deferredDropped), String(x.deferredGivenUp), counts(x.skipped)]);
  }
  out.push(...table(rows));
  const withReasons = r.rules.filter((x) => x.reasons.length > 0);
  if (withReasons.length > 0) {
    out.push('', 'Not run, and why:');
    for (const x of withReasons) for (const w of x.reasons) out.push(`  ${x.rule}: ${w.count} × ${w.reason}`);
  }
  out.push('');
  if (!r.ledger.read) {
    out.push(`Efficacy ledger: not read (${r.ledger.why}).`);
  } else {
    const e = r.ledger.efficacy;
    const used = new Set(r.occurrences.flatMap((o) => o.actions.map((x) => `${x.target}\u0000${x.action}`)));
    const known = e.byTarget.filter((t) => used.has(`${t.target}\u0000${t.action}`));
    out.push(`Efficacy ledger of ${r.ledger.store} over ${roughDuration(e.window)} up to ${r.until}:`);
    if (known.length === 0) out.push('  no attempt recorded of the actions this backtest would run');
    for (const t of known) {
      const median = t.medianRecoverySeconds === null ? '' : `, median recovery ${roughDuration(t.medianRecoverySeconds)}`;
      out.push(`  ${t.action} on ${t.target}: ${t.successes} of ${t.attempts} attempts healed (${Math.round(t.successRatio * 100)}%)${median}${t.demoted ? '; DEMOTED to approve mode: the service would ask a person first' : ''}`);
    }
    for (const d of e.demotions.filter((d) => !known.some((t) => t.target === d.target && t.action === d.action) && used.has(`${d.target}\u0000${d.action}`))) {
      out.push(`  ${d.action} on ${d.target}: DEMOTED to approve mode (${d.reason})`);
    }
  }
  return out.join('\n');
}
