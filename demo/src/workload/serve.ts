// The workload on its own (`selfheal demo workload`): for docker-compose and for poking at the admin API by
// hand. The load generator runs for a bounded time (default 8 h) and stops by itself.
import { startWorkload, type Workload } from './workload.js';

export interface ServeOptions {
  /** host:port, e.g. 127.0.0.1:8081. */
  listen: string;
  loadHours: number;
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new Error(`--listen must be HOST:PORT, e.g. 127.0.0.1:8081 (got "${listen}")`);
  return { host: match[1] || '127.0.0.1', port };
}

export async function serveWorkload(options: ServeOptions): Promise<Workload> {
  const { host, port } = parseListen(options.listen);
  const workload = await startWorkload({ host, port });
  workload.startLoad(options.loadHours * 3600_000);
  return workload;
}
