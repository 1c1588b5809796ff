// A Microsoft Entra token for Azure Monitor managed Prometheus, from @azure/identity's DefaultAzureCredential:
// environment (service principal), workload identity (AKS: the federated token file the webhook mounts), managed
// identity (IMDS, App Service, Arc, ...), then the developer tools (Azure CLI, azd, PowerShell). The token is
// kept and fetched again before it expires (TokenCache). Loaded on first use.
import type { TokenCredential } from '@azure/core-auth';
import { PrometheusCredentialsError, type PrometheusAuthorizer } from './request.js';
import type { AzureAuth } from './schema.js';
import { TokenCache, type TokenCacheOptions } from './token-cache.js';

const KEY = 'prometheus.auth.azure';

/** What DefaultAzureCredential tries, in its order: named in the start-up error when it finds nothing. */
export const AZURE_CREDENTIAL_CHAIN_HELP =
  'environment (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH), ' +
  'workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID, set on AKS by the workload identity webhook ' +
  'for pods labelled azure.workload.identity/use: "true"), managed identity (instance metadata service; clientId for a user-assigned one), ' +
  'Azure CLI (az login), Azure Developer CLI, Azure PowerShell';

export async function defaultAzureCredential(config: AzureAuth): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential({
    ...(config.clientId ? { managedIdentityClientId: config.clientId, workloadIdentityClientId: config.clientId } : {}),
    ...(config.tenantId ? { tenantId: config.tenantId } : {}),
  });
}

export interface AzureAuthorizerOptions extends TokenCacheOptions {
  /** Instead of DefaultAzureCredential (e.g. a WorkloadIdentityCredential built by the caller). */
  credential?: TokenCredential;
}

/** An Authorization: Bearer header with an Entra token for `scope`, from a cached, refreshed token. */
export function azureAuthorizer(config: AzureAuth, options: AzureAuthorizerOptions = {}): PrometheusAuthorizer & { readonly cache: TokenCache } {
  let credential: Promise<TokenCredential> | undefined;
  const cache = new TokenCache(async () => {
    credential ??= options.credential ? Promise.resolve(options.credential) : defaultAzureCredential(config);
    let token;
    try {
      token = await (await credential).getToken(config.scope);
    } catch (error) {
      throw new PrometheusCredentialsError(
        KEY,
        `no Microsoft Entra token for ${config.scope}: ${error instanceof Error ? error.message : String(error)}. ` +
          `DefaultAzureCredential tries, in order: ${AZURE_CREDENTIAL_CHAIN_HELP}. Set one of these for an identity with the ` +
          'Monitoring Data Reader role on the Azure Monitor workspace.',
        { cause: error },
      );
    }
    if (!token) throw new PrometheusCredentialsError(KEY, `no Microsoft Entra token for ${config.scope}: the credential returned none. Tried: ${AZURE_CREDENTIAL_CHAIN_HELP}.`);
    return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp, refreshAfterTimestamp: token.refreshAfterTimestamp };
  }, options);
  return {
    kind: 'azure',
    cache,
    async headers() {
      return { Authorization: `Bearer ${await cache.get()}` };
    },
    async check() {
      await cache.get();
    },
  };
}
