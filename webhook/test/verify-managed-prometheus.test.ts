// Verification queries against "managed" Prometheus (no AWS or Azure account here): the real Prometheus behind a
// local reverse proxy on 127.0.0.1 that recomputes every SigV4 signature (as Amazon Managed Service for Prometheus
// does) or accepts only tokens a local Azure IMDS endpoint issued. The healing service's credentials come from the
// AWS SDK's default chain (environment) and from DefaultAzureCredential (managed identity).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerCheck, sigv4Check, startAuthProxy, startImdsTokenEndpoint, startStack, waitFor, type AuthProxy, type ImdsTokenEndpoint, type Stack } from '@selfheal/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { payload, startHealer, startServer, tempDir, testConfig, type TestServer } from './support/harness.js';
import { createHealer } from '../src/app.js';
import { pino } from 'pino';

const SECRET = { accessKeyId: 'AKIDWEBHOOKTEST', secretAccessKey: 'webhook-test-secret', sessionToken: 'webhook-session' };
const scores = new Map<string, number>();
let exposition: Server;
let stack: Stack;
let admin: TestServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  exposition = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(['# TYPE selfheal_anomaly_score gauge', ...[...scores].map(([service, v]) => `selfheal_anomaly_score{group="shop",service="${service}"} ${v}`), ''].join('\n'));
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  scores.set('cart', 2.5).set('search', 2.5);
  stack = await startStack({ scrapeTargets: { scores: [`127.0.0.1:${(exposition.address() as AddressInfo).port}`] }, scrapeInterval: '1s', evaluationInterval: '1s', withAlertmanager: false, includeShippedRules: false });
  await stack.waitForTargetsUp(['scores']);
  await waitFor(async () => (await stack.prometheusClient.query('selfheal_anomaly_score')).length === 2, { what: 'the scores in Prometheus', timeoutMs: 20_000 });
  admin = await startServer((_req, _body, res) => { res.end('ok'); });
}, 90_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await new Promise((r) => exposition?.close(r));
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

const policy = (prometheus: Record<string, unknown>) => ({
  prometheus,
  verify: { interval: '200ms', timeout: '20s' },
  actuators: { admin: { type: 'http', retries: 0 } },
  targets: { shop: { actuator: 'admin', actions: { restart: { url: `${admin.url}/restart` } } } },
  rules: [{ name: 'shop', matchers: ['group = shop'], target: 'shop', actions: ['restart'], precondition: 'count(selfheal_anomaly_score{service="{{ labels.service }}"} >= 0) == 1' }],
  guardrails: { cooldown: 0 },
});
const alertOf = (service: string, fingerprint: string) => payload([{ fingerprint, labels: { alertname: 'SelfhealAnomaly', group: 'shop', service, feature: 'mem_rss', severity: 'warning' } }]);

describe('prometheus.auth in the healing service config', () => {
  it.each([
    [{ sigv4: {} }, /prometheus\.auth\.sigv4\.region: required: the AWS region of the workspace/],
    [{ sigv4: { region: 'Frankfurt' } }, /prometheus\.auth\.sigv4\.region: is not an AWS region/],
    [{ sigv4: { region: 'us-east-1' }, azure: {} }, /prometheus\.auth: set one kind of authentication, not sigv4 and azure/],
    [{ azure: { scope: 'https://prometheus.monitor.azure.com' } }, /prometheus\.auth\.azure\.scope: must be an https:\/\/ resource followed by \/\.default/],
  ])('%j is refused with the key named', (auth, expected) => {
    expect(() => parseConfig({ auth: 'none', prometheus: { url: 'http://127.0.0.1:9090', auth } })).toThrow(expected);
  });
});

describe('verification through a local SigV4-verifying proxy (no AWS account here)', () => {
  let proxy: AuthProxy;
  beforeAll(async () => {
    proxy = await startAuthProxy({ upstream: stack.prometheusUrl, prefix: '/workspaces/ws-webhook-test', check: sigv4Check(SECRET, { region: 'ap-southeast-2', service: 'aps' }) });
  });
  afterAll(async () => proxy?.close());

  it('precondition and verification queries are signed with the environment credentials; the incident heals', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: SECRET.accessKeyId, AWS_SECRET_ACCESS_KEY: SECRET.secretAccessKey, AWS_SESSION_TOKEN: SECRET.sessionToken, AWS_EC2_METADATA_DISABLED: 'true' });
    const svc = await startHealer(policy({ url: proxy.url, auth: { sigv4: { region: 'ap-southeast-2' } } }));
    try {
      expect((await svc.post(alertOf('cart', 'aa0001'))).status).toBe(200);
      await waitFor(() => svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'aa0001')?.phase === 'verifying', { what: 'verification to start', timeoutMs: 10_000 });
      scores.set('cart', 0.4);
      await svc.healer.engine.idle();
      expect(svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'aa0001')).toMatchObject({ phase: 'done', result: 'healed' });
      expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
      expect(proxy.requests.filter((r) => !r.ok)).toEqual([]);
      // The queries, and at start the read of Prometheus's external labels (left out of entity selectors).
      const paths = proxy.requests.map((r) => `${r.method} ${r.target.split('?')[0] ?? ''}`);
      expect(new Set(paths)).toEqual(new Set(['GET /workspaces/ws-webhook-test/api/v1/query', 'GET /workspaces/ws-webhook-test/api/v1/status/config']));
    } finally {
      await svc.close();
    }
  }, 40_000);

  it('no AWS credentials anywhere: listen() fails before serving, naming the provider chain and what to set', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    const dir = tempDir();
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: `${dir}/none`, AWS_CONFIG_FILE: `${dir}/none`, AWS_EC2_METADATA_DISABLED: 'true' });
    const healer = createHealer(testConfig(dir, policy({ url: proxy.url, auth: { sigv4: { region: 'ap-southeast-2' } } })), { logger: pino({ level: 'silent' }), defaultMetrics: false });
    await expect(healer.listen(0, '127.0.0.1')).rejects.toThrow(/^prometheus\.auth\.sigv4: no AWS credentials: the AWS default provider chain found nothing.*AWS_ACCESS_KEY_ID.*AWS_WEB_IDENTITY_TOKEN_FILE/s);
    await healer.close();
  });
});

describe('verification with an Entra token from a local IMDS endpoint (no Azure account here)', () => {
  let imds: ImdsTokenEndpoint;
  let proxy: AuthProxy;
  beforeAll(async () => {
    imds = await startImdsTokenEndpoint();
    proxy = await startAuthProxy({ upstream: stack.prometheusUrl, check: bearerCheck((token) => imds.issued.includes(token)) });
  });
  afterAll(async () => {
    await proxy?.close();
    await imds?.close();
  });

  it('the managed identity token reaches Prometheus on every query; the incident heals', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AZURE_') || k.startsWith('IDENTITY_') || k.startsWith('MSI_')) delete process.env[k];
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
    const svc = await startHealer(policy({ url: proxy.url, auth: { azure: { clientId: '11111111-2222-3333-4444-555555555555' } } }));
    try {
      expect(imds.issued).toEqual(['imds-token-1']);
      expect((await svc.post(alertOf('search', 'aa0002'))).status).toBe(200);
      await waitFor(() => svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'aa0002')?.phase === 'verifying', { what: 'verification to start', timeoutMs: 10_000 });
      scores.set('search', 0.4);
      await svc.healer.engine.idle();
      expect(svc.healer.sqlite!.listIncidents({}).find((i) => i.fingerprint === 'aa0002')).toMatchObject({ phase: 'done', result: 'healed' });
      expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
      expect(proxy.requests.every((r) => r.ok && r.authorization === 'Bearer imds-token-1')).toBe(true);
      expect(imds.requests).toEqual([{ resource: 'https://prometheus.monitor.azure.com', clientId: '11111111-2222-3333-4444-555555555555', metadataHeader: true }]);
    } finally {
      await svc.close();
    }
  }, 40_000);
});
