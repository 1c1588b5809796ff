// Webhook authentication: bearer token (Alertmanager http_config.authorization) or basic auth, compared in
// constant time. `auth: none` must be chosen explicitly and is logged loudly.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Equal-length digests make the comparison constant-time whatever the inputs' lengths. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export type Authenticator = (authorization: string | undefined) => boolean;

function readSecret(file: string, what: string): string {
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`auth: cannot read the ${what} file ${file}: ${(err as Error).message}`);
  }
  if (secret.length < 16) throw new Error(`auth: the ${what} in ${file} is shorter than 16 characters; use a long random secret`);
  return secret;
}

export function makeAuthenticator(auth: Config['auth']): Authenticator {
  if (auth.type === 'none') return () => true;
  if (auth.type === 'bearer') {
    const token = readSecret(auth.tokenFile, 'bearer token');
    // RFC 7235: the scheme (any case), one or more spaces, the credentials. Node has already dropped the spaces
    // and tabs around the header value; other whitespace (a no-break space) is part of what was sent.
    return (header) => {
      const m = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(header ?? '');
      return safeEqual(m?.[1] ?? '', token);
    };
  }
  const expected = `${auth.username}:${readSecret(auth.passwordFile, 'password')}`;
  return (header) => {
    const m = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? '');
    return safeEqual(m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '', expected);
  };
}
