// Deciding, guarding, acting, verifying and escalating, end to end through the service over real HTTP, with
// Prometheus's query API and a Slack-compatible webhook served by small local servers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './support/clock.js';
import { eventually, payload, prometheusApi, startHealer, startServer, tempDir, type TestHealer, type TestServer } from './support/harness.js';

const servers: TestServer[] = [];
let svc: TestHealer | undefined;
afterEach(async () => {
  await svc?.close();
  svc = undefined;
  for (const s of servers.splice(0)) await s.close();
});

async function server(...args: Parameters<typeof startServer>) {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

function policy(adminUrl: string, extra: Record<string, unknown> = {}, rule: Record<string, unknown> = {}) {
  return {
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: {
      checkout: { actuator: 'admin', actions: {
        scale_up: { url: `${adminUrl}/scale` },
        restart: { url: `${adminUrl}/restart` },
        enable_cache: { url: `${adminUrl}/cache` },
      } },
    },
    rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', ...rule }],
    ...extra,
  };
}

const incidentOf = (s: TestHealer) => s.healer.sqlite!.listIncidents({})[0];
const events = (s: TestHealer) => s.healer.sqlite!.listAudit({}).reverse().map((r) => `${r.event}${r.action ? `:${r.action}` : ''}`);

describe('verification and escalation', () => {
  it('verifies with the default query on the alert\'s entity and marks the action succeeded', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const queries: string[] = [];
    let healed = false;
    const prom = await server(prometheusApi((q) => { queries.push(q); return healed ? [{ metric: { service: 'checkout' }, value: 0.4 }] : []; }));
    svc = await startHealer(policy(admin.url, { prometheus: { url: prom.url }, verify: { interval: '50ms', timeout: '10s' } }));
    await svc.post(payload([{}]));
    await eventually(() => queries.length >= 2, 5000, 'verification polls');
    expect(incidentOf(svc)?.phase).toBe('verifying');
    healed = true;
    await svc.healer.engine.idle();
    expect(queries[0]).toBe('selfheal_anomaly_score{ group="shop",service="checkout" } < 1');
    expect(incidentOf(svc)).toMatchObject({ phase: 'done', result: 'healed' });
    expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ action: 'scale_up', status: 'succeeded' });
    expect(events(svc)).toEqual(['received', 'matched', 'started:scale_up', 'applied:scale_up', 'succeeded:scale_up']);
  });

  it('on failed verification tries the next action, then notifies people once, and never loops', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const prom = await server(prometheusApi(() => []));
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    svc = await startHealer(policy(admin.url, { prometheus: { url: prom.url }, verify: { interval: '20ms', timeout: '150ms' }, escalation: { notify: { url: `${slack.url}/hooks/T000` } } }, { actions: ['scale_up', 'restart'] }));
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale', '/restart']);
    expect(incidentOf(svc)).toMatchObject({ result: 'escalated', phase: 'done' });
    expect(slack.requests).toHaveLength(1);
    const msg = JSON.parse(slack.requests[0]!.body) as { text: string; attachments: { fields: { title: string; value: string }[] }[] };
    expect(msg.text).toMatch(/could not heal checkout: every action failed \(scale_up -> restart\)/);
    expect(msg.attachments[0]?.fields).toContainEqual({ title: 'service', value: 'checkout', short: true });
    expect(events(svc)).toEqual(['received', 'matched', 'started:scale_up', 'applied:scale_up', 'failed:scale_up', 'started:restart', 'applied:restart', 'failed:restart', 'escalated']);
    // Re-sent notifications do not restart the chain.
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(2);
    expect(slack.requests).toHaveLength(1);
  });

  it('tells people when the next action is held back by a guardrail after a failure', async () => {
    const admin = await server((_q, _b, res) => { res.statusCode = 503; res.end('down'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    svc = await startHealer(policy(admin.url, { escalation: { notify: { url: slack.url } }, guardrails: { cooldown: 0, rateLimits: { perTarget: [{ window: '1h', max: 1 }], global: [] } } }, { actions: ['scale_up', 'restart'] }));
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale']);
    expect(incidentOf(svc)).toMatchObject({ result: 'escalated' });
    // The rate limit lifts in an hour, past maxDefer (30m by default): no point waiting, people are told now.
    expect(JSON.parse(slack.requests[0]?.body ?? '{}').text).toMatch(/scale_up failed and restart was held back: rate limit: 1 actions on target "checkout" in the last 60m \(max 1\); it cannot run within maxDefer \(30m after it was first held back\)/);
  });

  it('a resolved notification ends verification as succeeded', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const prom = await server(prometheusApi(() => []));
    svc = await startHealer(policy(admin.url, { prometheus: { url: prom.url }, verify: { interval: '5s', timeout: '1m' } }));
    await svc.post(payload([{}]));
    await eventually(() => incidentOf(svc!)?.phase === 'verifying', 5000, 'verifying');
    await svc.post(payload([{ status: 'resolved' }]));
    await svc.healer.engine.idle();
    expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ status: 'succeeded', reason: `POST ${admin.url}/scale answered 200; the alert resolved` });
  });

  it('falls back to the feature\'s default action when the rule lists none', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    svc = await startHealer(policy(admin.url));
    await svc.post(payload([{ labels: { service: 'checkout', feature: 'latency_p99', alertname: 'SelfhealAnomaly' } }]));
    await svc.healer.engine.idle();
    expect(admin.requests.map((r) => r.url)).toEqual(['/cache']);
  });
});

describe('Grafana annotations', () => {
  it('writes one annotation per finished action through Grafana\'s HTTP API with the token from the file', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const grafana = await server((_q, _b, res) => { res.setHeader('content-type', 'application/json'); res.end('{"message":"Annotation added","id":1}'); });
    const dir = tempDir();
    writeFileSync(join(dir, 'grafana-token'), 'glsa_testtoken\n');
    svc = await startHealer(policy(admin.url, { grafana: { url: grafana.url, tokenFile: join(dir, 'grafana-token') } }), { dir });
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    await eventually(() => grafana.requests.length === 1, 5000, 'the annotation');
    const req = grafana.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', url: '/api/annotations' });
    expect(req.headers.authorization).toBe('Bearer glsa_testtoken');
    const body = JSON.parse(req.body) as { time: number; tags: string[]; text: string };
    expect(body.tags).toEqual(['selfheal', 'service:checkout', 'action:scale_up', 'outcome:succeeded']);
    expect(body.text).toMatch(/^selfheal scale_up on checkout \(checkout\): succeeded/);
    expect(Math.abs(body.time - Date.now())).toBeLessThan(60_000);
  });
});

describe('guardrails', () => {
  it('dry-run records what would have been done and calls nothing', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    svc = await startHealer(policy(admin.url, {}, { dryRun: true }));
    await svc.post(payload([{}]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(0);
    expect(svc.healer.sqlite!.listActions({})[0]).toMatchObject({ status: 'dry_run', reason: `dry run: would POST ${admin.url}/scale` });
    expect(await (await fetch(`${svc.url}/metrics`)).text()).toMatch(/selfheal_healing_actions_total\{service="checkout",action="scale_up",outcome="dry_run"\} 1/);
  });

  it('the blast-radius precondition must hold; if Prometheus cannot answer, nothing runs', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    let answer: 'yes' | 'no' | 'error' = 'no';
    const prom = await server(prometheusApi((q) => {
      if (!q.startsWith('count')) return [{ metric: { service: 'checkout' }, value: 0.2 }];
      if (answer === 'error') return new Error('parse error');
      return answer === 'yes' ? [{ metric: {}, value: 0.75 }] : [];
    }));
    svc = await startHealer(policy(admin.url, { prometheus: { url: prom.url }, guardrails: { cooldown: 0 } }, { precondition: 'count(up{job="{{ labels.service }}"} == 1) / count(up{job="{{ labels.service }}"}) >= 0.5' }));
    await svc.post(payload([{ fingerprint: 'aa' }]));
    await svc.healer.engine.idle();
    answer = 'error';
    await svc.post(payload([{ fingerprint: 'bb' }]));
    await svc.healer.engine.idle();
    answer = 'yes';
    await svc.post(payload([{ fingerprint: 'cc' }]));
    await svc.healer.engine.idle();
    const reasons = svc.healer.sqlite!.listActions({}).reverse().map((a) => `${a.status}: ${a.reason}`);
    expect(reasons[0]).toMatch(/^skipped: blast-radius guard: precondition count\(up\{job="checkout"\} == 1\).* does not hold/);
    expect(reasons[1]).toMatch(/^skipped: blast-radius precondition could not be evaluated: .*parse error/);
    expect(reasons[2]).toMatch(/^succeeded/);
    expect(admin.requests).toHaveLength(1);
  });

  it('rate limits over several windows per target and globally, durable across restarts', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const raw = policy(admin.url, { guardrails: { cooldown: 0, maxConcurrent: 5, rateLimits: { perTarget: [{ window: '1h', max: 2 }, { window: '1d', max: 3 }], global: [{ window: '1h', max: 10 }] } } });
    svc = await startHealer(raw);
    for (const fp of ['01', '02', '03']) {
      await svc.post(payload([{ fingerprint: fp }]));
      await svc.healer.engine.idle();
    }
    expect(admin.requests).toHaveLength(2);
    expect(svc.healer.sqlite!.listActions({})[0]?.reason).toMatch(/rate limit: 2 actions on target "checkout" in the last 60m \(max 2\)/);
    // Restart: the limit is still there (it lives in the store, not in memory).
    const dir = svc.dir;
    await svc.stop();
    svc = await startHealer(raw, { dir });
    await svc.post(payload([{ fingerprint: '04' }]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(2);
    // Age the actions past the hourly window: the daily one (max 3) still allows one more.
    svc.healer.sqlite!.db.prepare('UPDATE actions SET started_at = started_at - 7200').run();
    await svc.post(payload([{ fingerprint: '05' }]));
    await svc.post(payload([{ fingerprint: '06' }]));
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(3);
    expect(svc.healer.sqlite!.listActions({})[0]?.reason).toMatch(/rate limit: 3 actions on target "checkout" in the last 24.0h \(max 3\)/);
  });

  it('a global budget and max concurrency apply across targets; an action held back by concurrency runs when capacity frees', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const admin = await server(async (_q, _b, res) => { await gate; res.end('ok'); });
    const raw = policy(admin.url, { guardrails: { cooldown: 0, maxConcurrent: 1, rateLimits: { perTarget: [], global: [{ window: '1h', max: 2 }] } } }, { target: '{{ labels.service }}' });
    (raw.targets as Record<string, unknown>).payments = (raw.targets as Record<string, unknown>).checkout;
    (raw.rules[0] as { matchers: string[] }).matchers = [];
    // A clock that does not move: the deferred action can only be decided again because the first one ended.
    const clock = new ManualClock();
    svc = await startHealer(raw, { clock });
    await svc.post(payload([{ fingerprint: '01', labels: { service: 'checkout', feature: 'cpu' } }]));
    await eventually(() => admin.requests.length === 1, 5000, 'first action in flight');
    await svc.post(payload([{ fingerprint: '02', labels: { service: 'payments', feature: 'cpu' } }]));
    await eventually(() => svc!.healer.sqlite!.listActions({}).length === 2, 5000, 'second decision');
    expect(svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === '02')).toMatchObject({ phase: 'deferred' });
    release();
    await eventually(() => admin.requests.length === 2, 5000, 'the deferred action, once capacity freed');
    await svc.healer.engine.idle();
    await svc.post(payload([{ fingerprint: '03', labels: { service: 'payments', feature: 'cpu' } }]));
    await svc.healer.engine.idle();
    const reasons = svc.healer.sqlite!.listActions({}).reverse().map((a) => `${a.status}: ${a.reason}`);
    expect(reasons[0]).toMatch(/^succeeded/);
    expect(reasons[1]).toMatch(/^deferred: max concurrent actions reached \(1 of 1 in flight\)/);
    expect(reasons[2]).toMatch(/^succeeded/);
    // The global budget (2 an hour) frees up only in an hour, past maxDefer: given up at once, people told.
    expect(reasons[3]).toMatch(/^skipped: global rate limit: 2 actions in the last 60m \(max 2\); it cannot run within maxDefer/);
    expect(svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === '03')).toMatchObject({ phase: 'done', result: 'escalated' });
    expect(admin.requests).toHaveLength(2);
  });

  it('alert labels cannot choose a target the policy does not define', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    svc = await startHealer(policy(admin.url, {}, { target: '{{ labels.service }}', matchers: [] }));
    for (const [i, service] of ['../checkout', 'constructor', '__proto__x', 'payments'].entries()) {
      await svc.post(payload([{ fingerprint: `0${i}`, labels: { service, feature: 'cpu' } }]));
    }
    await svc.healer.engine.idle();
    expect(admin.requests).toHaveLength(0);
    const reasons = svc.healer.sqlite!.listIncidents({}).map((i) => i.reason);
    expect(reasons.every((r) => /is not one of the policy's targets/.test(r ?? ''))).toBe(true);
  });

  it('a pause file stops every action until it is removed', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const raw = policy(admin.url, { guardrails: { cooldown: 0 } });
    svc = await startHealer({ ...raw });
    const pauseFile = join(svc.dir, 'pause');
    const dir = svc.dir;
    await svc.stop();
    svc = await startHealer({ ...raw, pauseFile }, { dir });
    writeFileSync(pauseFile, '');
    await svc.post(payload([{ fingerprint: '01' }]));
    await svc.healer.engine.idle();
    expect(svc.healer.sqlite!.listActions({})[0]?.reason).toBe(`paused (pause file ${pauseFile} exists)`);
    expect(admin.requests).toHaveLength(0);
  });
});
