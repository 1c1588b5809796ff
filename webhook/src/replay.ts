// `selfheal replay`: feeds recorded Alertmanager payloads through the policy and the guardrails, on the
// alerts' own clock, without acting (actuators only describe; nothing is executed) and prints the outcome.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { formatIssues } from './config/load.js';
import type { Config } from './config/schema.js';
import { createActuators } from './actuators/registry.js';
import { SqliteStore } from './audit/sqlite-store.js';
import { HealingEngine } from './engine/engine.js';
import { PauseSwitch } from './guardrails/pause.js';
import { HealingMetrics } from './metrics.js';
import { Policy } from './policy/policy.js';
import { payloadSchema, toReceived, type ReceivedAlert } from '@selfheal/contracts';
import { systemClock } from './util/clock.js';

export interface ReplayLine {
  time: string;
  file: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  /** new | duplicate | resolved | invalid */
  kind: string;
  /** What would have happened, one entry per action considered. */
  decisions: { action: string; target: string; outcome: string; reason: string }[];
  note?: string;
}

/** Replays the files (each an Alertmanager webhook payload, or a JSON array of them). */
export async function replay(config: Config, files: string[]): Promise<ReplayLine[]> {
  const events: { at: number; file: string; alert: ReceivedAlert }[] = [];
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
        events.push({ at: at / 1000, file: `${file}#${i}`, alert });
      }
    }
  }
  events.sort((a, b) => a.at - b.at);

  let clock = events[0]?.at ?? Date.now() / 1000;
  const now = () => clock;
  const store = new SqliteStore({ path: ':memory:', now });
  // What would have happened had it acted: the top-level shadow mode is lifted (as before, the top-level dryRun).
  const cfg: Config = { ...config, dryRun: false, mode: config.mode === 'shadow' ? 'auto' : config.mode };
  const metrics = new HealingMetrics(store, { defaultMetrics: false });
  const engine = new HealingEngine({
    config: cfg, store, policy: new Policy(cfg), actuators: createActuators(cfg.actuators), metrics, pause: new PauseSwitch(store), logger: pino({ level: 'silent' }), clock: { now, sleepUntil: systemClock.sleepUntil }, simulate: true,
  });
  try {
    for (const ev of events) {
      clock = ev.at;
      const [outcome] = (await store.ingest([[ev.alert]]))[0] ?? [];
      if (!outcome) continue;
      if (outcome.kind === 'new') await engine.submit(outcome.incidentId);
      const actions = (await store.actionsOf(outcome.incidentId)).filter(() => outcome.kind === 'new');
      const inc = await store.incident(outcome.incidentId);
      lines.push({
        time: new Date(ev.at * 1000).toISOString(), file: ev.file, status: ev.alert.status, fingerprint: ev.alert.fingerprint, labels: ev.alert.labels, kind: outcome.kind,
        decisions: actions.map((r) => ({ action: r.action, target: r.target, outcome: r.status, reason: r.reason ?? '' })),
        note: outcome.kind === 'new' && actions.length === 0 ? (inc?.reason ?? undefined) : outcome.kind === 'duplicate' ? 'repeated notification: no new action' : outcome.kind === 'resolved' ? 'closes the incident; never starts an action' : undefined,
      });
    }
  } finally {
    await engine.stop();
    await store.close();
  }
  return lines;
}

export function formatReplay(lines: ReplayLine[]): string {
  const out: string[] = [];
  for (const l of lines) {
    const who = Object.entries(l.labels).filter(([k]) => ['alertname', 'service', 'feature', 'severity'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`${l.time || '-'}  ${l.status.padEnd(8)} ${who || l.file}  [${l.kind}]`);
    for (const d of l.decisions) out.push(`    ${d.outcome === 'succeeded' ? 'would run' : d.outcome}: ${d.action} on ${d.target} — ${d.reason.replace(/^replay: would /, '')}`);
    if (l.note) out.push(`    ${l.note}`);
  }
  return out.join('\n');
}
