import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel's range of ephemeral ports (Linux: 32768-60999), which it hands to outgoing connections. A port taken
 * from that range and then given to a child process can be taken meanwhile by any client socket of a busy test run
 * (seen: EADDRINUSE in CI), so test ports are picked below it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

const LOWEST = 10_000;

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(address && typeof address === 'object' ? address.port : undefined));
    });
  });
}

/**
 * A TCP port free on 127.0.0.1 right now, below the ephemeral range (a random one of [10000, low of the range)), so
 * that outgoing connections cannot take it before its user binds it; the OS's pick when none of 50 tries is free.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  if (high - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await tryListen(LOWEST + Math.floor(Math.random() * (high - LOWEST)));
      if (port !== undefined) return port;
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('could not find a free port on 127.0.0.1');
  return port;
}
