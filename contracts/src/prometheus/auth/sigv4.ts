// AWS Signature Version 4 for Amazon Managed Service for Prometheus, with AWS's own packages: the signer of
// @smithy/signature-v4 over Node's SHA-256 (@smithy/hash-node), credentials from the SDK's default provider
// chain (environment, shared config and credentials files, IRSA web identity, EKS Pod Identity / ECS container
// credentials, EC2 instance role) and, with `roleArn`, an STS AssumeRole on top of them. Loaded on first use, so
// components that do not sign pay nothing at start-up.
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { PrometheusCredentialsError, type OutgoingRequest, type PrometheusAuthorizer } from './request.js';
import type { SigV4Auth } from './schema.js';

const KEY = 'prometheus.auth.sigv4';

/** What the default provider chain reads, in its order: named in the start-up error when it finds nothing. */
export const AWS_PROVIDER_CHAIN_HELP =
  'environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN), ' +
  'shared files (~/.aws/credentials and ~/.aws/config, profile AWS_PROFILE), ' +
  'web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, set by EKS IRSA), ' +
  'container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI, set by EKS Pod Identity and ECS), ' +
  'EC2 instance role (instance metadata service)';

export interface SigV4SigningInput {
  credentials: AwsCredentialIdentity;
  region: string;
  service: string;
  /** Default: now. */
  signingDate?: Date;
  /** Extra headers to sign and send (names as given); `host` is always signed, from the URL. */
  headers?: Record<string, string>;
}

/**
 * Signs one request: the headers to add (Authorization, X-Amz-Date, X-Amz-Security-Token with temporary
 * credentials, and the extra `headers`). The canonical request covers the method, the path, the query, the
 * host and the SHA-256 of the body.
 */
export async function signSigV4(request: OutgoingRequest, input: SigV4SigningInput): Promise<Record<string, string>> {
  const [{ SignatureV4 }, { Hash }] = await Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]);
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service,
    sha256: Hash.bind(null, 'sha256'),
    // As Prometheus's own sigv4 (aws-sdk-go's signer): no X-Amz-Content-Sha256 header outside S3.
    applyChecksum: false,
    uriEscapePath: true,
  });
  const url = new URL(request.url);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...input.headers, host: url.host },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    { signingDate: input.signingDate ?? new Date() },
  );
  const out: Record<string, string> = {};
  // The HTTP client sets Host itself (the same value, from the URL).
  for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') out[name] = value;
  return out;
}

/**
 * Credentials as the SDK finds them: the default provider chain, then (with `roleArn`) temporary credentials of
 * that role. Cached, and refreshed 5 minutes before they expire.
 */
export async function awsCredentialProvider(config: SigV4Auth): Promise<AwsCredentialIdentityProvider> {
  const [{ fromNodeProviderChain, fromTemporaryCredentials }, { memoize }] = await Promise.all([
    import('@aws-sdk/credential-providers'),
    import('@smithy/property-provider'),
  ]);
  const chain = fromNodeProviderChain({ clientConfig: { region: config.region } });
  const provider = config.roleArn
    ? fromTemporaryCredentials({
        masterCredentials: chain,
        params: { RoleArn: config.roleArn, RoleSessionName: 'selfheal-prometheus' },
        clientConfig: { region: config.region },
      })
    : chain;
  const expiresSoon = (c: AwsCredentialIdentity): boolean => c.expiration !== undefined && c.expiration.getTime() - Date.now() < 5 * 60_000;
  return memoize(provider, expiresSoon, (c) => c.expiration !== undefined);
}

/** Turns the provider's failure into a message naming the chain, the role, and what to set. */
function credentialsError(config: SigV4Auth, error: unknown): PrometheusCredentialsError {
  const detail = error instanceof Error ? error.message : String(error);
  if (config.roleArn) {
    return new PrometheusCredentialsError(
      KEY,
      `cannot assume role ${config.roleArn} (roleArn): ${detail}. The base credentials come from the AWS default provider chain: ${AWS_PROVIDER_CHAIN_HELP}; ` +
        'they need sts:AssumeRole on that role, and the role aps:QueryMetrics on the workspace.',
      { cause: error },
    );
  }
  return new PrometheusCredentialsError(
    KEY,
    `no AWS credentials: the AWS default provider chain found nothing (${detail}). It reads, in order: ${AWS_PROVIDER_CHAIN_HELP}. ` +
      'Set one of these (on EKS: annotate the service account with eks.amazonaws.com/role-arn) for an identity allowed aps:QueryMetrics on the workspace.',
    { cause: error },
  );
}

export interface SigV4AuthorizerOptions {
  /** Instead of the SDK's chain (tests that sign with known keys). */
  credentials?: AwsCredentialIdentityProvider;
  /** Clock (tests). */
  now?: () => Date;
}

/** Signs every request to Amazon Managed Service for Prometheus with SigV4. */
export function sigv4Authorizer(config: SigV4Auth, options: SigV4AuthorizerOptions = {}): PrometheusAuthorizer {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  const credentials = async (): Promise<AwsCredentialIdentity> => {
    provider ??= options.credentials ? Promise.resolve(options.credentials) : awsCredentialProvider(config);
    try {
      return await (await provider)();
    } catch (error) {
      throw credentialsError(config, error);
    }
  };
  return {
    kind: 'sigv4',
    async headers(request) {
      return signSigV4(request, {
        credentials: await credentials(),
        region: config.region,
        service: config.service,
        ...(options.now ? { signingDate: options.now() } : {}),
      });
    },
    async check() {
      await credentials();
    },
  };
}
