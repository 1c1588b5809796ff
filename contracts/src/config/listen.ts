// Listen addresses, HOST:PORT as Go's net.Listen and Prometheus's --web.listen-address take them:
// "127.0.0.1:9188", "[::1]:9188", ":9188" (an empty host: every interface).

export interface ListenAddress {
  /** Without IPv6 brackets; the `emptyHost` option when the text has none. */
  host: string;
  port: number;
}

export interface ListenOptions {
  /** The example in the message, e.g. "127.0.0.1:9189". */
  example?: string;
  /** Whether port 0 (the system picks a free port) is accepted; default false. */
  ephemeralPort?: boolean;
  /** The host of ":PORT"; default "0.0.0.0" (every interface). */
  emptyHost?: string;
}

const LISTEN_RE = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):(\d{1,5})$/;

/** What is wrong with a listen address, or undefined when it is one. */
export function listenAddressProblem(text: string, options: ListenOptions = {}): string | undefined {
  const match = LISTEN_RE.exec(text);
  if (!match) return `must be HOST:PORT, e.g. ${options.example ?? '127.0.0.1:9189'}`;
  const port = Number(match[2]);
  const min = options.ephemeralPort ? 0 : 1;
  return port >= min && port <= 65535 ? undefined : `port ${port} is out of range; use ${min}-65535`;
}

/** The host and port of a listen address; throws an Error saying what is wrong (check first for config messages). */
export function parseListenAddress(text: string, options: ListenOptions = {}): ListenAddress {
  const problem = listenAddressProblem(text, options);
  const match = LISTEN_RE.exec(text);
  if (problem !== undefined || !match) throw new Error(`listen address "${text}": ${problem ?? 'not HOST:PORT'}`);
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host || (options.emptyHost ?? '0.0.0.0'), port: Number(match[2]) };
}
