// A reverse proxy on 127.0.0.1 in front of the real Prometheus that lets a request through only when its
// authentication checks out, as the managed services do: SigV4 (Amazon Managed Service for Prometheus, under
// /workspaces/<id>) or a bearer token (Azure Monitor managed Prometheus). Refusals are 403 with a reason.
// For tests: no cloud account here, so the managed endpoint is played by this proxy and a real Prometheus.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4, type ReceivedRequest, type SigV4Secret } from './sigv4-verify.js';

export type AuthCheck = (request: ReceivedRequest) => { ok: true } | { ok: false; reason: string };

/** Accepts requests signed with `secret` for `region`/`service`, within 5 minutes of now. */
export function sigv4Check(secret: SigV4Secret, scope: { region: string; service: string }): AuthCheck {
  return (request) => verifySigV4(request, secret, scope);
}

/** Accepts `Authorization: Bearer <token>` when `valid(token)`. */
export function bearerCheck(valid: (token: string) => boolean): AuthCheck {
  return (request) => {
    const auth = request.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth) : null;
    if (!m?.[1]) return { ok: false, reason: 'no bearer token' };
    return valid(m[1]) ? { ok: true } : { ok: false, reason: 'token not accepted' };
  };
}

export interface ProxiedRequest {
  method: string;
  target: string;
  authorization: string | undefined;
  ok: boolean;
  reason?: string;
}

export interface AuthProxy {
  /** Base URL to configure as prometheus.url (with the path prefix). */
  url: string;
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

export interface AuthProxyOptions {
  /** The real Prometheus, e.g. http://127.0.0.1:9090. */
  upstream: string;
  check: AuthCheck;
  /** Served under this path, stripped before forwarding (AMP: /workspaces/ws-...). */
  prefix?: string;
}

export async function startAuthProxy(options: AuthProxyOptions): Promise<AuthProxy> {
  const upstream = new URL(options.upstream);
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.url ?? '/';
      const verdict = options.check({ method: req.method ?? 'GET', target, headers: req.headers, body });
      const seen: ProxiedRequest = { method: req.method ?? 'GET', target, authorization: req.headers.authorization, ok: verdict.ok };
      if (!verdict.ok) seen.reason = verdict.reason;
      requests.push(seen);
      if (!verdict.ok) {
        res.writeHead(403, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: verdict.reason }));
        return;
      }
      if (!target.startsWith(`${prefix}/`)) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `not under ${prefix}/` }));
        return;
      }
      const headers = { ...req.headers, host: upstream.host };
      delete headers.authorization;
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: target.slice(prefix.length), headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => res.writeHead(502).end(error.message));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
