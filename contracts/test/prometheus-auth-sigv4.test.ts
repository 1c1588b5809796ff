// SigV4 signing of requests to Amazon Managed Service for Prometheus (no AWS account here: the published test
// vectors, and the SDK's credential chain pointed at nothing).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PrometheusCredentialsError, signSigV4, sigv4Authorizer } from '../src/prometheus/auth/index.js';

interface VectorCase {
  name: string;
  sts?: boolean;
  method: 'GET' | 'POST';
  target: string;
  headers: Record<string, string>;
  body: string;
  authz: string;
}
const suite = JSON.parse(readFileSync(new URL('./fixtures/aws-sig-v4-test-suite.json', import.meta.url), 'utf8')) as {
  credentials: { accessKeyId: string; secretAccessKey: string };
  sessionToken: string;
  region: string;
  service: string;
  signingDate: string;
  cases: VectorCase[];
};

describe('signSigV4 against the AWS Signature Version 4 test suite (published vectors; no AWS account here)', () => {
  it.each(suite.cases.map((c) => [c.name, c] as const))('%s: the Authorization header is the suite\'s', async (_name, c) => {
    // Host comes from the URL; the other headers of the case are signed as given.
    const extra = Object.fromEntries(Object.entries(c.headers).filter(([name]) => !['host', 'x-amz-date'].includes(name.toLowerCase())));
    const headers = await signSigV4(
      { method: c.method, url: `https://example.amazonaws.com${c.target}`, ...(c.body ? { body: c.body } : {}) },
      {
        credentials: { ...suite.credentials, ...(c.sts ? { sessionToken: suite.sessionToken } : {}) },
        region: suite.region,
        service: suite.service,
        signingDate: new Date(suite.signingDate),
        headers: extra,
      },
    );
    expect(headers.authorization).toBe(c.authz);
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    if (c.sts) expect(headers['x-amz-security-token']).toBe(suite.sessionToken);
    expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain('host');
  });

  it('a different body, path or region gives a different signature (the signature covers them)', async () => {
    const sign = (url: string, body: string, region = 'us-east-1') =>
      signSigV4({ method: 'POST', url, body }, { credentials: suite.credentials, region, service: 'aps', signingDate: new Date(suite.signingDate) });
    const base = (await sign('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query', 'query=up')).authorization;
    expect((await sign('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query', 'query=down')).authorization).not.toBe(base);
    expect((await sign('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-2/api/v1/query', 'query=up')).authorization).not.toBe(base);
    expect((await sign('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query', 'query=up', 'eu-west-1')).authorization).toMatch(/\/eu-west-1\/aps\/aws4_request/);
  });
});

describe('sigv4Authorizer: credentials from the AWS default provider chain (no AWS account here)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  function noCredentialsAnywhere(): void {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    // Shared files that do not exist, and no instance metadata service (no network here).
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/selfheal-test/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/selfheal-test/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
  }

  it('reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from the environment and signs with them', async () => {
    noCredentialsAnywhere();
    process.env.AWS_ACCESS_KEY_ID = 'AKIDENVIRONMENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-from-env';
    process.env.AWS_SESSION_TOKEN = 'session-from-env';
    const authorizer = sigv4Authorizer({ region: 'us-west-2', service: 'aps' });
    await authorizer.check();
    const headers = await authorizer.headers({ method: 'GET', url: 'https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/query?query=up' });
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDENVIRONMENT\/\d{8}\/us-west-2\/aps\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    expect(headers['x-amz-security-token']).toBe('session-from-env');
  });

  it('a missing credential is named at start-up: which chain found nothing and what to set', async () => {
    noCredentialsAnywhere();
    const authorizer = sigv4Authorizer({ region: 'us-east-1', service: 'aps' });
    const error = await authorizer.check().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusCredentialsError);
    const message = (error as Error).message;
    expect(message).toMatch(/^prometheus\.auth\.sigv4: no AWS credentials: the AWS default provider chain found nothing/);
    for (const what of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'instance role', 'eks.amazonaws.com/role-arn']) expect(message).toContain(what);
  });

  it('with roleArn and no base credentials: the error names the role and the chain', async () => {
    noCredentialsAnywhere();
    const authorizer = sigv4Authorizer({ region: 'us-east-1', service: 'aps', roleArn: 'arn:aws:iam::123456789012:role/selfheal-amp-query' });
    await expect(authorizer.check()).rejects.toThrow(/^prometheus\.auth\.sigv4: cannot assume role arn:aws:iam::123456789012:role\/selfheal-amp-query \(roleArn\): .*AWS_ACCESS_KEY_ID/s);
  });
});
