// Verifying an SNS message's signature: SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over the string to
// sign (message.ts), with the public key of the certificate at SigningCertURL. Certificates are fetched over HTTPS
// from SNS's own hosts only (endpoints.ts) and cached while they are valid; a fetch that fails is not cached.
import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { certificateUrlProblem, type SnsEndpoints } from './endpoints.js';
import { httpsGetText } from './fetch.js';
import { stringToSign, type SnsMessage } from './message.js';

const ALGORITHMS: Record<string, string> = { 1: 'sha1', 2: 'sha256' };
/** How long a fetched certificate is trusted before it is fetched again (at most until it expires). */
const CACHE_SECONDS = 24 * 3600;
const MAX_CACHED = 100;

/** The message is not authentic (403). */
export class SignatureRefused extends Error {}
/** The certificate could not be had (502: SNS retries the delivery). */
export class CertificateUnavailable extends Error {}

interface Cached { key: KeyObject; until: number }

export class SnsSignatureVerifier {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<Cached>>();

  /**
   * @param now the wall clock, in seconds: a certificate's validity and the cache's age are real time, whatever
   *   clock the engine decides with.
   */
  constructor(private readonly endpoints: SnsEndpoints, private readonly now: () => number = () => Date.now() / 1000) {}

  /** Resolves when the signature is good; rejects with SignatureRefused or CertificateUnavailable. */
  async verify(m: SnsMessage): Promise<void> {
    if (m.Signature === undefined || m.SignatureVersion === undefined || m.SigningCertURL === undefined) {
      throw new SignatureRefused('unsigned (Signature, SignatureVersion or SigningCertURL missing)');
    }
    const algorithm = ALGORITHMS[m.SignatureVersion];
    if (!algorithm) throw new SignatureRefused(`SignatureVersion ${JSON.stringify(m.SignatureVersion)} is not 1 or 2`);
    const problem = certificateUrlProblem(m.SigningCertURL, this.endpoints);
    if (problem) throw new SignatureRefused(problem);
    const signed = stringToSign(m);
    if (signed === undefined) throw new SignatureRefused(`a ${m.Type} must carry Token and SubscribeURL`);
    const signature = Buffer.from(m.Signature, 'base64');
    if (signature.length === 0) throw new SignatureRefused('empty Signature');
    const { key } = await this.certificate(m.SigningCertURL);
    let good = false;
    try {
      good = verify(algorithm, Buffer.from(signed, 'utf8'), key, signature);
    } catch {
      good = false;
    }
    if (!good) throw new SignatureRefused(`the signature does not match the message (SignatureVersion ${m.SignatureVersion}, certificate ${m.SigningCertURL})`);
  }

  private certificate(url: string): Promise<Cached> {
    const now = this.now();
    const hit = this.cache.get(url);
    if (hit && hit.until > now) return Promise.resolve(hit);
    const pending = this.inFlight.get(url);
    if (pending) return pending;
    const p = this.load(url).finally(() => this.inFlight.delete(url));
    this.inFlight.set(url, p);
    return p;
  }

  private async load(url: string): Promise<Cached> {
    let pem: string;
    try {
      pem = await httpsGetText(url, { timeoutMs: 5000, maxBytes: 64 * 1024, ca: this.endpoints.ca });
    } catch (err) {
      throw new CertificateUnavailable(`cannot fetch the signing certificate ${url}: ${(err as Error).message}`);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new SignatureRefused(`${url} is not a PEM certificate: ${(err as Error).message}`);
    }
    const now = this.now();
    const from = Date.parse(cert.validFrom) / 1000;
    const to = Date.parse(cert.validTo) / 1000;
    if (!(from <= now && now <= to)) throw new SignatureRefused(`the signing certificate ${url} is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
    const entry = { key: cert.publicKey, until: Math.min(to, now + CACHE_SECONDS) };
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(url, entry);
    return entry;
  }
}
