// A missing Azure credential named at start-up (no Azure account here: an IMDS endpoint with no identity assigned,
// per the documented protocol, and no Azure CLI, azd or PowerShell on this machine). A file of its own: MSAL keeps
// the managed identity endpoint it found for the life of the process.
import { createPrometheusAuthorizer } from '@selfheal/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { startImdsTokenEndpoint } from '../src/imds-token-endpoint.js';

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

describe('prometheus.auth.azure with no credential anywhere', () => {
  it('no token from any source: the start-up check names the chain and what to set', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AZURE_') || k.startsWith('IDENTITY_') || k.startsWith('MSI_') || k === 'IMDS_ENDPOINT') delete process.env[k];
    // An IMDS with no identity assigned (400 "Identity not found"), and no Azure CLI / azd / PowerShell here.
    const imds = await startImdsTokenEndpoint({ identity: false });
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
    const authorizer = createPrometheusAuthorizer({ azure: { scope: 'https://prometheus.monitor.azure.com/.default' } });
    const error = await authorizer?.check().then(() => undefined, (e: unknown) => e);
    await imds.close();
    expect(imds.requests.length).toBeGreaterThan(0);
    expect((error as Error).message).toMatch(/^prometheus\.auth\.azure: no Microsoft Entra token for https:\/\/prometheus\.monitor\.azure\.com\/\.default: /);
    for (const what of ['AZURE_FEDERATED_TOKEN_FILE', 'managed identity', 'AZURE_CLIENT_SECRET', 'Monitoring Data Reader']) expect((error as Error).message).toContain(what);
  }, 60_000);
});
