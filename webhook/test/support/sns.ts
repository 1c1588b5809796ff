// Test support for the SNS receiver, with no AWS account: certificates made here by openssl (argv, no shell), a local
// HTTPS server standing in for Amazon SNS's hosts (it serves the signing certificate and answers the
// ConfirmSubscription GET as SNS documents it), and signing as SNS signs: SHA1withRSA (SignatureVersion 1) or
// SHA256withRSA (2) over the documented string to sign, computed here apart from the service's code and signed by
// `openssl dgst`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface KeyPair { key: string; cert: string; keyFile: string }

/** A self-signed RSA certificate (and its key) for `cn`, valid for a day from now, with `san` as subjectAltName. */
export function makeCertificate(dir: string, name: string, cn: string, san?: string): KeyPair {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${cn}`,
    ...(san ? ['-addext', `subjectAltName=${san}`] : []),
  ], { stdio: 'pipe' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile };
}

/** The SNS fields each message type signs, in the documented order (sns-verify-signature-of-message). */
const SIGNED: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** Signs `message` (its Type's fields) with `signer`'s key: returns the message with SignatureVersion and Signature set. */
export function signSns(dir: string, message: Record<string, string>, signer: KeyPair, version: '1' | '2'): Record<string, string> {
  const fields = SIGNED[message.Type ?? ''] ?? SIGNED.Notification!;
  const text = fields.filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
  const input = join(dir, 'to-sign.txt');
  writeFileSync(input, text, 'utf8');
  const signature = execFileSync('openssl', ['dgst', version === '1' ? '-sha1' : '-sha256', '-sign', signer.keyFile, input]);
  return { ...message, SignatureVersion: version, Signature: signature.toString('base64') };
}

export interface FakeSnsHost {
  /** https://127.0.0.1:PORT */
  origin: string;
  /** The host pattern and CA for createHealer's testOnlySnsEndpoints. */
  endpoints: { host: RegExp; ca: string };
  /** The signing certificate's URL on this host. */
  certUrl: string;
  requests: { path: string }[];
  close(): Promise<void>;
}

/** A local HTTPS server in the place of sns.<region>.amazonaws.com: serves `signing.cert` and confirms subscriptions. */
export async function startFakeSnsHost(tls: KeyPair, signing: KeyPair): Promise<FakeSnsHost> {
  const requests: FakeSnsHost['requests'] = [];
  const certPath = '/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = req.url ?? '/';
    requests.push({ path });
    const u = new URL(path, 'https://x');
    if (req.method === 'GET' && u.pathname === certPath) {
      res.setHeader('content-type', 'application/x-x509-ca-cert');
      res.end(signing.cert);
    } else if (req.method === 'GET' && u.pathname === '/' && u.searchParams.get('Action') === 'ConfirmSubscription') {
      // The ConfirmSubscription answer of the SNS API reference (XML).
      res.setHeader('content-type', 'text/xml');
      res.end(`<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>${u.searchParams.get('TopicArn') ?? ''}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>075ecce8-8dac-11e1-bf80-f781d96e9307</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>`);
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;
  return {
    origin, certUrl: `${origin}${certPath}`, requests,
    endpoints: { host: new RegExp(`^127\\.0\\.0\\.1:${port}$`), ca: tls.cert },
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
