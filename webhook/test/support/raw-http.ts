// A raw HTTP/1.1 client over a TCP socket, for tests that need what fetch and node:http will not send:
// any Authorization bytes (latin-1), no Content-Type at all, a Content-Length that lies, chunked bodies.
import { connect } from 'node:net';

export interface RawRequest {
  method?: string;
  path: string;
  /** In order; a header is sent as given (latin-1), none is added except Host and Connection: close. */
  headers: [string, string][];
  body?: Buffer | string;
  /**
   * `length`: Content-Length of the body (default); `chunked`: Transfer-Encoding: chunked in 8 KiB chunks;
   * `short`: announces `announce` bytes, sends the body and closes its side (the body is cut off).
   */
  framing?: 'length' | 'chunked' | 'short';
  announce?: number;
}

export interface RawResponse {
  /** undefined: the server closed the connection without answering. */
  status?: number;
  body: string;
}

export function rawHttp(baseUrl: string, req: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : (req.body ?? Buffer.alloc(0));
  const framing = req.framing ?? 'length';
  const lines = [`${req.method ?? 'POST'} ${req.path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...req.headers.map(([k, v]) => `${k}: ${v}`)];
  if (framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  else lines.push(`Content-Length: ${framing === 'short' ? (req.announce ?? body.length + 1) : body.length}`);
  const parts: Buffer[] = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')];
  if (framing === 'chunked') {
    for (let i = 0; i < body.length; i += 8192) {
      const chunk = body.subarray(i, i + 8192);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, Buffer.from('\r\n', 'latin1'));
    }
    parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  } else {
    parts.push(body);
  }
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(received).toString('utf8');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: status === undefined ? undefined : Number(status), body: split < 0 ? '' : text.slice(split + 4) });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('end', done);
    socket.on('close', done);
    // A server that answers early (413) and closes may reset the connection while the body is still going out:
    // what it answered was read before that.
    socket.on('error', done);
    socket.on('connect', () => {
      socket.write(Buffer.concat(parts));
      if (framing === 'short') socket.end();
    });
  });
}
