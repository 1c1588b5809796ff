// The shipped alert manager definition for Amazon Managed Service for Prometheus (deploy/aws/amp-alertmanager.yaml,
// AWS's JSON message template) run by the real Alertmanager (Debian binary), whose SNS receiver publishes to a local
// stand-in of the SNS API (no AWS account here: Publish answered as the SNS API reference documents it); the stand-in
// then does what SNS does for an HTTPS subscriber: it wraps the published message in a Notification signed with a
// local certificate (SignatureVersion 2) and POSTs it to the healing service's /api/v1/alerts/sns.
// Firing -> one action; resolved -> the incident closes.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BINARIES, ManagedProcess, freePort, isReady, requireBinary, waitFor } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startHealer, startServer, tempDir, type TestHealer, type TestServer } from './support/harness.js';
import { makeCertificate, signSns, startFakeSnsHost, type FakeSnsHost, type KeyPair } from './support/sns.js';

const SHIPPED = new URL('../../deploy/aws/amp-alertmanager.yaml', import.meta.url);

let dir: string;
let signing: KeyPair;
let snsHost: FakeSnsHost;
let snsApi: TestServer;
let admin: TestServer;
let svc: TestHealer;
let alertmanager: ManagedProcess;
let amUrl: string;
let topic: string;
/** What the healing service answered to each delivery. */
const deliveries: { status: number; body: string; message: string }[] = [];

beforeAll(async () => {
  dir = tempDir('selfheal-sns-am-test-');
  const tls = makeCertificate(dir, 'tls', '127.0.0.1', 'IP:127.0.0.1');
  signing = makeCertificate(dir, 'signing', 'sns.amazonaws.com');
  snsHost = await startFakeSnsHost(tls, signing);
  admin = await startServer((_req, _body, res) => { res.end('{"ok":true}'); });

  const shipped = parse(readFileSync(SHIPPED, 'utf8')) as { template_files: Record<string, string>; alertmanager_config: string };
  const am = parse(shipped.alertmanager_config) as { templates: string[]; route: { routes: { group_wait?: string; group_interval?: string }[] }; receivers: { name: string; sns_configs?: Record<string, unknown>[] }[] };
  const receiver = am.receivers.find((r) => r.name === 'selfheal-healer')!;
  const sns = receiver.sns_configs![0]!;
  topic = String(sns.topic_arn);

  svc = await startHealer({
    sns: { topicArns: [topic] },
    actuators: { admin: { type: 'http', retries: 0 } },
    targets: { checkout: { actuator: 'admin', actions: { scale_up: { url: `${admin.url}/scale/{{ labels.service }}`, body: { by: 1 } } } } },
    rules: [{ name: 'checkout', matchers: ['alertname = SelfhealAnomaly', 'service = checkout'], target: 'checkout' }],
    guardrails: { cooldown: 0 },
  }, { testOnlySnsEndpoints: snsHost.endpoints });

  // The SNS API's Publish (form-encoded, SigV4-signed by Alertmanager), then SNS's delivery to the HTTPS subscriber.
  snsApi = await startServer(async (_req, body, res) => {
    const form = new URLSearchParams(body);
    res.setHeader('content-type', 'text/xml');
    const messageId = randomUUID();
    res.end(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`);
    const notification = signSns(dir, {
      Type: 'Notification', MessageId: messageId, TopicArn: form.get('TopicArn') ?? '', Subject: form.get('Subject') ?? '', Message: form.get('Message') ?? '',
      Timestamp: new Date().toISOString(), SigningCertURL: snsHost.certUrl, UnsubscribeURL: `${snsHost.origin}/?Action=Unsubscribe&SubscriptionArn=${topic}:c9135db0-26c4-47ec-8998-413945fb5a96`,
    }, signing, '2');
    const answer = await fetch(`${svc.url}/api/v1/alerts/sns`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification', 'x-amz-sns-message-id': messageId, 'x-amz-sns-topic-arn': topic, 'user-agent': 'Amazon Simple Notification Service Agent' },
      body: JSON.stringify(notification),
    });
    deliveries.push({ status: answer.status, body: await answer.text(), message: form.get('Message') ?? '' });
  });

  // The shipped definition as AMP runs it, with what only a local run needs: the template's file, the SNS API's
  // URL (AMP sets api_url itself) and static SigV4 credentials, and no group wait.
  const templateFile = join(dir, 'default_template');
  writeFileSync(templateFile, shipped.template_files.default_template!);
  am.templates = [templateFile];
  Object.assign(sns, { api_url: snsApi.url, sigv4: { ...(sns.sigv4 as object), access_key: 'AKIDEXAMPLE', secret_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } });
  am.route.routes[0]!.group_wait = '0s';
  am.route.routes[0]!.group_interval = '1s';
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, stringify(am));
  execFileSync(requireBinary(BINARIES.amtool), ['check-config', configFile], { stdio: 'pipe' });
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'am-data'));
  alertmanager = new ManagedProcess({
    name: 'alertmanager', command: requireBinary(BINARIES.alertmanager),
    args: [`--config.file=${configFile}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    logFile: join(dir, 'alertmanager.log'),
  });
  await waitFor(() => isReady(amUrl), { what: 'alertmanager ready', timeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  await alertmanager?.stop();
  await svc?.close();
  await Promise.all([snsApi?.close(), admin?.close(), snsHost?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('real Alertmanager with the shipped AMP definition -> SNS (local stand-in, no AWS account) -> /api/v1/alerts/sns', () => {
  it("a firing alert is healed once through SNS, and its resolution closes the incident", async () => {
    const startsAt = new Date(Date.now() - 30_000);
    const alert = {
      labels: { alertname: 'SelfhealAnomaly', severity: 'warning', group: 'shop', service: 'checkout', feature: 'cpu_usage' },
      annotations: { summary: 'Anomaly in checkout, driven by cpu_usage' },
      startsAt: startsAt.toISOString(), endsAt: new Date(Date.now() + 300_000).toISOString(), generatorURL: 'http://127.0.0.1:9090/graph',
    };
    const push = (a: object) => fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([a]) });
    expect((await push(alert)).status).toBe(200);
    await waitFor(() => svc.healer.sqlite!.listIncidents({})[0]?.result === 'healed', { what: 'the incident healed', timeoutMs: 20_000 });
    expect(deliveries[0]).toMatchObject({ status: 200 });
    // Alert manager's message is the template's JSON, times as Go prints them.
    expect(JSON.parse(deliveries[0]!.message)).toMatchObject({ receiver: 'selfheal-healer', status: 'firing', alerts: [{ endsAt: '0001-01-01 00:00:00 +0000 UTC' }] });
    expect(admin.requests.filter((r) => r.url === '/scale/checkout')).toHaveLength(1);
    expect(svc.healer.sqlite!.listIncidents({})[0]).toMatchObject({ service: 'checkout', starts_at: startsAt.toISOString() });

    expect((await push({ ...alert, endsAt: new Date().toISOString() })).status).toBe(200);
    await waitFor(() => svc.healer.sqlite!.listIncidents({ state: 'resolved' }).length === 1, { what: 'the incident resolved', timeoutMs: 20_000 });
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    expect(admin.requests.filter((r) => r.url === '/scale/checkout')).toHaveLength(1);
  }, 60_000);
});
