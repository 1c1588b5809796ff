// `selfheal replay --prometheus`: a policy backtest over a recorded week of the SelfhealAnomaly alert, read from a real
// Prometheus whose TSDB was backfilled with promtool (`tsdb create-blocks-from openmetrics`): the ALERTS series
// (pending and firing, as Prometheus writes them at each rule evaluation) and the anomaly scores. The expected numbers
// of actions, deferrals and refusals are computed here from the fixture by a model of the guardrails written apart
// from the service's, and compared with the report of the library call and of the real built command.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startStack, type Stack } from '@selfheal/stack';
import { backtest, NoHistoryError, parseConfigText, type BacktestReport, type Config } from '@selfheal/webhook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../cli/bin/selfheal.js', import.meta.url));
const STEP = 15; // the rule's evaluation interval in the recorded history
const FOR = 30; // the shipped rule's `for`
const COOLDOWN = 1800;
const MAX_DEFER = 900;
const PER_TARGET = { window: 86400, max: 3 };
const GLOBAL = { window: 3600, max: 3 };
const DAY = 86400;

const POLICY = `
auth: none
store: { path: /nonexistent/selfheal-replay-test.db }
actuators:
  cluster: { type: kubernetes, kubeconfig: /nonexistent }
targets:
  checkout: { actuator: cluster, kubernetes: { namespace: shop, name: checkout } }
  cart: { actuator: cluster, kubernetes: { namespace: shop, name: cart } }
  inventory: { actuator: cluster, kubernetes: { namespace: shop, name: inventory } }
  shipping: { actuator: cluster, kubernetes: { namespace: shop, name: shipping } }
  search: { actuator: cluster, kubernetes: { namespace: shop, name: search } }
guardrails:
  cooldown: ${COOLDOWN}s
  maxDefer: ${MAX_DEFER}s
  rateLimits:
    perTarget: [{ window: ${PER_TARGET.window}s, max: ${PER_TARGET.max} }]
    global: [{ window: ${GLOBAL.window}s, max: ${GLOBAL.max} }]
rules:
  - { name: checkout, matchers: ['service = checkout'], target: checkout, actions: [scale_up] }
  - { name: cart, matchers: ['service = cart'], target: cart, actions: [restart] }
  - { name: stock, matchers: ['service =~ inventory|shipping'], target: '{{ labels.service }}', actions: [scale_up] }
  - { name: search, matchers: ['service = search'], target: search, actions: [scale_up], mode: shadow }
`;
const RULE_OF: Record<string, { rule: string; target: (service: string) => string; shadow?: boolean } | undefined> = {
  checkout: { rule: 'checkout', target: () => 'checkout' },
  cart: { rule: 'cart', target: () => 'cart' },
  inventory: { rule: 'stock', target: (s) => s },
  shipping: { rule: 'stock', target: (s) => s },
  search: { rule: 'search', target: () => 'search', shadow: true },
};

/** One recorded occurrence: pending from `at`, firing from at + FOR for `firing` seconds (its last sample then). */
interface Recorded { service: string; feature: string; at: number; firing: number; pendingOnly?: boolean }

const end = Math.floor(Date.now() / 1000 / STEP) * STEP - 3600;
const since = end - 7 * DAY;
const T = (day: number, hh: number, mm: number) => since + day * DAY + hh * 3600 + mm * 60;

// A week of alerts, laid out so that every guardrail has its say (the model below says what each does).
const HISTORY: Recorded[] = [
  { service: 'checkout', feature: 'cpu_usage', at: since - 600, firing: 870 }, // already firing when the window begins
  { service: 'checkout', feature: 'cpu_usage', at: T(1, 10, 0), firing: 1200 },
  { service: 'checkout', feature: 'latency_p99', at: T(1, 10, 20), firing: 1800 },
  { service: 'checkout', feature: 'error_ratio', at: T(1, 10, 24), firing: 180 },
  { service: 'checkout', feature: 'cpu_usage', at: T(1, 10, 40), firing: 600 },
  { service: 'checkout', feature: 'cpu_usage', at: T(1, 14, 0), firing: 300 },
  { service: 'checkout', feature: 'cpu_usage', at: T(1, 16, 0), firing: 300 },
  { service: 'cart', feature: 'memory_rss', at: T(2, 12, 0), firing: 600 },
  { service: 'cart', feature: 'memory_heap', at: T(2, 12, 5), firing: 600 },
  { service: 'checkout', feature: 'cpu_usage', at: T(3, 9, 0), firing: 300 },
  { service: 'checkout', feature: 'cpu_usage', at: T(4, 8, 0), firing: 300 },
  { service: 'cart', feature: 'memory_rss', at: T(4, 8, 1), firing: 300 },
  { service: 'inventory', feature: 'cpu_usage', at: T(4, 8, 2), firing: 300 },
  { service: 'shipping', feature: 'cpu_usage', at: T(4, 8, 3), firing: 300 },
  { service: 'search', feature: 'cpu_usage', at: T(5, 10, 0), firing: 5 * 3600 },
  { service: 'search', feature: 'cpu_usage', at: T(5, 16, 0), firing: 300 },
  { service: 'payments', feature: 'error_ratio', at: T(6, 13, 0), firing: 300 },
  { service: 'payments', feature: 'cpu_usage', at: T(6, 14, 0), firing: 0, pendingOnly: true },
  { service: 'cart', feature: 'memory_rss', at: end - 1200, firing: 1200 - FOR }, // still firing at the end
];

const alertLabels = (r: Recorded) => ({ alertname: 'SelfhealAnomaly', feature: r.feature, group: 'shop', instance: '127.0.0.1:9188', job: 'selfheal-exporter', service: r.service, severity: 'warning' });
const entityLabels = (service: string) => ({ group: 'shop', instance: '127.0.0.1:9188', job: 'selfheal-exporter', service });
/** The anomaly score of an occurrence while it fires: distinct per occurrence, so its annotation can be checked. */
const scoreOf = (i: number) => 1.5 + i / 8;

function om(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** The week in OpenMetrics: ALERTS while pending/firing, the scores around each occurrence and a quiet stretch. */
function openMetrics(): string {
  const series = new Map<string, Map<number, number>>();
  const put = (family: string, key: string, t: number, v: number) => {
    const k = `${family}\u0000${key}`;
    const m = series.get(k) ?? new Map<number, number>();
    m.set(t, Math.max(v, m.get(t) ?? -Infinity));
    series.set(k, m);
  };
  HISTORY.forEach((r, i) => {
    const labels = alertLabels(r);
    for (let t = r.at; t < r.at + FOR; t += STEP) put('ALERTS', om('ALERTS', { ...labels, alertstate: 'pending' }), t, 1);
    if (r.pendingOnly) return;
    for (let t = r.at + FOR; t <= r.at + FOR + r.firing; t += STEP) {
      put('ALERTS', om('ALERTS', { ...labels, alertstate: 'firing' }), t, 1);
      put('selfheal_anomaly_score', om('selfheal_anomaly_score', entityLabels(r.service)), t, scoreOf(i));
      put('selfheal_anomaly_feature_score', om('selfheal_anomaly_feature_score', { ...entityLabels(r.service), feature: r.feature }), t, scoreOf(i) - 0.25);
    }
  });
  // A quiet stretch: scores, no alert.
  for (let t = T(0, 1, 0); t <= T(0, 2, 0); t += STEP) put('selfheal_anomaly_score', om('selfheal_anomaly_score', entityLabels('checkout')), t, 0.2);
  const lines: string[] = [];
  for (const family of ['ALERTS', 'selfheal_anomaly_score', 'selfheal_anomaly_feature_score']) {
    lines.push(`# TYPE ${family} gauge`);
    for (const [k, samples] of series) {
      if (!k.startsWith(`${family}\u0000`)) continue;
      const name = k.slice(family.length + 1);
      for (const [t, v] of [...samples].sort((a, b) => a[0] - b[0])) if (t < end + STEP) lines.push(`${name} ${v} ${t}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** What the guardrails would do, modelled apart from the service: per rule, the counts the report must show. */
function model(): Map<string, Record<string, number>> {
  type Item = { at: number; r: Recorded; target: string; rule: string; deadline?: number; resolvedAt: number };
  const runs: { target: string; at: number }[] = [];
  const out = new Map<string, Record<string, number>>();
  const bump = (rule: string, key: string) => {
    const m = out.get(rule) ?? {};
    m[key] = (m[key] ?? 0) + 1;
    out.set(rule, m);
  };
  const queue: Item[] = [];
  for (const r of HISTORY) {
    if (r.pendingOnly || r.at < since) continue;
    const firedAt = r.at + FOR;
    const last = firedAt + r.firing;
    // Resolved one evaluation after the last firing sample, told at the next 30 s tick of the alert's group.
    const resolvedAt = last >= end - 2 * STEP ? Infinity : firedAt + Math.ceil((last + STEP - firedAt) / 30) * 30;
    const m = RULE_OF[r.service];
    bump(m?.rule ?? '(no rule)', 'alerts');
    if (m) queue.push({ at: firedAt, r, target: m.target(r.service), rule: m.rule, resolvedAt });
  }
  const liftsAfter = (times: number[], window: number, max: number, now: number): number | undefined => {
    const inWindow = times.filter((t) => t >= now - window).sort((a, b) => a - b);
    return inWindow.length >= max ? (inWindow[inWindow.length - max] ?? 0) + window : undefined;
  };
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at);
    const it = queue.shift() as Item;
    if (it.deadline !== undefined && it.resolvedAt <= it.at) {
      bump(it.rule, 'deferredDropped');
      continue;
    }
    if (RULE_OF[it.r.service]?.shadow) {
      bump(it.rule, 'shadow');
      continue;
    }
    const mine = runs.filter((x) => x.target === it.target).map((x) => x.at);
    const cooldown = Math.max(-Infinity, ...mine.map((t) => t + COOLDOWN));
    const held: [string, number] | undefined = cooldown > it.at ? ['cooldown', cooldown]
      : liftsAfter(mine, PER_TARGET.window, PER_TARGET.max, it.at) !== undefined ? ['rate_limit', liftsAfter(mine, PER_TARGET.window, PER_TARGET.max, it.at) ?? 0]
        : liftsAfter(runs.map((x) => x.at), GLOBAL.window, GLOBAL.max, it.at) !== undefined ? ['global_rate_limit', liftsAfter(runs.map((x) => x.at), GLOBAL.window, GLOBAL.max, it.at) ?? 0] : undefined;
    if (!held) {
      runs.push({ target: it.target, at: it.at });
      bump(it.rule, 'wouldRun');
      if (it.deadline !== undefined) bump(it.rule, 'deferredThenRan');
      continue;
    }
    const deadline = it.deadline ?? it.at + MAX_DEFER;
    if (held[1] > deadline) {
      bump(it.rule, `skipped.${held[0]}`);
      if (it.deadline !== undefined) bump(it.rule, 'deferredGivenUp');
      continue;
    }
    if (it.deadline === undefined) bump(it.rule, `deferred.${held[0]}`);
    // Told of the resolution first: dropped then; else decided again when the guardrail lifts.
    queue.push({ ...it, at: Math.min(held[1], it.resolvedAt), deadline });
  }
  return out;
}

/** The report's per-rule numbers in the model's shape. */
function figures(report: BacktestReport): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of report.rules) {
    const m: Record<string, number> = {};
    const set = (k: string, n: number) => { if (n > 0) m[k] = n; };
    set('alerts', r.alerts);
    set('wouldRun', r.wouldRun);
    set('shadow', r.shadow);
    set('deferredThenRan', r.deferredThenRan);
    set('deferredDropped', r.deferredDropped);
    set('deferredGivenUp', r.deferredGivenUp);
    for (const [k, n] of Object.entries(r.deferred)) set(`deferred.${k}`, n ?? 0);
    for (const [k, n] of Object.entries(r.skipped)) set(`skipped.${k}`, n ?? 0);
    out.set(r.rule, m);
  }
  return out;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('selfheal replay --prometheus: a recorded week replayed through a policy (real Prometheus, promtool backfill)', () => {
  let stack: Stack;
  let work: string;
  let config: Config;
  let policyFile: string;
  const expected = model();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'selfheal-replay-prom-'));
    writeFileSync(join(work, 'week.om'), openMetrics());
    const dataDir = join(work, 'tsdb');
    const made = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', join(work, 'week.om'), dataDir], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`promtool create-blocks-from failed: ${made.stderr}${made.stdout}`);
    // No rules: the ALERTS series are the recorded ones only.
    stack = await startStack({ includeShippedRules: false, withAlertmanager: false, scrapeTargets: {}, prometheusDataDir: dataDir });
    policyFile = join(work, 'policy.yml');
    writeFileSync(policyFile, POLICY);
    config = parseConfigText(POLICY);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the model of the fixture says what each guardrail does (so the comparison below is not empty)', () => {
    expect(expected.get('checkout')).toEqual({ alerts: 8, wouldRun: 5, 'deferred.cooldown': 2, deferredThenRan: 1, deferredDropped: 1, 'skipped.cooldown': 1, 'skipped.rate_limit': 1 });
    expect(expected.get('cart')).toEqual({ alerts: 4, wouldRun: 3, 'skipped.cooldown': 1 });
    expect(expected.get('stock')).toEqual({ alerts: 2, wouldRun: 1, 'skipped.global_rate_limit': 1 });
    expect(expected.get('search')).toEqual({ alerts: 2, shadow: 2 });
    expect(expected.get('(no rule)')).toEqual({ alerts: 1 });
  });

  it('reads the week in chunks and reports per rule what the model computes from the fixture', async () => {
    const phases = new Set<string>();
    const report = await backtest(config, { prometheus: stack.prometheusUrl, since, until: end, chunkSeconds: DAY, onProgress: (p, done, total) => { if (done === total) phases.add(`${p} ${total}`); } });
    expect(figures(report)).toEqual(expected);
    expect(report.evaluationIntervalSeconds).toBe(STEP);
    expect(report.alerts).toMatchObject({ occurrences: 18, replayed: 17, firingBeforeWindow: 1, firingAtEnd: 1 });
    expect(phases).toContain('read 7');
    expect(report.rules.find((r) => r.rule === 'checkout')?.byAction).toEqual({ scale_up: 5 });
    expect(report.rules.find((r) => r.rule === 'cart')?.byAction).toEqual({ restart: 3 });
    // The alert as Alertmanager would have sent it: the shipped rule's annotations with the score it fired at.
    const i = HISTORY.findIndex((r) => r.service === 'inventory');
    const inventory = report.occurrences.find((o) => o.labels.service === 'inventory');
    expect(inventory).toMatchObject({ startsAt: new Date(HISTORY[i]!.at * 1000).toISOString(), score: scoreOf(i), peakScore: scoreOf(i), featureScore: scoreOf(i) - 0.25, rule: 'stock', result: 'healed' });
    // The 5-hour search alert, one incident: the firing notification, Alertmanager's repeat after repeat_interval
    // (4h), the resolved one.
    const long = report.occurrences.find((o) => o.labels.service === 'search');
    expect(long?.notifications).toBe(3);
    expect(report.ledger).toMatchObject({ read: false, why: expect.stringContaining('/nonexistent/selfheal-replay-test.db') });
  });

  it('a window with scores but no alert is a quiet result, not an error; one with no data at all is NoHistoryError naming the URL', async () => {
    const quiet = await backtest(config, { prometheus: stack.prometheusUrl, since: T(0, 1, 0), until: T(0, 2, 0) });
    expect(quiet.alerts.replayed).toBe(0);
    expect(quiet.rules).toEqual([]);
    const empty = backtest(config, { prometheus: stack.prometheusUrl, since: end - 30 * DAY, until: end - 20 * DAY });
    await expect(empty).rejects.toBeInstanceOf(NoHistoryError);
    await expect(empty).rejects.toThrow(`Prometheus ${stack.prometheusUrl} has no ALERTS{alertname="SelfhealAnomaly"} and no selfheal_anomaly_score samples`);
  });

  it('the built `selfheal replay --prometheus` prints the table and --json, and says what is wrong with exit codes', async () => {
    const window = ['--since', String(since), '--until', String(end)];
    const text = await run(['replay', '--config', policyFile, '--prometheus', stack.prometheusUrl, ...window]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^checkout\s+8\s+5 \(scale_up 5\)\s+0\s+2 cooldown\s+1\s+1\s+0\s+1 cooldown, 1 rate limit$/m);
    expect(text.stdout).toMatch(/^stock\s+2\s+1 \(scale_up 1\)\s+0\s+0\s+0\s+0\s+0\s+1 global rate limit$/m);
    expect(text.stdout).toContain('17 alert occurrence(s) of 10 alert(s) replayed');
    expect(text.stdout).toMatch(/checkout: 1 × rate limit: N actions on target "checkout" in the last N \(max N\); it cannot run within maxDefer/);
    const json = await run(['replay', '--config', policyFile, '--prometheus', stack.prometheusUrl, ...window, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(figures(JSON.parse(json.stdout) as BacktestReport)).toEqual(expected);

    const quiet = await run(['replay', '--config', policyFile, '--prometheus', stack.prometheusUrl, '--since', String(T(0, 1, 0)), '--until', String(T(0, 2, 0))]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toContain('No SelfhealAnomaly alert fired in this window');
    const empty = await run(['replay', '--config', policyFile, '--prometheus', stack.prometheusUrl, '--since', '30d', '--until', '20d']);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain(`Prometheus ${stack.prometheusUrl} has no ALERTS`);
    const port = await freePort();
    const down = await run(['replay', '--config', policyFile, '--prometheus', `http://127.0.0.1:${port}`, '--since', '1d']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`Prometheus http://127.0.0.1:${port}/api/v1/query`);
    const bad = await run(['replay', '--config', policyFile, '--prometheus', stack.prometheusUrl, '--since', 'last week']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--since: cannot read time "last week"/);
  });
});
