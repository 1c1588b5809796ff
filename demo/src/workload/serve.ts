// The workload on its own (`selfheal demo workload`): for docker-compose and for poking at the admin API by
// hand. The load generator runs for a bounded time (default 8 h) and stops by itself.
import { listenAddressProblem, parseListenAddress, type ListenOptions } from '@selfheal/contracts';
import { startWorkload, type Workload } from './workload.js';

export interface ServeOptions {
  /** host:port, e.g. 127.0.0.1:8081. */
  listen: string;
  loadHours: number;
}

/** ":8081" stays on loopback: the workload's admin API can inject faults. Port 0: any free port. */
const LISTEN: ListenOptions = { example: '127.0.0.1:8081', emptyHost: '127.0.0.1', ephemeralPort: true };

export async function serveWorkload(options: ServeOptions): Promise<Workload> {
  const problem = listenAddressProblem(options.listen, LISTEN);
  if (problem !== undefined) throw new Error(`--listen "${options.listen}": ${problem}`);
  const { host, port } = parseListenAddress(options.listen, LISTEN);
  const workload = await startWorkload({ host, port });
  workload.startLoad(options.loadHours * 3600_000);
  return workload;
}
