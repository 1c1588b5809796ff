// POST /api/v1/alerts/sns over real HTTP, with no AWS account here: SNS's documented example messages (test/fixtures,
// sources named in its README) re-signed with a locally generated certificate, served from a local HTTPS server that
// stands in for sns.<region>.amazonaws.com (the test-only endpoint override of createHealer).
import { readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@selfheal/contracts';
import { ManualClock } from './support/clock.js';
import { eventually, payload, startHealer, startServer, tempDir, type TestHealer, type TestServer } from './support/harness.js';
import { makeCertificate, signSns, startFakeSnsHost, type FakeSnsHost, type KeyPair } from './support/sns.js';
import { AWS_SNS_ENDPOINTS, certificateUrlProblem, subscribeUrlProblem } from '../src/receiver/sns/endpoints.js';
import { goTimeToRfc3339 } from '../src/receiver/sns/amp-message.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, string>;
const NOTIFICATION = fixture('sns-notification.documented.json');
const CONFIRMATION = fixture('sns-subscription-confirmation.documented.json');
const HEADERS = JSON.parse(readFileSync(new URL('./fixtures/sns.documented.headers.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
const TOPIC = NOTIFICATION.TopicArn!;
/** The documented notification's publication time: the service's clock is set just after it. */
const PUBLISHED = Date.parse(NOTIFICATION.Timestamp!) / 1000;

/**
 * Alert manager's JSON message for one firing SelfhealAnomaly, as the shipped template (AWS's) prints it: times as Go
 * prints a time.Time (this exact form was captured from Alertmanager 0.25 running deploy/aws/amp-alertmanager.yaml).
 */
const AMP_MESSAGE = '{"receiver": "selfheal-healer","status": "firing","alerts": [{"status": "firing","labels": {"alertname": "SelfhealAnomaly", "feature": "cpu_usage", "group": "shop", "service": "checkout", "severity": "warning"},"annotations": {"summary": "Anomaly in checkout"},"startsAt": "2026-11-23 22:00:00 +0000 UTC","endsAt": "0001-01-01 00:00:00 +0000 UTC","generatorURL": "http://127.0.0.1:9090/graph","fingerprint": "a1b2c3d4e5f60718"}],"groupLabels": {"alertname": "SelfhealAnomaly", "feature": "cpu_usage", "group": "shop", "service": "checkout", "severity": "warning"},"commonLabels": {"alertname": "SelfhealAnomaly", "feature": "cpu_usage", "group": "shop", "service": "checkout", "severity": "warning"},"commonAnnotations": {"summary": "Anomaly in checkout"}}';

let dir: string;
let tls: KeyPair;
let signing: KeyPair;
let stranger: KeyPair;
let snsHost: FakeSnsHost;
let admin: TestServer;
let svc: TestHealer;
let clock: ManualClock;
let logs: Record<string, unknown>[];

beforeAll(async () => {
  dir = tempDir('selfheal-sns-test-');
  tls = makeCertificate(dir, 'tls', '127.0.0.1', 'IP:127.0.0.1');
  signing = makeCertificate(dir, 'signing', 'sns.amazonaws.com');
  stranger = makeCertificate(dir, 'stranger', 'sns.amazonaws.com');
  snsHost = await startFakeSnsHost(tls, signing);
});
afterAll(async () => {
  await snsHost.close();
  rmSync(dir, { recursive: true, force: true });
});

function policy(adminUrl: string, sns: Record<string, unknown> = { topicArns: [TOPIC] }) {
  return {
    sns,
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { scale_up: { url: `${adminUrl}/scale/{{ labels.service }}`, body: { by: 1 } } } } },
    rules: [{ name: 'checkout', matchers: ['alertname = SelfhealAnomaly', 'service = checkout'], target: 'checkout' }],
    guardrails: { cooldown: '1s', rateLimits: { perTarget: [{ window: '1h', max: 100 }], global: [{ window: '1h', max: 100 }] } },
  };
}

beforeEach(async () => {
  admin = await startServer((_req, _body, res) => { res.end('{"ok":true}'); });
  clock = new ManualClock(Math.floor(PUBLISHED) + 10);
  logs = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  svc = await startHealer(policy(admin.url), { clock, logger: pino({ level: 'info' }, sink), testOnlySnsEndpoints: snsHost.endpoints });
  snsHost.requests.length = 0;
});
afterEach(async () => {
  await svc.close();
  await admin.close();
});

/** The documented notification carrying alert manager's message, its certificate URL on the local SNS host, signed. */
function notification(version: '1' | '2', changes: Record<string, string> = {}, signer = signing): Record<string, string> {
  return signSns(dir, { ...NOTIFICATION, Message: AMP_MESSAGE, SigningCertURL: snsHost.certUrl, ...changes }, signer, version);
}

async function postSns(body: unknown, headers: Record<string, string> = HEADERS.Notification!): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${svc.url}/api/v1/alerts/sns`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body, null, 2) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const scaleCalls = () => admin.requests.filter((r) => r.url === '/scale/checkout').length;

describe('SNS notifications from alert manager of Amazon Managed Service for Prometheus (no AWS account: documented messages, local certificate)', () => {
  it.each(['1', '2'] as const)('a notification signed with SignatureVersion %s heals like a direct webhook, with the same idempotency key', async (version) => {
    const res = await postSns(notification(version));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', received: 1, new: 1 });
    await eventually(() => svc.healer.sqlite!.listIncidents({})[0]?.result === 'healed', 5000, 'the incident healed');
    expect(scaleCalls()).toBe(1);
    const incident = svc.healer.sqlite!.listIncidents({})[0]!;
    expect(incident).toMatchObject({ service: 'checkout', starts_at: '2026-11-23T22:00:00.000Z' });
    const audit = svc.healer.sqlite!.listAudit({}).map((e) => e.event);
    expect(audit).toEqual(expect.arrayContaining(['received', 'matched', 'started', 'succeeded']));
    // The same alert sent straight by Alertmanager's webhook is the same occurrence: a duplicate, not acted on.
    const direct = await svc.post(payload([{}]));
    expect(direct.body).toMatchObject({ new: 0, duplicate: 1 });
    expect(scaleCalls()).toBe(1);
    // The certificate was fetched once, over HTTPS, from the SNS host.
    expect(snsHost.requests.map((r) => r.path)).toEqual([new URL(snsHost.certUrl).pathname]);
  });

  it('a copy of a message already acted on (same MessageId) is answered 200 and not acted on again; a re-publication is a duplicate alert', async () => {
    const message = notification('2');
    expect((await postSns(message)).body).toMatchObject({ new: 1 });
    await eventually(() => scaleCalls() === 1, 5000, 'the scale-up');
    const replay = await postSns(message);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ status: 'success', duplicate: true, messageId: NOTIFICATION.MessageId });
    // Another MessageId carrying the same alert: the store's idempotency key makes it a duplicate.
    const again = await postSns(notification('2', { MessageId: 'f6a1e1a2-0b1c-4c55-9c52-2b8a0f0f0c11' }));
    expect(again.body).toMatchObject({ new: 0, duplicate: 1 });
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(1);
    expect(scaleCalls()).toBe(1);
    // The certificate was fetched once and cached.
    expect(snsHost.requests).toHaveLength(1);
  });

  it('a resolved notification closes the incident, as a webhook does', async () => {
    expect((await postSns(notification('1'))).body).toMatchObject({ new: 1 });
    const resolved = AMP_MESSAGE.replaceAll('"status": "firing"', '"status": "resolved"').replace('"endsAt": "0001-01-01 00:00:00 +0000 UTC"', '"endsAt": "2026-11-23 22:05:00.5 +0000 UTC"');
    const res = await postSns(notification('1', { Message: resolved, MessageId: '0d1b2c3a-1111-4c55-9c52-2b8a0f0f0c11' }));
    expect(res.body).toMatchObject({ resolved: 1 });
    expect(svc.healer.sqlite!.listIncidents({ state: 'resolved' })).toHaveLength(1);
  });
});

describe('SNS messages refused (403), logged once and never acted on', () => {
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['unsigned', () => { const m: Record<string, unknown> = notification('1'); delete m.Signature; delete m.SignatureVersion; return m; }, /unsigned/],
    ['signed by another key', () => notification('2', {}, stranger), /signature does not match/],
    ['Message changed after signing', () => ({ ...notification('1'), Message: AMP_MESSAGE.replace('checkout', 'payments') }), /signature does not match/],
    ['signed as SHA1 but labelled SignatureVersion 2', () => ({ ...notification('1'), SignatureVersion: '2' }), /signature does not match/],
    ['SignatureVersion 3', () => ({ ...notification('1'), SignatureVersion: '3' }), /SignatureVersion "3" is not 1 or 2/],
    ['a foreign topic', () => notification('1', { TopicArn: 'arn:aws:sns:us-west-2:123456789012:SomeoneElsesTopic' }), /topic arn:aws:sns:us-west-2:123456789012:SomeoneElsesTopic is not in sns.topicArns/],
    ['a certificate on a host that is not SNS', () => notification('1', { SigningCertURL: 'https://sns.us-west-2.amazonaws.com.example.net/SimpleNotificationService-x.pem' }), /not an Amazon SNS endpoint/],
    ['a certificate over http', () => notification('1', { SigningCertURL: snsHost.certUrl.replace('https:', 'http:') }), /is not https/],
    ['a Timestamp older than sns.maxAge', () => notification('1', { Timestamp: new Date((PUBLISHED - 3600) * 1000).toISOString() }), /older than sns.maxAge \(3600s\)/],
    ['a Timestamp in the future', () => notification('1', { Timestamp: new Date((PUBLISHED + 3600) * 1000).toISOString() }), /in the future/],
  ];
  it.each(cases)('%s', async (_name, make, reason) => {
    const res = await postSns(make());
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('SELFHEAL_SNS_REFUSED');
    expect(String(res.body.error)).toMatch(reason);
    const refusals = logs.filter((l) => l.code === 'SELFHEAL_SNS_REFUSED');
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]!.msg)).toMatch(reason);
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
    expect(svc.healer.sqlite!.listAudit({})).toHaveLength(0);
    expect(scaleCalls()).toBe(0);
    const metrics = await svc.healer.metrics.registry.metrics();
    expect(metrics).toMatch(/selfheal_webhook_sns_messages_total\{type="Notification",outcome="refused"\} 1/);
  });

  it('a message older than sns.maxAge by the service clock is refused even when it was good when sent', async () => {
    const message = notification('2');
    clock.advance(3600);
    const res = await postSns(message);
    expect(res.status).toBe(403);
    expect(scaleCalls()).toBe(0);
  });

  it('a certificate that cannot be fetched is 502 (SNS retries), nothing is acted on, and the retry is taken once it can be', async () => {
    const missing = notification('1', { SigningCertURL: `${snsHost.origin}/SimpleNotificationService-missing.pem` });
    const res = await postSns(missing);
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('SELFHEAL_SNS_UNAVAILABLE');
    expect(String(res.body.error)).toMatch(/cannot fetch the signing certificate .* answered HTTP 404/);
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
    // SNS's retry carries the same MessageId: it is not taken for a copy of something already done.
    const retry = await postSns(notification('1'));
    expect(retry.body).toMatchObject({ new: 1 });
  });

  it('the default text message (no JSON template) is 400 naming the template, and nothing is acted on', async () => {
    const res = await postSns(notification('1', { Message: 'Alerts Firing:\nLabels:\n - alertname = SelfhealAnomaly' }));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('SELFHEAL_SNS_INVALID_ALERTS');
    expect(String(res.body.error)).toMatch(/not JSON.*amp-alertmanager\.yaml/);
    expect(svc.healer.sqlite!.listIncidents({})).toHaveLength(0);
  });

  it('a body that is not an SNS message is 400 naming the field', async () => {
    const res = await postSns({ Type: 'Notification', MessageId: 'x', TopicArn: TOPIC, Message: '{}' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('SELFHEAL_SNS_INVALID_MESSAGE');
    expect(String(res.body.error)).toMatch(/Timestamp/);
  });
});

describe('SNS subscription confirmation (no AWS account: documented message, local SNS host)', () => {
  const confirmation = (changes: Record<string, string> = {}) => {
    const subscribe = new URL(CONFIRMATION.SubscribeURL!);
    const local = `${snsHost.origin}/${subscribe.search}`;
    return signSns(dir, { ...CONFIRMATION, SubscribeURL: local, SigningCertURL: snsHost.certUrl, ...changes }, signing, '1');
  };
  beforeEach(() => { clock.advance(Date.parse(CONFIRMATION.Timestamp!) / 1000 + 10 - clock.now()); });

  it('a signed confirmation of an allowed topic GETs its SubscribeURL (Action=ConfirmSubscription, the Token)', async () => {
    const res = await postSns(confirmation(), HEADERS.SubscriptionConfirmation);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', confirmed: TOPIC, subscriptionArn: `${TOPIC}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55` });
    const confirm = snsHost.requests.find((r) => r.path.includes('ConfirmSubscription'));
    const u = new URL(confirm!.path, snsHost.origin);
    expect(u.searchParams.get('TopicArn')).toBe(TOPIC);
    expect(u.searchParams.get('Token')).toBe(CONFIRMATION.Token);
    expect(logs.some((l) => l.msg === 'confirmed the SNS subscription')).toBe(true);
  });

  it('a signed UnsubscribeConfirmation is logged and answered 200; nothing is fetched but the certificate', async () => {
    const res = await postSns(confirmation({ Type: 'UnsubscribeConfirmation', MessageId: '47138184-6831-46b8-8f7c-afc488602d7d' }), { ...HEADERS.SubscriptionConfirmation, 'x-amz-sns-message-type': 'UnsubscribeConfirmation' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ unsubscribed: TOPIC });
    expect(snsHost.requests.map((r) => r.path)).toEqual([new URL(snsHost.certUrl).pathname]);
    expect(logs.some((l) => /unsubscribed/.test(String(l.msg)))).toBe(true);
  });

  it('a confirmation whose SubscribeURL cannot be reached is 502 (SNS retries)', async () => {
    const res = await postSns(confirmation({ SubscribeURL: `${snsHost.origin}/nowhere?Action=ConfirmSubscription&Token=x` }), HEADERS.SubscriptionConfirmation);
    expect(res.status).toBe(502);
    expect(String(res.body.error)).toMatch(/could not confirm the subscription to arn:aws:sns:us-west-2:123456789012:MyTopic: .*HTTP 404/);
  });

  it('is refused (403) and nothing is fetched when unsigned, of a foreign topic, or with a SubscribeURL off the SNS hosts', async () => {
    const unsigned: Record<string, unknown> = confirmation();
    delete unsigned.Signature;
    const foreign = confirmation({ TopicArn: 'arn:aws:sns:us-west-2:123456789012:Other' });
    const elsewhere = confirmation({ SubscribeURL: 'https://attacker.example/?Action=ConfirmSubscription&Token=x' });
    for (const [body, reason] of [[unsigned, /unsigned/], [foreign, /not in sns.topicArns/], [elsewhere, /SubscribeURL host "attacker.example" is not an Amazon SNS endpoint/]] as const) {
      const res = await postSns(body, HEADERS.SubscriptionConfirmation);
      expect(res.status).toBe(403);
      expect(String(res.body.error)).toMatch(reason);
    }
    expect(snsHost.requests.filter((r) => r.path.includes('ConfirmSubscription'))).toHaveLength(0);
    expect(logs.filter((l) => l.code === 'SELFHEAL_SNS_REFUSED')).toHaveLength(3);
  });
});

describe('SNS receiver configuration and hosts', () => {
  it('without sns in the config, POST /api/v1/alerts/sns is 404', async () => {
    const plain = await startHealer({});
    try {
      const res = await fetch(`${plain.url}/api/v1/alerts/sns`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('refuses at start-up a topic that is not an SNS ARN, an empty list and a maxAge out of range, naming the key', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ topicArns: ['arn:aws:sqs:us-east-1:123456789012:queue'] }, /sns\.topicArns\[0\].*must be an SNS topic ARN/],
      [{ topicArns: ['selfheal-alerts'] }, /sns\.topicArns\[0\].*must be an SNS topic ARN/],
      [{ topicArns: [] }, /sns\.topicArns.*at least one/],
      [{ topicArns: [TOPIC], maxAge: '10s' }, /sns\.maxAge.*between 1m and 1d/],
      [{ topicArns: [TOPIC], region: 'us-east-1' }, /sns.*region/],
    ];
    for (const [sns, message] of cases) {
      const err = await startHealer(policy(admin.url, sns)).then(() => undefined, (e: unknown) => e);
      expect(err, JSON.stringify(sns)).toBeInstanceOf(ConfigError);
      expect(String(err), JSON.stringify(sns)).toMatch(message);
    }
  });

  it("takes certificates and SubscribeURLs only from Amazon SNS's regional hosts over https", () => {
    const ok = ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-6209c161c6221fdf56ec1eb5c821d112.pem', 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3250158c6b2d7c14d1d0b1fad8d4e0a9.pem', 'https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-a.pem'];
    for (const url of ok) expect(certificateUrlProblem(url, AWS_SNS_ENDPOINTS), url).toBeUndefined();
    const bad = [
      'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem', 'https://sns.us-east-1.amazonaws.com.evil.example/a.pem',
      'https://evil.example/sns.us-east-1.amazonaws.com/a.pem', 'https://sns.us-east-1.amazonaws.com:8443/a.pem', 'https://user@sns.us-east-1.amazonaws.com/a.pem',
      'https://sns.amazonaws.com/a.pem', 'https://s3.us-east-1.amazonaws.com/a.pem', 'https://sns.us-east-1.amazonaws.com/a.pem?x=1', 'https://sns.us-east-1.amazonaws.com/a/b.pem',
      'https://sns.us-east-1.amazonaws.com/a.txt', 'not a url',
    ];
    for (const url of bad) expect(certificateUrlProblem(url, AWS_SNS_ENDPOINTS), url).toBeDefined();
    expect(subscribeUrlProblem('https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y', AWS_SNS_ENDPOINTS)).toBeUndefined();
    expect(subscribeUrlProblem('https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&TopicArn=x', AWS_SNS_ENDPOINTS)).toMatch(/ConfirmSubscription/);
    expect(subscribeUrlProblem('https://127.0.0.1/?Action=ConfirmSubscription', AWS_SNS_ENDPOINTS)).toMatch(/not an Amazon SNS endpoint/);
  });

  it("reads the times alert manager's template prints (Go's time.Time) as RFC 3339", () => {
    expect(goTimeToRfc3339('2026-12-07 16:24:32.123 +0000 UTC')).toBe('2026-12-07T16:24:32.123+00:00');
    expect(goTimeToRfc3339('0001-01-01 00:00:00 +0000 UTC')).toBe('0001-01-01T00:00:00+00:00');
    expect(goTimeToRfc3339('2026-12-07 17:24:32.123456789 +0100 CET m=+12.000000001')).toBe('2026-12-07T17:24:32.123456789+01:00');
    expect(goTimeToRfc3339('2026-12-07T16:24:32Z')).toBe('2026-12-07T16:24:32Z');
    expect(goTimeToRfc3339('yesterday')).toBe('yesterday');
  });
});
