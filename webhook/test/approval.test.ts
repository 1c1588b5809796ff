// Trust levels (issue 17): an action in `approve` mode waits for a person. Real HTTP (the approvals API, the admin API
// the action calls, the Slack-compatible notification webhook), the real store — SQLite, and a REAL PostgreSQL
// (Debian's postgresql, temporary data directory, a database per test) — and a clock the test moves for expiry and
// guardrails (no sleeps). Approve -> runs once with the approver in the audit; reject -> skipped; expiry ->
// escalated; 404 / 409 / 401 / 400 named; guardrails checked again at approval time; a resolved alert cancels; a
// restart keeps the pending approval; two replicas never run it twice.
import { ConfigError, parseApprovalsResponse } from '@selfheal/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { APPROVAL_RECHECK_SECONDS } from '../src/engine/approval.js';
import { Policy, templateVars } from '../src/policy/policy.js';
import { ManualClock } from './support/clock.js';
import { eventually, payload, startHealer, startServer, TOKEN, type TestHealer, type TestServer } from './support/harness.js';
import { postgresGate, queryPostgres, startPostgres, type PostgresServer } from './support/postgres.js';

const gate = postgresGate('the approval tests on PostgreSQL');
if (gate.failure) {
  describe('approvals on PostgreSQL', () => {
    it('needs PostgreSQL', () => { throw new Error(gate.failure); });
  });
}

let pgServer: PostgresServer | undefined;
let databases = 0;
const servers: TestServer[] = [];
const healers: TestHealer[] = [];
afterEach(async () => {
  for (const h of healers.splice(0)) await h.close();
  for (const s of servers.splice(0)) await s.close();
});
afterAll(async () => { await pgServer?.stop(); }, 60_000);

async function server(...args: Parameters<typeof startServer>) {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

type Row = Record<string, unknown>;
type Kind = 'sqlite' | 'postgres';

const memory = (fingerprint: string, status: 'firing' | 'resolved' = 'firing') => payload([{
  fingerprint, status, labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'memory_rss', group: 'shop' },
  annotations: { summary: 'Anomaly in checkout, driven by memory_rss', anomaly_score: '2.345' },
}]);
const cpu = (fingerprint: string) => payload([{ fingerprint, labels: { alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu', group: 'shop' } }]);

/** The store of a test: SQLite in the healer's directory (the harness's default), or a new PostgreSQL database. */
async function storeConfig(kind: Kind): Promise<Record<string, unknown>> {
  if (kind === 'sqlite' || !pgServer) return {};
  const db = `approvals_${++databases}`;
  await queryPostgres(pgServer.url, `CREATE DATABASE ${db}`);
  return { store: { url: pgServer.url.replace(/\/selfheal$/, `/${db}`), lease: '1s' } };
}

function policy(adminUrl: string, slackUrl: string, store: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    ...store,
    externalUrl: 'https://selfheal.example/',
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { restart: { url: `${adminUrl}/restart` }, scale_up: { url: `${adminUrl}/scale` } } } },
    rules: [
      { name: 'memory', matchers: ['feature = memory_rss'], target: 'checkout', actions: ['restart'], verify: false, mode: 'approve', approvalTimeout: '10m' },
      { name: 'cpu', matchers: ['feature = cpu'], target: 'checkout', actions: ['scale_up'], verify: false },
    ],
    guardrails: { cooldown: '60s' },
    escalation: { notify: { url: `${slackUrl}/hooks/T000` } },
    ...extra,
  };
}

async function start(raw: Record<string, unknown>, clock: ManualClock, dir?: string): Promise<TestHealer> {
  const h = await startHealer(raw, { clock, ...(dir ? { dir } : {}) });
  healers.push(h);
  return h;
}

async function decide(svc: TestHealer, id: number | string, body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: Row }> {
  const res = await fetch(`${svc.url}/api/v1/approvals/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Row };
}

const incident = async (svc: TestHealer, fingerprint: string) => ((await svc.get('/api/v1/incidents')).body.data as Row[]).find((i) => i.fingerprint === fingerprint);
const auditOf = async (svc: TestHealer, fingerprint: string) => {
  const id = (await incident(svc, fingerprint))?.id;
  return ((await svc.get(`/api/v1/audit?incident=${String(id)}`)).body.data as Row[]).reverse();
};
const actionsOf = async (svc: TestHealer, fingerprint: string) => {
  const id = (await incident(svc, fingerprint))?.id;
  return ((await svc.get('/api/v1/actions')).body.data as Row[]).filter((a) => a.incident_id === id).reverse();
};
const approvals = async (svc: TestHealer, query = '') => parseApprovalsResponse((await svc.get(`/api/v1/approvals${query}`)).body);
const metric = async (svc: TestHealer, series: string) => {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** Posts the memory alert and returns its pending approval once the engine waits on it. */
async function pending(svc: TestHealer, fingerprint: string) {
  expect((await svc.post(memory(fingerprint))).status).toBe(200);
  await eventually(async () => (await incident(svc, fingerprint))?.phase === 'awaiting_approval', 10_000, 'the action to await approval');
  await eventually(() => svc.healer.engine.waitingApproval === 1, 10_000, 'the engine to wait on the approval');
  const [approval] = await approvals(svc, '?status=pending');
  if (!approval) throw new Error('no pending approval');
  return approval;
}

describe.each<Kind>(['sqlite', 'postgres'])('approve mode (%s store)', (kind) => {
  const skip = kind === 'postgres' && gate.skip !== undefined;
  beforeAll(async () => {
    if (kind === 'postgres' && !skip && !pgServer) pgServer = await startPostgres();
  }, 60_000);

  it.skipIf(skip)('approved through the API: runs once, the audit names who approved and why; the notification carries the evidence and the link', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), clock);
    const approval = await pending(svc, 'ap01');
    expect(approval).toMatchObject({
      status: 'pending', service: 'checkout', action: 'restart', target: 'checkout', rule: 'memory', step: 0, decided_by: null,
      expires_at: approval.requested_at + 600, evidence: { alert: 'SelfhealAnomaly', feature: 'memory_rss', score: '2.345' },
    });
    expect(admin.requests).toHaveLength(0);
    expect(await metric(svc, 'selfheal_healing_pending_approvals')).toBe(1);
    expect(await metric(svc, 'selfheal_healing_actions_total{service="checkout",action="restart",outcome="pending_approval"}')).toBe(1);
    expect(((await actionsOf(svc, 'ap01')).map((a) => a.status))).toEqual(['pending_approval']);

    // People are told: the pending action, its evidence (alert, feature, score) and the approve link.
    await eventually(() => slack.requests.length === 1, 5000, 'the approval notification');
    const notice = JSON.parse(slack.requests[0]!.body) as { text: string; attachments: { fields: { title: string; value: string }[] }[] };
    const link = `https://selfheal.example/api/v1/approvals/${approval.id}`;
    expect(notice.text).toBe(`:raised_hand: Selfheal asks to approve restart on checkout (checkout) for SelfhealAnomaly (feature memory_rss, score 2.345). Approve or reject before ${new Date(approval.expires_at * 1000).toISOString()}: ${link}`);
    const fields = Object.fromEntries(notice.attachments[0]!.fields.map((f) => [f.title, f.value]));
    expect(fields).toMatchObject({ approval: String(approval.id), action: 'restart', feature: 'memory_rss', score: '2.345', alert: 'SelfhealAnomaly', approve: link });

    const approved = await decide(svc, approval.id, { decision: 'approve', by: 'alice', reason: 'memory leak, known fix' });
    expect(approved.status).toBe(200);
    expect(approved.body.data).toMatchObject({ status: 'approved', decided_by: 'alice', decision_reason: 'memory leak, known fix' });
    await eventually(() => admin.requests.length === 1, 10_000, 'the approved action');
    await svc.healer.engine.idle();
    expect(await incident(svc, 'ap01')).toMatchObject({ phase: 'done', result: 'healed' });
    const audit = await auditOf(svc, 'ap01');
    expect(audit.map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'approved', 'started', 'applied', 'succeeded']);
    expect(audit[3]).toMatchObject({ action: 'restart', reason: 'approved by alice: memory leak, known fix', detail: { approval: approval.id, by: 'alice', reason: 'memory leak, known fix' } });
    expect((await actionsOf(svc, 'ap01')).map((a) => `${String(a.status)}: ${String(a.reason)}`)).toEqual([
      'approved: approved by alice: memory leak, known fix', `succeeded: POST ${admin.url}/restart answered 200; applied (verification disabled by the rule)`,
    ]);

    // Already decided: 409, named, and nothing runs again.
    const again = await decide(svc, approval.id, { decision: 'approve', by: 'bob' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'SELFHEAL_APPROVAL_ALREADY_DECIDED' });
    expect(String(again.body.error)).toMatch(new RegExp(`^approval ${approval.id} was already decided: approved by alice at \\S+ \\(memory leak, known fix\\)$`));
    expect(await metric(svc, 'selfheal_healing_actions_total{service="checkout",action="restart",outcome="approved"}')).toBe(1);
    expect(await metric(svc, 'selfheal_healing_pending_approvals')).toBe(0);
    expect(admin.requests).toHaveLength(1);
  }, 30_000);

  it.skipIf(skip)('bad requests get named errors: unknown id 404, no credentials 401, a bad body or id 400', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), new ManualClock());
    const approval = await pending(svc, 'ap02');
    expect(await decide(svc, 999999, { decision: 'approve', by: 'alice' })).toEqual({ status: 404, body: { status: 'error', code: 'SELFHEAL_APPROVAL_NOT_FOUND', error: 'no approval with id 999999' } });
    expect(await decide(svc, 9999999999, { decision: 'approve', by: 'alice' })).toMatchObject({ status: 404, body: { code: 'SELFHEAL_APPROVAL_NOT_FOUND', error: 'no approval with id 9999999999' } });
    expect((await svc.get('/api/v1/approvals/9999999999')).status).toBe(404);
    const unauthenticated = await decide(svc, approval.id, { decision: 'approve', by: 'mallory' }, null);
    expect(unauthenticated).toMatchObject({ status: 401, body: { code: 'SELFHEAL_UNAUTHORIZED' } });
    expect(await decide(svc, approval.id, { decision: 'approve', by: 'mallory' }, 'wrong-token-0123456789abcdef')).toMatchObject({ status: 401 });
    expect((await fetch(`${svc.url}/api/v1/approvals`)).status).toBe(401);
    expect(await decide(svc, approval.id, { decision: 'yes', by: 'alice' })).toMatchObject({ status: 400, body: { code: 'SELFHEAL_INVALID_APPROVAL_BODY', error: 'decision: must be "approve" or "reject"; the body is {"decision": "approve" | "reject", "by": "<who>", "reason"?: "<why>"}' } });
    expect(await decide(svc, approval.id, { decision: 'approve' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^by: must name who decides/) } });
    expect(await decide(svc, 'abc', { decision: 'approve', by: 'alice' })).toMatchObject({ status: 400, body: { code: 'SELFHEAL_INVALID_APPROVAL_ID', error: 'approval id "abc" is not a positive integer' } });
    expect((await svc.get('/api/v1/approvals?status=maybe')).body).toMatchObject({ code: 'SELFHEAL_INVALID_APPROVAL_STATUS' });
    expect((await svc.get('/api/v1/approvals/424242')).status).toBe(404);
    // None of it decided anything.
    expect((await approvals(svc))[0]).toMatchObject({ id: approval.id, status: 'pending' });
    expect(admin.requests).toHaveLength(0);
  }, 30_000);

  it.skipIf(skip)('rejected: not run, the incident is skipped with who and why', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), new ManualClock());
    const approval = await pending(svc, 'ap03');
    expect((await decide(svc, approval.id, { decision: 'reject', by: 'bob', reason: 'deploy in progress' })).status).toBe(200);
    await eventually(() => svc.healer.engine.waitingApproval === 0, 10_000, 'the wait to end');
    await svc.healer.engine.idle();
    expect(await incident(svc, 'ap03')).toMatchObject({ phase: 'done', result: 'skipped', reason: 'restart rejected by bob: deploy in progress' });
    expect((await auditOf(svc, 'ap03')).map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'rejected']);
    expect((await actionsOf(svc, 'ap03')).map((a) => a.status)).toEqual(['rejected']);
    expect(await metric(svc, 'selfheal_healing_actions_total{service="checkout",action="restart",outcome="rejected"}')).toBe(1);
    expect((await decide(svc, approval.id, { decision: 'approve', by: 'alice' })).body).toMatchObject({ code: 'SELFHEAL_APPROVAL_ALREADY_DECIDED' });
    expect(admin.requests).toHaveLength(0);
  }, 30_000);

  it.skipIf(skip)('nobody decides within approvalTimeout: expired, escalated to people, and too late to approve', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), clock);
    const approval = await pending(svc, 'ap04');
    clock.advance(599);
    expect(await incident(svc, 'ap04')).toMatchObject({ phase: 'awaiting_approval' });
    clock.advance(1);
    await eventually(async () => (await incident(svc, 'ap04'))?.phase === 'done', 10_000, 'the expiry');
    expect(await incident(svc, 'ap04')).toMatchObject({ result: 'escalated' });
    expect((await auditOf(svc, 'ap04')).map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'expired', 'escalated']);
    expect((await actionsOf(svc, 'ap04')).map((a) => a.status)).toEqual(['expired']);
    expect(slack.requests).toHaveLength(2);
    expect(JSON.parse(slack.requests[1]!.body).text).toBe(':rotating_light: Selfheal could not heal checkout: restart was not approved within 10m (approval '
      + `${approval.id} expired). A person is needed.`);
    const late = await decide(svc, approval.id, { decision: 'approve', by: 'alice' });
    expect(late).toMatchObject({ status: 409, body: { code: 'SELFHEAL_APPROVAL_ALREADY_DECIDED' } });
    expect(String(late.body.error)).toMatch(/was already decided: expired at /);
    expect(await metric(svc, 'selfheal_healing_actions_total{service="checkout",action="restart",outcome="expired"}')).toBe(1);
    expect(admin.requests).toHaveLength(0);
  }, 30_000);

  it.skipIf(skip)('guardrails are checked again at approval time: a cooldown that started meanwhile defers the approved action', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const raw = policy(admin.url, slack.url, await storeConfig(kind));
    const svc = await start(raw, clock);
    const approval = await pending(svc, 'ap05');
    // Meanwhile an automatic action on the same target starts its cooldown.
    expect((await svc.post(cpu('ap05c'))).body).toMatchObject({ new: 1 });
    await eventually(async () => (await incident(svc, 'ap05c'))?.result === 'healed', 10_000, 'the automatic action');
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale']);
    expect((await decide(svc, approval.id, { decision: 'approve', by: 'alice' })).status).toBe(200);
    await eventually(async () => (await incident(svc, 'ap05'))?.phase === 'deferred', 10_000, 'the approved action to be held back');
    expect(String((await incident(svc, 'ap05'))?.reason)).toMatch(/^deferred: cooldown: target "checkout" acted on recently; 60s left/);
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale']);
    // The approval stands, also across a restart (the deferral keeps its deadline): once the cooldown ends, it runs, once.
    await eventually(() => svc.healer.engine.waitingDeferred === 1, 10_000, 'the deferral');
    const deferred = await incident(svc, 'ap05');
    await svc.stop();
    const later = new ManualClock(clock.now());
    const again = await start(raw, later, svc.dir);
    await eventually(() => again.healer.engine.waitingDeferred === 1, 10_000, 'the restarted service to resume the deferral');
    expect(await incident(again, 'ap05')).toMatchObject({ phase: 'deferred', deferred_until: deferred?.deferred_until, defer_deadline: deferred?.defer_deadline });
    later.advance(60);
    await eventually(() => admin.requests.length === 2, 10_000, 'the approved action after the cooldown');
    await again.healer.engine.idle();
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale', '/restart']);
    expect((await auditOf(again, 'ap05')).map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'approved', 'deferred', 'started', 'applied', 'succeeded']);
    expect((await actionsOf(again, 'ap05')).map((a) => a.status)).toEqual(['approved', 'deferred', 'succeeded']);
  }, 30_000);

  it.skipIf(skip)('nobody is asked while a guardrail would hold the action back: deferred first, asked once the cooldown lifts; resolved meanwhile, nobody is asked', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), clock);
    // An automatic fix on checkout starts its cooldown (60s).
    expect((await svc.post(cpu('ap09c'))).body).toMatchObject({ new: 1 });
    await eventually(async () => (await incident(svc, 'ap09c'))?.result === 'healed', 10_000, 'the automatic action');
    // A restart asked for now could not run for a minute: it is deferred, and no person is asked yet.
    expect((await svc.post(memory('ap09'))).status).toBe(200);
    await eventually(async () => (await incident(svc, 'ap09'))?.phase === 'deferred', 10_000, 'the restart to be held back');
    expect(String((await incident(svc, 'ap09'))?.reason)).toMatch(/^deferred: cooldown: target "checkout" acted on recently; 60s left/);
    await eventually(() => svc.healer.engine.waitingDeferred === 1, 10_000, 'the deferral');
    expect(await approvals(svc)).toEqual([]);
    expect(slack.requests).toHaveLength(0);
    // The cooldown ends with the alert still firing: now a person is asked, approves, and it runs once.
    clock.advance(60);
    await eventually(async () => (await incident(svc, 'ap09'))?.phase === 'awaiting_approval', 10_000, 'the approval request after the cooldown');
    await eventually(() => svc.healer.engine.waitingApproval === 1, 10_000, 'the engine to wait on the approval');
    const [approval] = await approvals(svc, '?status=pending');
    expect(slack.requests).toHaveLength(1);
    expect((await decide(svc, approval?.id ?? 0, { decision: 'approve', by: 'alice' })).status).toBe(200);
    await eventually(() => admin.requests.length === 2, 10_000, 'the approved restart');
    await svc.healer.engine.idle();
    expect(admin.requests.map((r) => r.url)).toEqual(['/scale', '/restart']);
    expect((await auditOf(svc, 'ap09')).map((r) => r.event)).toEqual(['received', 'matched', 'deferred', 'approval_requested', 'approved', 'started', 'applied', 'succeeded']);

    // The restart's own cooldown now holds checkout: a memory alert that resolves before it lifts asks nobody.
    expect((await svc.post(memory('ap10'))).status).toBe(200);
    await eventually(async () => (await incident(svc, 'ap10'))?.phase === 'deferred', 10_000, 'the second restart to be held back');
    expect((await svc.post(memory('ap10', 'resolved'))).body).toMatchObject({ resolved: 1 });
    await eventually(async () => (await incident(svc, 'ap10'))?.phase === 'done', 10_000, 'the deferral to be dropped');
    await svc.healer.engine.idle();
    expect((await approvals(svc)).map((a) => a.id)).toEqual([approval?.id]);
    expect(slack.requests).toHaveLength(1);
    expect(admin.requests).toHaveLength(2);
  }, 30_000);

  it.skipIf(skip)('the alert resolves while it waits: the approval is cancelled and the action never runs', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const svc = await start(policy(admin.url, slack.url, await storeConfig(kind)), new ManualClock());
    const approval = await pending(svc, 'ap06');
    expect((await svc.post(memory('ap06', 'resolved'))).body).toMatchObject({ resolved: 1 });
    await eventually(async () => (await incident(svc, 'ap06'))?.phase === 'done', 10_000, 'the cancellation');
    expect(await incident(svc, 'ap06')).toMatchObject({ result: 'resolved', reason: `the alert resolved while restart awaited approval ${approval.id}; not run` });
    expect((await auditOf(svc, 'ap06')).map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'resolved', 'cancelled']);
    expect((await approvals(svc))[0]).toMatchObject({ id: approval.id, status: 'cancelled' });
    expect((await actionsOf(svc, 'ap06')).map((a) => a.status)).toEqual(['cancelled']);
    const late = await decide(svc, approval.id, { decision: 'approve', by: 'alice' });
    expect(late).toMatchObject({ status: 409, body: { code: 'SELFHEAL_APPROVAL_ALREADY_DECIDED', error: `approval ${approval.id} was already decided: cancelled: its alert resolved while it waited` } });
    expect(admin.requests).toHaveLength(0);
    expect(slack.requests).toHaveLength(1);
    // Retention prunes the closed incident with its action rows, and its approval with them.
    expect(await svc.healer.store.prune(-3600)).toBe(1);
    expect(await approvals(svc)).toEqual([]);
  }, 30_000);

  it.skipIf(skip)('a restart while pending keeps the approval (not asked again); approved after the restart, it runs once', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const raw = policy(admin.url, slack.url, await storeConfig(kind));
    const first = await start(raw, clock);
    const approval = await pending(first, 'ap07');
    await eventually(() => slack.requests.length === 1, 5000, 'the notification');
    await first.stop();

    const later = new ManualClock(clock.now() + 30);
    const second = await start(raw, later, first.dir);
    await eventually(() => second.healer.engine.waitingApproval === 1, 10_000, 'the restarted service to wait on the same approval');
    expect(await approvals(second)).toEqual([expect.objectContaining({ id: approval.id, status: 'pending' })]);
    expect(slack.requests).toHaveLength(1);
    expect((await decide(second, approval.id, { decision: 'approve', by: 'carol', reason: 'after the restart' })).status).toBe(200);
    await eventually(() => admin.requests.length === 1, 10_000, 'the approved action');
    await second.healer.engine.idle();
    expect(await incident(second, 'ap07')).toMatchObject({ phase: 'done', result: 'healed' });
    expect((await auditOf(second, 'ap07')).map((r) => r.event)).toEqual(['received', 'matched', 'approval_requested', 'approved', 'started', 'applied', 'succeeded']);
    expect(admin.requests).toHaveLength(1);
  }, 30_000);

  it.skipIf(skip)('restarted with the rule no longer in approve mode, a person already asked is still waited for', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const clock = new ManualClock();
    const raw = policy(admin.url, slack.url, await storeConfig(kind));
    const first = await start(raw, clock);
    const approval = await pending(first, 'ap08');
    await first.stop();
    const auto = { ...raw, rules: raw.rules.map((r) => ({ ...r, mode: 'auto' })) };
    const second = await start(auto, new ManualClock(clock.now()), first.dir);
    await eventually(() => second.healer.engine.waitingApproval === 1, 10_000, 'the restarted service to wait on the approval');
    expect(admin.requests).toHaveLength(0);
    expect((await decide(second, approval.id, { decision: 'reject', by: 'dave' })).status).toBe(200);
    await eventually(async () => (await incident(second, 'ap08'))?.result === 'skipped', 10_000, 'the rejection');
    expect(admin.requests).toHaveLength(0);
  }, 30_000);
});

describe.skipIf(gate.skip !== undefined)('approve mode on two replicas sharing PostgreSQL', () => {
  beforeAll(async () => { pgServer ??= await startPostgres(); }, 60_000);

  it('approved through the other replica, and twice at once through both: the owner runs it once', async () => {
    const admin = await server((_q, _b, res) => { res.end('ok'); });
    const slack = await server((_q, _b, res) => { res.end('ok'); });
    const store = await storeConfig('postgres');
    const replica = (name: string) => {
      // No cooldown: each restart here is asked for at once (a cooldown defers before asking, tested above).
      const raw = policy(admin.url, slack.url, store, { guardrails: { cooldown: '0s' } });
      return { ...raw, actuators: { admin: { type: 'http', retries: 0, headers: { 'x-replica': name } } } };
    };
    const clockA = new ManualClock();
    const clockB = new ManualClock(clockA.now());
    const a = await start(replica('a'), clockA);
    const b = await start(replica('b'), clockB);
    // Alertmanager delivers the alert to both: a records it (and owns it), b's copy is a duplicate.
    expect((await a.post(memory('ha01'))).body).toMatchObject({ new: 1 });
    expect((await b.post(memory('ha01'))).body).toMatchObject({ duplicate: 1 });
    await eventually(() => a.healer.engine.waitingApproval === 1, 10_000, 'a to wait on the approval');
    expect(b.healer.engine.waitingApproval).toBe(0);
    const [approval] = await approvals(b, '?status=pending');
    if (!approval) throw new Error('no pending approval');

    // Two people approve at once, one through each replica: one decision wins, the other is told it was decided.
    const answers = await Promise.all([
      decide(a, approval.id, { decision: 'approve', by: 'alice' }),
      decide(b, approval.id, { decision: 'approve', by: 'bob' }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(answers.find((r) => r.status === 409)?.body).toMatchObject({ code: 'SELFHEAL_APPROVAL_ALREADY_DECIDED' });
    // Alice's decision (through a) wakes a at once; Bob's (through b) is seen at a's next look, APPROVAL_RECHECK_SECONDS later.
    clockA.advance(APPROVAL_RECHECK_SECONDS);
    clockB.advance(APPROVAL_RECHECK_SECONDS);
    await eventually(() => admin.requests.length === 1, 10_000, 'the approved action');
    await a.healer.engine.idle();
    await eventually(async () => (await incident(a, 'ha01'))?.result === 'healed', 10_000, 'the incident to heal');
    expect(admin.requests.map((r) => r.headers['x-replica'])).toEqual(['a']);
    const id = (await incident(a, 'ha01'))?.id;
    const events = (await queryPostgres<{ event: string }>(String((store.store as { url: string }).url), 'SELECT event FROM audit WHERE incident_id = $1 ORDER BY id', [id])).map((r) => r.event);
    expect(events).toEqual(['received', 'matched', 'approval_requested', 'approved', 'started', 'applied', 'succeeded']);

    // Approved through the replica that does not own the incident: the owner sees it at its next look and runs it.
    expect((await a.post(memory('ha02'))).body).toMatchObject({ new: 1 });
    await eventually(async () => (await approvals(b, '?status=pending')).length === 1, 10_000, 'the second approval');
    await eventually(() => a.healer.engine.waitingApproval === 1, 10_000, 'a to wait on it');
    const [second] = await approvals(b, '?status=pending');
    expect((await decide(b, second!.id, { decision: 'approve', by: 'bob' })).status).toBe(200);
    expect(admin.requests).toHaveLength(1);
    expect(b.healer.engine.busy).toBe(0);
    // The owner looks again after APPROVAL_RECHECK_SECONDS.
    clockA.advance(APPROVAL_RECHECK_SECONDS);
    clockB.advance(APPROVAL_RECHECK_SECONDS);
    await eventually(() => admin.requests.length === 2, 10_000, 'the owner to run the action approved through b');
    await a.healer.engine.idle();
    expect(admin.requests.map((r) => r.headers['x-replica'])).toEqual(['a', 'a']);

    // Too late, seen through the replica that does not own it before the owner looked again: 409, named.
    // The alert resolved (delivered to b): approving it is refused; the owner cancels it at its next look.
    expect((await a.post(memory('ha03'))).body).toMatchObject({ new: 1 });
    await eventually(() => a.healer.engine.waitingApproval === 1, 10_000, 'a to wait on the third approval');
    const [third] = await approvals(b, '?status=pending');
    expect((await b.post(memory('ha03', 'resolved'))).body).toMatchObject({ resolved: 1 });
    expect(await decide(b, third!.id, { decision: 'approve', by: 'bob' })).toMatchObject({
      status: 409, body: { code: 'SELFHEAL_APPROVAL_ALERT_RESOLVED', error: `approval ${third!.id} is cancelled: its alert resolved while it waited; the action will not run` },
    });
    clockA.advance(APPROVAL_RECHECK_SECONDS);
    await eventually(async () => (await incident(a, 'ha03'))?.result === 'resolved', 10_000, 'the owner to cancel it');
    // Past its expiry on b's clock: approving it is refused; the owner expires and escalates it when its clock gets there.
    expect((await a.post(memory('ha04'))).body).toMatchObject({ new: 1 });
    await eventually(() => a.healer.engine.waitingApproval === 1, 10_000, 'a to wait on the fourth approval');
    const [fourth] = await approvals(b, '?status=pending');
    clockB.advance(610); // b's clock is 5s behind a's (a alone looked again above)
    const late = await decide(b, fourth!.id, { decision: 'approve', by: 'bob' });
    expect(late).toMatchObject({ status: 409, body: { code: 'SELFHEAL_APPROVAL_EXPIRED' } });
    expect(String(late.body.error)).toMatch(new RegExp(`^approval ${fourth!.id} expired at \\S+; the action will not run \\(escalated to people\\)$`));
    clockA.advance(600);
    await eventually(async () => (await incident(a, 'ha04'))?.result === 'escalated', 10_000, 'the owner to expire and escalate it');
    expect(admin.requests).toHaveLength(2);
  }, 60_000);
});

describe('trust levels in the config', () => {
  const base = { auth: 'none', targets: { t: { actuator: 'k', kubernetes: { namespace: 'n', kind: 'Deployment', name: 'd' } } }, actuators: { k: { type: 'kubernetes' } } };
  const problems = (raw: Record<string, unknown>): string[] => {
    try {
      parseConfig({ ...base, ...raw });
      return [];
    } catch (err) {
      return [...(err as ConfigError).problems];
    }
  };

  it('dryRun is the old spelling of mode: shadow; both written and contradicting each other is a named error', () => {
    expect(problems({ dryRun: true, mode: 'approve' })).toEqual(['dryRun: dryRun: true contradicts mode: approve (dryRun: true is the old spelling of mode: shadow); keep only mode']);
    expect(problems({ rules: [{ name: 'r', target: 't', dryRun: false, mode: 'shadow' }] })).toEqual(['rules[0].dryRun: dryRun: false contradicts mode: shadow (dryRun: true is the old spelling of mode: shadow); keep only mode']);
    expect(problems({ dryRun: true, mode: 'shadow', rules: [{ name: 'r', target: 't', dryRun: true, mode: 'shadow' }] })).toEqual([]);
    expect(problems({ mode: 'careful' })).toEqual(['mode: must be one of shadow, approve, auto']);
    expect(problems({ rules: [{ name: 'r', target: 't', actions: [{ action: 'restart', mode: 'sometimes' }] }] })).toEqual(['rules[0].actions[0].mode: must be one of shadow, approve, auto']);
    expect(problems({ rules: [{ name: 'r', target: 't', actions: ['reboot'] }] })).toEqual(['rules[0].actions[0].action: must be one of scale_up, quarantine, restart, enable_cache, open_circuit_breaker, rollback']);
    expect(problems({ approvalTimeout: 0 })).toEqual(['approvalTimeout: must be more than 0s and at most 7d']);
  });

  it('the most specific mode wins (action, rule, top level); the top-level dryRun: true puts everything in shadow mode', () => {
    const modes = (raw: Record<string, unknown>) => {
      const config = parseConfig({ ...base, ...raw });
      const labels = { alertname: 'A', service: 's', feature: 'cpu' };
      const d = new Policy(config).decide(labels, templateVars({ labels, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '' }, []));
      return d.kind === 'plan' ? d.plan.steps.map((s) => `${s.action}:${s.mode}`) : d.reason;
    };
    const rule = { name: 'r', target: 't', actions: ['scale_up', { action: 'restart', mode: 'approve' }] };
    expect(modes({ rules: [rule] })).toEqual(['scale_up:auto', 'restart:approve']);
    expect(modes({ mode: 'shadow', rules: [rule] })).toEqual(['scale_up:shadow', 'restart:approve']);
    expect(modes({ mode: 'shadow', rules: [{ ...rule, mode: 'auto' }] })).toEqual(['scale_up:auto', 'restart:approve']);
    expect(modes({ rules: [{ ...rule, dryRun: true }] })).toEqual(['scale_up:shadow', 'restart:approve']);
    expect(modes({ dryRun: true, rules: [{ ...rule, mode: 'auto' }] })).toEqual(['scale_up:shadow', 'restart:shadow']);
  });
});
