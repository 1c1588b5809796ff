// prometheus.auth.sigv4's credentials from the AWS SDK's chain when they come from STS (no AWS account here): EKS
// IRSA's web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN) and `roleArn` (AssumeRole signed with the base
// credentials), against a local STS on 127.0.0.1 (AWS_ENDPOINT_URL_STS) that answers the documented Query API
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html, .../API_AssumeRole.html).
// The request to Prometheus must then verify with the temporary credentials STS handed out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sigv4Authorizer } from '@selfheal/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifySigV4 } from '../src/sigv4-verify.js';

const BASE = { accessKeyId: 'AKIDBASECREDENTIALS', secretAccessKey: 'base-secret' };
const ROLE = { accessKeyId: 'ASIAROLECREDENTIALS', secretAccessKey: 'role-secret', sessionToken: 'role-session-token' };
const IRSA = { accessKeyId: 'ASIAIRSACREDENTIALS', secretAccessKey: 'irsa-secret', sessionToken: 'irsa-session-token' };

interface StsCall { action: string | null; roleArn: string | null; webIdentityToken: string | null; signedBy?: string; signatureOk?: boolean }
const calls: StsCall[] = [];
let sts: http.Server;
let stsUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'selfheal-aws-chain-'));
const savedEnv = { ...process.env };

function credentialsXml(action: string, c: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): string {
  const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  return `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials>` +
    `<AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken>` +
    `<Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>` +
    `<AssumedRoleId>AROA0000000000EXAMPLE:s</AssumedRoleId></AssumedRoleUser></${action}Result>` +
    `<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></${action}Response>`;
}

beforeAll(async () => {
  sts = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString('utf8'));
      const call: StsCall = { action: form.get('Action'), roleArn: form.get('RoleArn'), webIdentityToken: form.get('WebIdentityToken') };
      calls.push(call);
      res.setHeader('Content-Type', 'text/xml');
      if (call.action === 'AssumeRoleWithWebIdentity') return void res.end(credentialsXml('AssumeRoleWithWebIdentity', IRSA));
      if (call.action === 'AssumeRole') {
        // AssumeRole is signed with the caller's (base) credentials: checked like STS does.
        const verdict = verifySigV4({ method: req.method ?? 'POST', target: req.url ?? '/', headers: req.headers, body }, BASE, { region: 'eu-north-1', service: 'sts' });
        call.signatureOk = verdict.ok;
        if (!verdict.ok) return void res.writeHead(403).end(`<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>${verdict.reason}</Message></Error></ErrorResponse>`);
        call.signedBy = verdict.accessKeyId;
        return void res.end(credentialsXml('AssumeRole', ROLE));
      }
      res.writeHead(400).end('<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
    });
  });
  await new Promise<void>((r) => sts.listen(0, '127.0.0.1', r));
  stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => sts?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  calls.length = 0;
});

function cleanAwsEnv(): void {
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_STS: stsUrl });
}

const QUERY_URL = 'https://aps-workspaces.eu-north-1.amazonaws.com/workspaces/ws-1/api/v1/query';
async function verifiedWith(authorizer: ReturnType<typeof sigv4Authorizer>, secret: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) {
  const body = 'query=up';
  const headers = await authorizer.headers({ method: 'POST', url: QUERY_URL, body });
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return verifySigV4({ method: 'POST', target: '/workspaces/ws-1/api/v1/query', headers: { ...lower, host: 'aps-workspaces.eu-north-1.amazonaws.com' }, body }, secret, { region: 'eu-north-1', service: 'aps' });
}

describe('AWS credentials from STS through the SDK chain, against a local STS (no AWS account here)', () => {
  it('EKS IRSA: the web identity token file and AWS_ROLE_ARN give temporary credentials that sign the queries', async () => {
    cleanAwsEnv();
    writeFileSync(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.irsa-test-token.sig');
    Object.assign(process.env, { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'), AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/selfheal-irsa', AWS_REGION: 'eu-north-1' });
    const authorizer = sigv4Authorizer({ region: 'eu-north-1', service: 'aps' });
    await authorizer.check();
    expect(calls).toEqual([expect.objectContaining({ action: 'AssumeRoleWithWebIdentity', roleArn: 'arn:aws:iam::123456789012:role/selfheal-irsa', webIdentityToken: 'eyJhbGciOiJSUzI1NiJ9.irsa-test-token.sig' })]);
    expect(await verifiedWith(authorizer, IRSA)).toMatchObject({ ok: true, accessKeyId: IRSA.accessKeyId });
    // Cached: a second request asks STS nothing.
    await verifiedWith(authorizer, IRSA);
    expect(calls).toHaveLength(1);
  });

  it('roleArn: AssumeRole signed with the environment credentials; the role\'s credentials sign the queries', async () => {
    cleanAwsEnv();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: BASE.accessKeyId, AWS_SECRET_ACCESS_KEY: BASE.secretAccessKey });
    const authorizer = sigv4Authorizer({ region: 'eu-north-1', service: 'aps', roleArn: 'arn:aws:iam::123456789012:role/selfheal-amp-query' });
    await authorizer.check();
    expect(calls).toEqual([{ action: 'AssumeRole', roleArn: 'arn:aws:iam::123456789012:role/selfheal-amp-query', webIdentityToken: null, signatureOk: true, signedBy: BASE.accessKeyId }]);
    expect(await verifiedWith(authorizer, ROLE)).toMatchObject({ ok: true, accessKeyId: ROLE.accessKeyId });
    await verifiedWith(authorizer, ROLE);
    expect(calls).toHaveLength(1);
  });

  it('roleArn refused by STS (wrong base secret): the start-up error names the role', async () => {
    cleanAwsEnv();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: BASE.accessKeyId, AWS_SECRET_ACCESS_KEY: 'wrong' });
    const authorizer = sigv4Authorizer({ region: 'eu-north-1', service: 'aps', roleArn: 'arn:aws:iam::123456789012:role/selfheal-amp-query' });
    await expect(authorizer.check()).rejects.toThrow(/^prometheus\.auth\.sigv4: cannot assume role arn:aws:iam::123456789012:role\/selfheal-amp-query \(roleArn\): .*signature does not match/s);
    expect(calls.map((c) => c.signatureOk)).toContain(false);
  });
});
