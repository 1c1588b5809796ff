// Where the service may fetch from on an SNS message's word: the signing certificate (SigningCertURL) and the
// subscription confirmation (SubscribeURL). Both come from the message itself, so both are held to Amazon SNS's
// own hosts: a message naming any other host is refused before anything is fetched.

/** The hosts SNS messages may point to, and the trust used for the HTTPS connection. */
export interface SnsEndpoints {
  /** Tested against the URL's host (with its port, if it names one). */
  host: RegExp;
  /** PEM of an extra certificate authority to trust; undefined: Node's default trust store (Amazon's chain). */
  ca?: string;
}

/** Amazon SNS's regional endpoints, e.g. sns.us-east-1.amazonaws.com and sns.cn-north-1.amazonaws.com.cn; no port. */
export const AWS_SNS_ENDPOINTS: SnsEndpoints = { host: /^sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$/ };

/**
 * For tests only, never from the config file: lets the SNS receiver fetch certificates and confirm subscriptions at
 * a local HTTPS server (e.g. host /^127\.0\.0\.1:\d+$/ and that server's certificate as `ca`).
 */
export type TestOnlySnsEndpoints = SnsEndpoints;

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Why `text` is not an SNS signing-certificate URL (https://<SNS host>/<name>.pem), or undefined when it is one. */
export function certificateUrlProblem(text: string, endpoints: SnsEndpoints): string | undefined {
  const u = parse(text);
  if (!u) return `SigningCertURL ${JSON.stringify(text.slice(0, 200))} is not a URL`;
  if (u.protocol !== 'https:') return `SigningCertURL ${u.origin} is not https`;
  if (u.username || u.password || !endpoints.host.test(u.host)) return `SigningCertURL host ${JSON.stringify(u.host)} is not an Amazon SNS endpoint (sns.<region>.amazonaws.com)`;
  if (!/^\/[A-Za-z0-9._-]+\.pem$/.test(u.pathname) || u.search || u.hash) return `SigningCertURL path ${JSON.stringify(u.pathname.slice(0, 200))} is not a certificate (/<name>.pem)`;
  return undefined;
}

/** Why `text` is not an SNS subscription-confirmation URL (https://<SNS host>/?Action=ConfirmSubscription...). */
export function subscribeUrlProblem(text: string, endpoints: SnsEndpoints): string | undefined {
  const u = parse(text);
  if (!u) return `SubscribeURL ${JSON.stringify(text.slice(0, 200))} is not a URL`;
  if (u.protocol !== 'https:') return `SubscribeURL ${u.origin} is not https`;
  if (u.username || u.password || !endpoints.host.test(u.host)) return `SubscribeURL host ${JSON.stringify(u.host)} is not an Amazon SNS endpoint (sns.<region>.amazonaws.com)`;
  if (u.searchParams.get('Action') !== 'ConfirmSubscription') return 'SubscribeURL does not ask for ConfirmSubscription';
  return undefined;
}
