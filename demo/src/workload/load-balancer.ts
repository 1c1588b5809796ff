// The load balancer in front of each service: round robin over the instances in rotation, plain HTTP
// proxying with keep-alive, and per-instance outcome tracking (which instance is worst, for quarantine).
import http from 'node:http';
import type { Counter, Histogram } from 'prom-client';
import type { ServicePool } from './service-pool.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface LbMetrics {
  requests: Counter<'service' | 'code'>;
  duration: Histogram<'service'>;
}

/** Proxies one request to the next instance of `pool`; answers 503 when no instance is in rotation. */
export function proxy(pool: ServicePool, path: string, req: http.IncomingMessage, res: http.ServerResponse, metrics: LbMetrics): void {
  const service = pool.spec.name;
  const stop = metrics.duration.startTimer({ service });
  const done = (code: number): void => {
    metrics.requests.inc({ service, code: String(code) });
    stop();
  };
  const member = pool.pick();
  if (!member) {
    res.statusCode = 503;
    res.end(JSON.stringify({ error: `no instance of ${service} in rotation` }));
    done(503);
    return;
  }
  member.process.inFlight += 1;
  let settled = false;
  const settle = (code: number): void => {
    if (settled) return;
    settled = true;
    member.process.inFlight -= 1;
    pool.record(member, code >= 500);
    done(code);
  };
  const upstream = http.request(
    { host: '127.0.0.1', port: member.process.port, method: req.method, path, agent, headers: { accept: 'application/json' }, timeout: 10_000 },
    (answer) => {
      const code = answer.statusCode ?? 502;
      res.writeHead(code, { 'content-type': answer.headers['content-type'] ?? 'application/json', 'x-instance': member.process.instance });
      answer.pipe(res);
      answer.on('end', () => settle(code));
      answer.on('error', () => settle(502));
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
  upstream.on('error', (error) => {
    if (!res.headersSent) {
      res.statusCode = 502;
      res.end(JSON.stringify({ error: `instance ${member.process.instance}: ${error.message}` }));
    } else {
      res.destroy();
    }
    settle(502);
  });
  upstream.end();
}
