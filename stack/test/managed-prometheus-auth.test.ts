// The contracts' Prometheus client (the healing service's queries) reading a real Prometheus the way it reads the
// managed ones. No AWS or Azure account here: Amazon Managed Service for Prometheus is played by a local reverse
// proxy that recomputes every SigV4 signature independently (sigv4-verify.ts, itself checked against AWS's
// published vectors), and Azure's managed identity by a local IMDS token endpoint per the documented protocol.
import { readFileSync } from 'node:fs';
import { PrometheusClient, PrometheusError, createPrometheusAuthorizer, sigv4Authorizer } from '@selfheal/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearerCheck, sigv4Check, startAuthProxy, type AuthProxy } from '../src/auth-proxy.js';
import { startImdsTokenEndpoint } from '../src/imds-token-endpoint.js';
import { verifySigV4 } from '../src/sigv4-verify.js';
import { startStack, type Stack } from '../src/stack.js';
import { waitFor } from '../src/wait.js';

interface VectorCase { name: string; sts?: boolean; method: string; target: string; headers: Record<string, string>; body: string; authz: string }
const suite = JSON.parse(readFileSync(new URL('../../contracts/test/fixtures/aws-sig-v4-test-suite.json', import.meta.url), 'utf8')) as {
  credentials: { accessKeyId: string; secretAccessKey: string };
  sessionToken: string;
  cases: VectorCase[];
};

describe('the test-side SigV4 verifier against the AWS Signature Version 4 test suite (published vectors)', () => {
  it.each(suite.cases.map((c) => [c.name, c] as const))('%s: accepts the suite\'s signature and refuses a changed request', (_name, c) => {
    const headers: Record<string, string> = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
    headers.authorization = c.authz;
    if (c.sts) headers['x-amz-security-token'] = suite.sessionToken;
    const secret = { ...suite.credentials, ...(c.sts ? { sessionToken: suite.sessionToken } : {}) };
    const scope = { region: 'us-east-1', service: 'service', ignoreClock: true };
    expect(verifySigV4({ method: c.method, target: c.target, headers, body: c.body }, secret, scope)).toMatchObject({ ok: true });
    expect(verifySigV4({ method: c.method, target: c.target, headers, body: `${c.body}x` }, secret, scope)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifySigV4({ method: c.method, target: c.target, headers, body: c.body }, { ...secret, secretAccessKey: 'wrong' }, scope).ok).toBe(false);
  });
});

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withAlertmanager: false, includeShippedRules: false, scrapeInterval: '1s', evaluationInterval: '1s' });
  await waitFor(async () => (await stack.prometheusClient.query('up{job="prometheus"}')).length > 0, { what: 'a self-scrape', timeoutMs: 30_000, intervalMs: 200 });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const savedEnv = { ...process.env };
function restoreEnv(): void {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
}

describe('SigV4 through a local signature-verifying proxy in front of a real Prometheus (no AWS account here)', () => {
  const secret = { accessKeyId: 'AKIDSELFHEALTEST', secretAccessKey: 'test-secret-key', sessionToken: 'test-session-token' };
  let proxy: AuthProxy;
  beforeAll(async () => {
    proxy = await startAuthProxy({ upstream: stack.prometheusUrl, prefix: '/workspaces/ws-selfheal-test', check: sigv4Check(secret, { region: 'eu-west-1', service: 'aps' }) });
  });
  afterAll(async () => proxy?.close());
  afterEach(restoreEnv);

  it('credentials from the environment (AWS default provider chain): GET and POST queries with PromQL spaces and quotes are accepted', async () => {
    process.env.AWS_ACCESS_KEY_ID = secret.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = secret.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = secret.sessionToken;
    const authorizer = createPrometheusAuthorizer({ sigv4: { region: 'eu-west-1', service: 'aps' } });
    for (const queryMethod of ['GET', 'POST'] as const) {
      const client = new PrometheusClient(proxy.url, { authorizer, queryMethod });
      await client.checkAuth();
      const samples = await client.query('max by (job) (up{job=~"prom.*", instance!="a b+c"})');
      expect(samples).toEqual([expect.objectContaining({ metric: { job: 'prometheus' }, value: 1 })]);
    }
    const end = Date.now() / 1000;
    const client = new PrometheusClient(proxy.url, { authorizer });
    expect((await client.queryRange('up{job="prometheus"}', { start: end - 10, end, stepSeconds: 1 }))[0]?.metric.job).toBe('prometheus');
    expect(proxy.requests.length).toBeGreaterThanOrEqual(3);
    expect(proxy.requests.every((r) => r.ok)).toBe(true);
    expect(proxy.requests.every((r) => r.target.startsWith('/workspaces/ws-selfheal-test/api/v1/'))).toBe(true);
  });

  it('a wrong secret is refused by the proxy with 403, and the client reports it', async () => {
    const before = proxy.requests.length;
    const client = new PrometheusClient(proxy.url, {
      authorizer: sigv4Authorizer({ region: 'eu-west-1', service: 'aps' }, { credentials: async () => ({ ...secret, secretAccessKey: 'not-the-secret' }) }),
    });
    const error = await client.query('up').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusError);
    expect((error as PrometheusError).status).toBe(403);
    expect(proxy.requests.slice(before)).toEqual([expect.objectContaining({ ok: false, reason: 'signature does not match' })]);
  });

  it('a request signed for another region is refused', async () => {
    const client = new PrometheusClient(proxy.url, { authorizer: sigv4Authorizer({ region: 'us-east-1', service: 'aps' }, { credentials: async () => secret }) });
    await expect(client.query('up')).rejects.toThrow(/HTTP 403/);
    expect(proxy.requests.at(-1)?.reason).toBe('credential scope region us-east-1, expected eu-west-1');
  });
});

describe('Azure managed identity token through a local IMDS endpoint, bearer checked by a proxy in front of a real Prometheus (no Azure account here)', () => {
  afterEach(restoreEnv);

  it('DefaultAzureCredential gets a token for the Azure Monitor scope from IMDS; it reaches Prometheus, is reused, and is refreshed before expiry', async () => {
    // Tokens of 4 minutes: inside MSAL's own 5-minute renewal window, so MSAL's cache does not hide the refresh;
    // ours refreshes at half the life (2 minutes), moved on an injected clock.
    const imds = await startImdsTokenEndpoint({ expiresInSeconds: 240 });
    const proxy = await startAuthProxy({ upstream: stack.prometheusUrl, check: bearerCheck((token) => imds.issued.includes(token)) });
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('AZURE_') || k.startsWith('IDENTITY_') || k.startsWith('MSI_') || k === 'IMDS_ENDPOINT') delete process.env[k];
      process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
      const clock = { now: Date.now() };
      const authorizer = createPrometheusAuthorizer(
        { azure: { clientId: '11111111-2222-3333-4444-555555555555', scope: 'https://prometheus.monitor.azure.com/.default' } },
        { azure: { now: () => clock.now } },
      );
      const client = new PrometheusClient(proxy.url, { authorizer, queryMethod: 'GET' });
      await client.checkAuth();
      expect(imds.requests).toEqual([{ resource: 'https://prometheus.monitor.azure.com', clientId: '11111111-2222-3333-4444-555555555555', metadataHeader: true }]);
      for (let i = 0; i < 3; i++) expect(await client.query('up{job="prometheus"}')).toHaveLength(1);
      expect(imds.issued).toEqual(['imds-token-1']);
      expect(proxy.requests.map((r) => r.authorization)).toEqual(Array(3).fill('Bearer imds-token-1'));
      // At half its life (2 minutes) the next request fetches a new token first; before that, none.
      clock.now += 110_000;
      await client.query('up{job="prometheus"}');
      expect(imds.issued).toEqual(['imds-token-1']);
      clock.now += 15_000;
      await client.query('up{job="prometheus"}');
      expect(imds.issued).toEqual(['imds-token-1', 'imds-token-2']);
      expect(proxy.requests.at(-1)).toMatchObject({ ok: true, authorization: 'Bearer imds-token-2' });
    } finally {
      await proxy.close();
      await imds.close();
    }
  });
});
