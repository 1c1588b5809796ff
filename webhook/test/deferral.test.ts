// An action held back by a guardrail that lifts by itself (cooldown, rate window, concurrency) is deferred and
// decided again when it lifts, as long as its alert still fires; dropped (and recorded) when the alert resolves
// first; escalated when it cannot run before maxDefer; and the deferral survives a restart. Real HTTP, the real
// SQLite store, and a clock the test moves (no wall-clock sleeps): nothing happens until the test moves time.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './support/clock.js';
import { eventually, payload, startHealer, startServer, type TestHealer, type TestServer } from './support/harness.js';

const servers: TestServer[] = [];
const healers: TestHealer[] = [];
afterEach(async () => {
  for (const h of healers.splice(0)) await h.close();
  for (const s of servers.splice(0)) await s.close();
});

async function server(...args: Parameters<typeof startServer>) {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

const checkout = (fingerprint: string, status: 'firing' | 'resolved' = 'firing') =>
  payload([{ fingerprint, status, labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'mem', group: 'shop' } }]);

function policy(adminUrl: string, slackUrl: string, guardrails: Record<string, unknown> = {}) {
  return {
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { restart: { url: `${adminUrl}/restart` } } } },
    rules: [{ name: 'checkout', matchers: ['service = checkout'], target: 'checkout', actions: ['restart'], verify: false }],
    guardrails: { cooldown: '60s', maxDefer: '5m', ...guardrails },
    escalation: { notify: { url: `${slackUrl}/hooks/T000` } },
  };
}

async function start(raw: Record<string, unknown>, clock: ManualClock, dir?: string): Promise<TestHealer> {
  const h = await startHealer(raw, { clock, ...(dir ? { dir } : {}) });
  healers.push(h);
  return h;
}

type Row = Record<string, unknown>;
const incident = async (svc: TestHealer, fingerprint: string) => ((await svc.get('/api/v1/incidents')).body.data as Row[]).find((i) => i.fingerprint === fingerprint);
const auditOf = async (svc: TestHealer, fingerprint: string) => {
  const id = (await incident(svc, fingerprint))?.id;
  return ((await svc.get(`/api/v1/audit?incident=${String(id)}`)).body.data as Row[]).reverse();
};
const metric = async (svc: TestHealer, series: string) => {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** A repaired, then a repeat inside the cooldown: returns when the repeat is deferred. */
async function repeatInsideCooldown(svc: TestHealer, admin: TestServer): Promise<number> {
  expect((await svc.post(checkout('first'))).status).toBe(200);
  await svc.healer.engine.idle();
  expect(admin.requests).toHaveLength(1);
  const firstAction = ((await svc.get('/api/v1/actions')).body.data as Row[])[0];
  expect(firstAction).toMatchObject({ status: 'succeeded' });
  expect((await svc.post(checkout('repeat'))).status).toBe(200);
  await eventually(async () => (await incident(svc, 'repeat'))?.phase === 'deferred', 5000, 'the repeat to be deferred');
  await eventually(() => svc.healer.engine.waitingDeferred === 1, 5000, 'the engine to wait on the deferral');
  return Number(firstAction?.started_at) + 60;
}

describe('a guardrail that lifts defers the action, which is decided again when it lifts', () => {
  it('defer -> re-decide -> act: the repeat inside the cooldown is healed once the cooldown ends', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url), clock);
    const cooldownEnd = await repeatInsideCooldown(svc, admin);

    // Visible as deferred: the incident (phase, until when), its audit, the actions API, the metrics.
    const deferred = await incident(svc, 'repeat');
    expect(deferred).toMatchObject({ phase: 'deferred', result: null, deferred_until: cooldownEnd, defer_deadline: clock.now() + 300 });
    expect(String(deferred?.reason)).toMatch(/^deferred: cooldown: target "checkout" acted on recently; 60s left; decided again at /);
    expect((await auditOf(svc, 'repeat')).map((r) => r.event)).toEqual(['received', 'matched', 'deferred']);
    expect(((await svc.get('/api/v1/actions')).body.data as Row[])[0]).toMatchObject({ status: 'deferred', action: 'restart', reason: 'cooldown: target "checkout" acted on recently; 60s left' });
    expect(await metric(svc, 'selfheal_healing_deferred_actions')).toBe(1);
    expect(await metric(svc, 'selfheal_healing_guardrail_refusals_total{reason="cooldown",decision="deferred"}')).toBe(1);
    expect(await metric(svc, 'selfheal_healing_actions_total{service="checkout",action="restart",outcome="deferred"}')).toBe(1);

    // Alertmanager re-sends the still-firing alert: a duplicate, nothing new; the engine still waits for the cooldown.
    expect((await svc.post(checkout('repeat'))).body).toMatchObject({ duplicate: 1 });
    clock.advance(cooldownEnd - 1 - clock.now());
    expect(clock.nextWake).toBe(cooldownEnd);
    expect(admin.requests).toHaveLength(1);

    clock.advance(1);
    await eventually(() => admin.requests.length === 2, 5000, 'the deferred action once the cooldown ended');
    await svc.healer.engine.idle();
    expect(await incident(svc, 'repeat')).toMatchObject({ phase: 'done', result: 'healed', deferred_until: null });
    expect((await auditOf(svc, 'repeat')).map((r) => r.event)).toEqual(['received', 'matched', 'deferred', 'started', 'applied', 'succeeded']);
    const actions = ((await svc.get('/api/v1/actions')).body.data as Row[]).reverse().map((a) => `${String(a.status)}@${Number(a.started_at) - cooldownEnd}`);
    expect(actions).toEqual(['succeeded@-60', 'deferred@-60', 'succeeded@0']);
    expect(await metric(svc, 'selfheal_healing_deferred_actions')).toBe(0);
    expect(slack.requests).toHaveLength(0);
  });

  it('defer -> alert resolved -> dropped, and recorded', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url), clock);
    await repeatInsideCooldown(svc, admin);
    expect((await svc.post(checkout('repeat', 'resolved'))).body).toMatchObject({ resolved: 1 });
    await eventually(async () => (await incident(svc, 'repeat'))?.phase === 'done', 5000, 'the deferred action to be dropped');
    await svc.healer.engine.idle();
    expect(await incident(svc, 'repeat')).toMatchObject({ result: 'resolved', reason: 'the alert resolved while restart was deferred; not run' });
    const audit = await auditOf(svc, 'repeat');
    expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'deferred', 'resolved', 'dropped']);
    expect(audit[4]).toMatchObject({ action: 'restart', reason: 'the alert resolved while restart was deferred; not run' });
    // Nothing is left waiting, so moving past the cooldown does nothing.
    expect(clock.waiting).toBe(0);
    expect(svc.healer.engine.waitingDeferred).toBe(0);
    expect(admin.requests).toHaveLength(1);
    expect(slack.requests).toHaveLength(0);
  });

  it('defer -> deadline -> escalated: a guardrail with no known end (maxConcurrent) that outlasts maxDefer', async () => {
    const held: (() => void)[] = [];
    const admin = await server((_q, _b, res) => { held.push(() => res.end('ok')); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const raw = policy(admin.url, slack.url, { cooldown: 0, maxConcurrent: 1, maxDefer: '90s' });
    raw.targets = { ...raw.targets, payments: raw.targets.checkout } as typeof raw.targets;
    raw.rules = [{ ...raw.rules[0]!, matchers: [], target: '{{ labels.service }}' }];
    const svc = await start(raw, clock);
    // checkout's action stays in flight (the admin API does not answer yet): payments' is held back by maxConcurrent.
    await svc.post(checkout('busy'));
    await eventually(() => held.length === 1, 5000, 'the first action in flight');
    await svc.post(payload([{ fingerprint: 'waiting', labels: { alertname: 'SelfhealAnomaly', service: 'payments', feature: 'mem' } }]));
    await eventually(async () => (await incident(svc, 'waiting'))?.phase === 'deferred', 5000, 'the deferral');
    const deadline = Number((await incident(svc, 'waiting'))?.defer_deadline);
    // Re-checked every few seconds while it lasts: still held back, still deferred (one audit record, not one a check).
    for (let i = 0; i < 3; i++) {
      await eventually(() => clock.nextWake !== undefined, 5000, 'the engine to wait');
      clock.advance((clock.nextWake ?? clock.now()) - clock.now());
    }
    await eventually(async () => Number((await incident(svc, 'waiting'))?.deferred_until) >= clock.now() + 5, 5000, 'a re-check');
    expect((await incident(svc, 'waiting'))?.phase).toBe('deferred');
    clock.advance(deadline - clock.now());
    await eventually(async () => (await incident(svc, 'waiting'))?.phase === 'done', 5000, 'the escalation at the deadline');
    expect(await incident(svc, 'waiting')).toMatchObject({ result: 'escalated' });
    expect((await auditOf(svc, 'waiting')).map((r) => r.event)).toEqual(['received', 'matched', 'deferred', 'skipped', 'escalated']);
    expect(slack.requests).toHaveLength(1);
    expect(JSON.parse(slack.requests[0]!.body).text).toMatch(/could not heal payments: restart was held back: max concurrent actions reached \(1 of 1 in flight\); it cannot run within maxDefer \(90s after it was first held back\)/);
    expect(await metric(svc, 'selfheal_healing_guardrail_refusals_total{reason="max_concurrent",decision="escalated"}')).toBe(1);
    expect(admin.requests).toHaveLength(1);
    for (const release of held) release();
    await svc.healer.engine.idle();
  });

  it('a deferral survives a restart: the new process waits for the same end and acts once', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const raw = policy(admin.url, slack.url);
    const first = await start(raw, clock);
    const cooldownEnd = await repeatInsideCooldown(first, admin);
    await first.stop();

    const later = new ManualClock(clock.now() + 10);
    const second = await start(raw, later, first.dir);
    await eventually(() => second.healer.engine.waitingDeferred === 1, 5000, 'the restarted service to resume the deferral');
    expect(later.nextWake).toBe(cooldownEnd);
    expect(admin.requests).toHaveLength(1);
    later.advance(cooldownEnd - later.now());
    await eventually(() => admin.requests.length === 2, 5000, 'the deferred action after the restart');
    await second.healer.engine.idle();
    expect(await incident(second, 'repeat')).toMatchObject({ phase: 'done', result: 'healed' });
    expect((await auditOf(second, 'repeat')).map((r) => r.event)).toEqual(['received', 'matched', 'deferred', 'started', 'applied', 'succeeded']);
  });

  it('a guardrail that does not lift by itself (pause), or maxDefer: 0, still skips at once', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url, { maxDefer: 0 }), clock);
    await svc.post(checkout('first'));
    await svc.healer.engine.idle();
    await svc.post(checkout('repeat'));
    await svc.healer.engine.idle();
    expect(await incident(svc, 'repeat')).toMatchObject({ phase: 'done', result: 'skipped' });
    expect(await metric(svc, 'selfheal_healing_guardrail_refusals_total{reason="cooldown",decision="skipped"}')).toBe(1);
    await fetch(`${svc.url}/api/v1/pause`, { method: 'POST', headers: { authorization: `Bearer test-token-0123456789abcdef`, 'content-type': 'application/json' }, body: '{"paused": true}' });
    await svc.post(checkout('paused'));
    await svc.healer.engine.idle();
    expect(await incident(svc, 'paused')).toMatchObject({ phase: 'done', result: 'skipped', reason: 'paused (api)' });
    expect(await metric(svc, 'selfheal_healing_guardrail_refusals_total{reason="paused",decision="skipped"}')).toBe(1);
    expect(clock.waiting).toBe(0);
  });
});
