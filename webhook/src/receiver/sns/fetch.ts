// One bounded HTTPS GET (certificates, subscription confirmations): a timeout, a size cap, 200 only, no redirects.
import { request } from 'node:https';

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Extra CA to trust (tests' local server); undefined: Node's default trust store. */
  ca?: string;
}

export function httpsGetText(url: string, limits: FetchLimits): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: limits.timeoutMs, ...(limits.ca ? { ca: limits.ca } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered HTTP ${res.statusCode ?? '?'}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) {
          req.destroy(new Error(`GET ${url}: answer larger than ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${limits.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
