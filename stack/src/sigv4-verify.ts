// The server side of AWS Signature Version 4, written here from the published algorithm
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) with node:crypto only, apart
// from the signer under test (AWS's @smithy/signature-v4): a request is accepted only when the signature this
// code recomputes from the received method, path, query, signed headers and body matches the one sent.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Secret {
  accessKeyId: string;
  secretAccessKey: string;
  /** Required as X-Amz-Security-Token (signed) when set: temporary credentials. */
  sessionToken?: string;
}

export interface ReceivedRequest {
  method: string;
  /** The request target as received: path and raw query string (`/api/v1/query?query=up`). */
  target: string;
  /** Header names in lower case; repeated headers joined with "," as Node does. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | string;
}

export interface VerifyOptions {
  region: string;
  service: string;
  /** Server clock (ms); requests signed more than 5 minutes away are refused, as AWS does. */
  now?: number;
  /** Skip the clock check (published test vectors are dated 2015). */
  ignoreClock?: boolean;
}

export type VerifyResult = { ok: true; accessKeyId: string; signedHeaders: string[] } | { ok: false; reason: string };

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 requires. */
function uriEncode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Canonical URI of a non-S3 service: each segment of the path as sent, encoded once more. */
function canonicalUri(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.split('/').map(uriEncode).join('/');
}

/** Canonical query: pairs decoded, encoded per RFC 3986, sorted by name then value. */
function canonicalQuery(raw: string): string {
  if (!raw) return '';
  const pairs = raw.split('&').filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    return [uriEncode(name), uriEncode(value)] as const;
  });
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

const trimValue = (v: string): string => v.trim().replace(/\s+/g, ' ');

/** Recomputes the signature of `request` with `secret` and compares it with its Authorization header. */
export function verifySigV4(request: ReceivedRequest, secret: SigV4Secret, options: VerifyOptions): VerifyResult {
  const header = (name: string): string | undefined => {
    const v = request.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const authorization = header('authorization');
  if (!authorization) return { ok: false, reason: 'no Authorization header' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!m) return { ok: false, reason: `malformed Authorization header: ${authorization.slice(0, 80)}` };
  const [, keyId, day, region, service, signedList, signature] = m as unknown as [string, string, string, string, string, string, string];
  if (keyId !== secret.accessKeyId) return { ok: false, reason: `unknown access key ${keyId}` };
  if (region !== options.region) return { ok: false, reason: `credential scope region ${region}, expected ${options.region}` };
  if (service !== options.service) return { ok: false, reason: `credential scope service ${service}, expected ${options.service}` };
  const amzDate = header('x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { ok: false, reason: 'no X-Amz-Date header' };
  if (amzDate.slice(0, 8) !== day) return { ok: false, reason: 'X-Amz-Date is not the day of the credential scope' };
  if (!options.ignoreClock) {
    const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs((options.now ?? Date.now()) - signedAt) > 5 * 60_000) return { ok: false, reason: `signature expired or not yet valid (X-Amz-Date ${amzDate})` };
  }
  const signedHeaders = signedList.split(';');
  if (!signedHeaders.includes('host')) return { ok: false, reason: 'host is not signed' };
  if (secret.sessionToken !== undefined) {
    if (header('x-amz-security-token') !== secret.sessionToken) return { ok: false, reason: 'missing or wrong X-Amz-Security-Token' };
    if (!signedHeaders.includes('x-amz-security-token')) return { ok: false, reason: 'X-Amz-Security-Token is not signed' };
  }
  const q = request.target.indexOf('?');
  const path = q < 0 ? request.target : request.target.slice(0, q);
  const query = q < 0 ? '' : request.target.slice(q + 1);
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = header(name);
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    lines.push(`${name}:${trimValue(value)}\n`);
  }
  const canonical = [request.method, canonicalUri(path), canonicalQuery(query), lines.join(''), signedList, sha256(request.body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret.secretAccessKey}`, day), region), service), 'aws4_request');
  const expected = hmac(key, toSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, reason: 'signature does not match' };
  return { ok: true, accessKeyId: keyId, signedHeaders };
}
