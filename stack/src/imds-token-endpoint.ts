// A local Azure Instance Metadata Service token endpoint, per the documented protocol
// (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http):
// GET /metadata/identity/oauth2/token?api-version=...&resource=...[&client_id=...] with the header Metadata: true
// answers {access_token, expires_in, expires_on, resource, token_type, ...}; without the header, 400.
// @azure/identity is pointed here with AZURE_POD_IDENTITY_AUTHORITY_HOST (its IMDS endpoint override).
// For tests: no Azure account here, so the managed identity endpoint is played by this server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImdsTokenRequest {
  resource: string | null;
  clientId: string | null;
  metadataHeader: boolean;
}

export interface ImdsTokenEndpoint {
  /** Base URL for AZURE_POD_IDENTITY_AUTHORITY_HOST. */
  url: string;
  /** Tokens issued, in order. */
  readonly issued: string[];
  /** Token requests (with the Metadata header) received. */
  readonly requests: ImdsTokenRequest[];
  close(): Promise<void>;
}

export interface ImdsTokenEndpointOptions {
  /** Lifetime of each token in seconds (default 3600). */
  expiresInSeconds?: number;
  /** Clock in ms (expires_on is computed from it). */
  now?: () => number;
  /** false: a VM without a managed identity (IMDS answers 400 "Identity not found"). Default true. */
  identity?: boolean;
}

export async function startImdsTokenEndpoint(options: ImdsTokenEndpointOptions = {}): Promise<ImdsTokenEndpoint> {
  const issued: string[] = [];
  const requests: ImdsTokenRequest[] = [];
  const now = options.now ?? Date.now;
  const life = options.expiresInSeconds ?? 3600;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    // MSAL asks for the path with a trailing slash; IMDS answers both.
    if (url.pathname.replace(/\/$/, '') !== '/metadata/identity/oauth2/token') return json(404, { error: 'not_found' });
    if (req.headers.metadata !== 'true') return json(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    const resource = url.searchParams.get('resource');
    requests.push({ resource, clientId: url.searchParams.get('client_id'), metadataHeader: true });
    if (!resource) return json(400, { error: 'invalid_request', error_description: 'Required query variable resource is missing' });
    if (options.identity === false) return json(400, { error: 'invalid_request', error_description: 'Identity not found' });
    const token = `imds-token-${issued.length + 1}`;
    issued.push(token);
    const nowSeconds = Math.floor(now() / 1000);
    return json(200, {
      access_token: token,
      client_id: url.searchParams.get('client_id') ?? '00000000-0000-0000-0000-000000000001',
      expires_in: String(life),
      expires_on: String(nowSeconds + life),
      ext_expires_in: String(life),
      not_before: String(nowSeconds),
      resource,
      token_type: 'Bearer',
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    issued,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
