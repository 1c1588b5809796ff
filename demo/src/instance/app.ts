// One instance of a demo service: an express app that does real CPU work per request, calls its downstream
// dependency (through an optional TTL cache and a circuit breaker), and exposes RED and process metrics.
import express, { type Express } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { NO_FAULTS, type InstanceFaults, type InstanceSettings, type InstanceStartConfig } from './protocol.js';

export interface InstanceApp {
  app: Express;
  registry: Registry;
  applySettings(settings: InstanceSettings): void;
  applyFaults(faults: InstanceFaults): void;
  /** Bytes retained by the leak fault so far. */
  leakedBytes(): number;
  close(): void;
}

/** Burns real CPU for `ms` milliseconds (the request's compute cost). */
/**
 * Spends `ms` of this process's CPU time (not wall time): on a busy machine a request then takes longer but costs
 * the same CPU, as real work does, so the CPU a service uses follows its load and not the machine's contention.
 * Works in slices of about 1 ms and yields to the event loop between them, as a well-behaved Node service chunks
 * CPU work: other requests' I/O (the dependency lookups the latency feature times) is not held up behind it.
 * Bounded by 20x `ms` in wall time.
 */
export async function burnCpu(ms: number): Promise<number> {
  const budget = ms * 1000;
  const deadline = performance.now() + 20 * ms;
  let spent = 0;
  let x = 0;
  for (;;) {
    // Only this slice runs between the two readings (no await inside), so its CPU is this request's.
    const before = process.cpuUsage();
    const slice = performance.now() + 1;
    while (performance.now() < slice) for (let i = 0; i < 500; i++) x += Math.sqrt(i + x);
    const used = process.cpuUsage(before);
    spent += used.user + used.system;
    if (spent >= budget || performance.now() >= deadline) return x;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export const LATENCY_BUCKETS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.4, 0.6, 1, 2.5, 5];

export function createInstanceApp(config: InstanceStartConfig): InstanceApp {
  let settings = config.settings;
  let faults = NO_FAULTS;
  const cache = new Map<string, { body: unknown; expires: number }>();
  const leaked: Buffer[] = [];
  let leakedTotal = 0;

  const registry = new Registry();
  registry.setDefaultLabels({ service: config.service, instance: config.instance });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'demo_http_requests_total',
    help: 'Requests served by this instance, by HTTP status code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'demo_http_request_duration_seconds',
    help: 'Time to serve a request, in seconds.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const lookupDuration = new Histogram({
    name: 'demo_dependency_lookup_duration_seconds',
    help: 'Time to get the dependency answer a request needs (from the cache, the breaker fallback or the dependency), in seconds.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const depCalls = new Counter({
    name: 'demo_dependency_requests_total',
    help: 'Lookups of the downstream dependency, by outcome (ok, error, timeout, cache_hit, short_circuited).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'demo_leaked_bytes',
    help: 'Bytes retained by the injected memory leak (freed only by a restart).',
    registers: [registry],
    collect() {
      this.set(leakedTotal);
    },
  });
  for (const code of ['200', '500', '502']) requests.inc({ code }, 0);
  for (const outcome of ['ok', 'error', 'timeout', 'cache_hit', 'short_circuited']) depCalls.inc({ outcome }, 0);

  // The leak: retained buffers, touched so that they count in the resident set.
  const leakTimer = setInterval(() => {
    if (faults.leakBytesPerSecond <= 0 || leakedTotal >= faults.leakCapBytes) return;
    const size = Math.min(Math.ceil(faults.leakBytesPerSecond / 10), faults.leakCapBytes - leakedTotal);
    leaked.push(Buffer.allocUnsafe(size).fill(0x5a));
    leakedTotal += size;
  }, 100);
  leakTimer.unref();

  async function lookup(id: string): Promise<{ body: unknown; source: string } | { error: string }> {
    if (settings.breakerOpen) {
      depCalls.inc({ outcome: 'short_circuited' });
      return { body: { id, fallback: true }, source: 'fallback' };
    }
    if (settings.cacheEnabled) {
      const hit = cache.get(id);
      if (hit && hit.expires > Date.now()) {
        depCalls.inc({ outcome: 'cache_hit' });
        return { body: hit.body, source: 'cache' };
      }
    }
    try {
      const response = await fetch(`${config.dependencyUrl}/items/${encodeURIComponent(id)}`, {
        signal: AbortSignal.timeout(config.dependencyTimeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        depCalls.inc({ outcome: 'error' });
        return { error: `dependency answered ${response.status}` };
      }
      const body: unknown = await response.json();
      depCalls.inc({ outcome: 'ok' });
      // `no-store` (an uncacheable slow dependency): the cache may not keep it, so enabling the cache does not help.
      if (settings.cacheEnabled && !/no-store/i.test(response.headers.get('cache-control') ?? '')) cache.set(id, { body, expires: Date.now() + settings.cacheTtlMs });
      return { body, source: 'dependency' };
    } catch (error) {
      const timeout = error instanceof Error && error.name === 'TimeoutError';
      depCalls.inc({ outcome: timeout ? 'timeout' : 'error' });
      return { error: timeout ? 'dependency timed out' : `dependency unreachable: ${String(error)}` };
    }
  }

  const app = express();
  app.disable('x-powered-by');
  app.get('/-/healthy', (_req, res) => {
    res.send('ok');
  });
  app.get('/items/:id', async (req, res) => {
    const stop = duration.startTimer();
    const finish = (code: number, body: unknown): void => {
      requests.inc({ code: String(code) });
      stop();
      res.status(code).json(body);
    };
    if (faults.errorRatio > 0 && Math.random() < faults.errorRatio) {
      finish(500, { error: `instance ${config.instance} is broken`, instance: config.instance });
      return;
    }
    await burnCpu(config.cpuMsPerRequest);
    const stopLookup = lookupDuration.startTimer();
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    const result = await lookup(req.params.id);
    stopLookup();
    if ('error' in result) finish(502, { error: result.error, instance: config.instance });
    else finish(200, { item: result.body, source: result.source, instance: config.instance });
  });

  return {
    app,
    registry,
    applySettings(next) {
      settings = next;
      if (!next.cacheEnabled) cache.clear();
    },
    applyFaults(next) {
      faults = next;
    },
    leakedBytes: () => leakedTotal,
    close() {
      clearInterval(leakTimer);
      leaked.length = 0;
    },
  };
}
