// The HTTP server: the fast path of POST /api/v1/alerts first, express for everything else.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListenAddress, type ListenAddress } from '@selfheal/contracts';
import { LISTEN } from '../config/schema.js';
import type { FastPath } from './fast-alerts.js';

/** The host and port of `listen` (HOST:PORT, checked by the config's rule; an empty host: every interface). */
export function listenAddress(listen: string): ListenAddress {
  return parseListenAddress(listen, LISTEN);
}

export async function listenHttp(fast: FastPath, app: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createServer((req, res) => { if (!fast(req, res)) app(req, res); });
    s.once('error', (err) => reject(new Error(`listen: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
    s.listen(port, host, () => resolve(s));
  });
  // Alertmanager cuts a receiver after 10 s; keep-alive lets it reuse connections.
  server.keepAliveTimeout = 30_000;
  return server;
}

export function baseUrl(server: Server): string {
  const addr = server.address() as AddressInfo;
  return `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

export async function closeHttp(server: Server): Promise<void> {
  await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
}
