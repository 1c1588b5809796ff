// The authorizer for a `prometheus.auth` section: one object both the exporter and the healing service use.
import { readFileSync } from 'node:fs';
import { azureAuthorizer, type AzureAuthorizerOptions } from './azure.js';
import { PrometheusCredentialsError, type PrometheusAuthorizer } from './request.js';
import type { PrometheusAuth } from './schema.js';
import { sigv4Authorizer, type SigV4AuthorizerOptions } from './sigv4.js';

/** Reads a secret file per request (rotated secrets are picked up without a restart), naming the key on failure. */
function readSecret(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new PrometheusCredentialsError(key, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function fileAuthorizer(kind: string, header: () => string): PrometheusAuthorizer {
  return {
    kind,
    headers: () => Promise.resolve({ Authorization: header() }),
    check: () => Promise.resolve(void header()),
  };
}

export interface PrometheusAuthorizerOptions {
  sigv4?: SigV4AuthorizerOptions;
  azure?: AzureAuthorizerOptions;
}

/** The authorizer for `auth`, or undefined when there is none (requests go out as they are). */
export function createPrometheusAuthorizer(auth: PrometheusAuth | undefined, options: PrometheusAuthorizerOptions = {}): PrometheusAuthorizer | undefined {
  if (!auth) return undefined;
  if (auth.sigv4) return sigv4Authorizer(auth.sigv4, options.sigv4);
  if (auth.azure) return azureAuthorizer(auth.azure, options.azure);
  const { bearerTokenFile, basic } = auth;
  if (bearerTokenFile) return fileAuthorizer('bearerTokenFile', () => `Bearer ${readSecret('prometheus.auth.bearerTokenFile', bearerTokenFile)}`);
  if (basic) {
    return fileAuthorizer('basic', () => {
      const password = readSecret('prometheus.auth.basic.passwordFile', basic.passwordFile);
      return `Basic ${Buffer.from(`${basic.username}:${password}`).toString('base64')}`;
    });
  }
  return undefined;
}
