// `selfheal replay FILE...`: feeds recorded Alertmanager payloads through the policy and the guardrails, on the
// alerts' own clock (simulate.ts), without acting (actuators only describe; nothing is executed) and prints the outcome.
import { readFileSync } from 'node:fs';
import { payloadSchema, toReceived } from '@selfheal/contracts';
import { formatIssues } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { simulate, type SimEvent } from './simulate.js';

export interface ReplayDecision {
  /** When it was decided (ISO), on the alerts' clock: a deferred action is decided again when its guardrail lifts. */
  time: string;
  action: string;
  target: string;
  outcome: string;
  reason: string;
}

export interface ReplayLine {
  time: string;
  file: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  /** new | duplicate | resolved | invalid */
  kind: string;
  /** What would have happened, one entry per action considered (for a new alert: also the later decisions of its incident). */
  decisions: ReplayDecision[];
  note?: string;
}

/** Replays the files (each an Alertmanager webhook payload, or a JSON array of them). */
export async function replay(config: Config, files: string[]): Promise<ReplayLine[]> {
  const events: SimEvent<string>[] = [];
  const lines: ReplayLine[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      lines.push({ time: '', file, status: 'firing', fingerprint: '', labels: {}, kind: 'invalid', decisions: [], note: `cannot read: ${(err as Error).message}` });
      continue;
    }
    for (const [i, item] of (Array.isArray(raw) ? raw : [raw]).entries()) {
      const parsed = payloadSchema.safeParse(item);
      if (!parsed.success) {
        lines.push({ time: '', file: `${file}#${i}`, status: 'firing', fingerprint: '', labels: {}, kind: 'invalid', decisions: [], note: formatIssues(parsed.error.issues.slice(0, 5)).join('; ') });
        continue;
      }
      for (const a of parsed.data.alerts) {
        const alert = toReceived(a);
        const at = alert.status === 'resolved' && alert.endsAt && !alert.endsAt.startsWith('0001-') ? Date.parse(alert.endsAt) : Date.parse(alert.startsAt);
        events.push({ at: at / 1000, tag: `${file}#${i}`, alert });
      }
    }
  }
  // Every wait ends (a deferral lasts at most maxDefer): an alert the files never resolve still fires.
  const replayed = await simulate(config, events, {
    until: Infinity,
    inspect: async (store, outcomes) => {
      const out: ReplayLine[] = [];
      for (const o of outcomes) {
        const ev = o.event;
        const actions = o.kind === 'new' ? await store.actionsOf(o.incidentId) : [];
        const inc = await store.incident(o.incidentId);
        out.push({
          time: new Date(ev.at * 1000).toISOString(), file: ev.tag, status: ev.alert.status, fingerprint: ev.alert.fingerprint, labels: ev.alert.labels, kind: o.kind,
          decisions: actions.map((r) => ({ time: new Date(r.started_at * 1000).toISOString(), action: r.action, target: r.target, outcome: r.status, reason: r.reason ?? '' })),
          note: o.kind === 'new' && actions.length === 0 ? (inc?.reason ?? undefined) : o.kind === 'duplicate' ? 'repeated notification: no new action' : o.kind === 'resolved' ? 'closes the incident; never starts an action' : undefined,
        });
      }
      return out;
    },
  });
  return [...lines, ...replayed];
}

export function formatReplay(lines: ReplayLine[]): string {
  const out: string[] = [];
  for (const l of lines) {
    const who = Object.entries(l.labels).filter(([k]) => ['alertname', 'service', 'feature', 'severity'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`${l.time || '-'}  ${l.status.padEnd(8)} ${who || l.file}  [${l.kind}]`);
    for (const d of l.decisions) {
      const later = d.time !== l.time ? ` (at ${d.time})` : '';
      out.push(`    ${d.outcome === 'succeeded' ? 'would run' : d.outcome}${later}: ${d.action} on ${d.target} — ${d.reason.replace(/^replay: would /, '')}`);
    }
    if (l.note) out.push(`    ${l.note}`);
  }
  return out.join('\n');
}
