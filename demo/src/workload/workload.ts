// The demo workload: services of child-process instances behind a load balancer, their downstream
// dependencies, a load generator, the admin API and one /metrics endpoint for all of it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { AggregatorRegistry, Counter, Histogram, Registry, type Gauge } from 'prom-client';
import { collectedGauge } from './collected-gauge.js';
import { LATENCY_BUCKETS } from '../instance/app.js';
import { adminRouter, type AdminEvent } from './admin-api.js';
import { proxy, type LbMetrics } from './load-balancer.js';
import { LoadGenerator, type Ramp } from './load-generator.js';
import { registerReleaseMetrics } from './release-metrics.js';
import type { Revision } from './revisions.js';
import { ServicePool, type InstanceView } from './service-pool.js';
import { DEFAULT_SERVICES, FAULT_KINDS, type ActiveFaults, type ServiceSpec } from './spec.js';

export interface WorkloadOptions {
  services?: readonly ServiceSpec[];
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  /** Run the built-in load generator for this long (default: do not start it). */
  loadDurationMs?: number;
  ramps?: readonly Ramp[];
  waveAmplitude?: number;
  onAdminAction?(event: AdminEvent): void;
}

export interface ServiceState {
  service: string;
  replicas: number;
  maxReplicas: number;
  cacheEnabled: boolean;
  breakerOpen: boolean;
  faults: ActiveFaults;
  targetRps: number;
  instances: InstanceView[];
  /** The revision it runs, and its release history (oldest first). */
  revision: number;
  version: string;
  revisions: readonly Revision[];
}

export interface Workload {
  /** Base URL: the load balancer at /svc/<service>/..., the admin API at /admin, metrics at /metrics. */
  readonly url: string;
  /** host:port, for a Prometheus scrape target. */
  readonly address: string;
  readonly pools: ReadonlyMap<string, ServicePool>;
  readonly load: LoadGenerator | undefined;
  state(): ServiceState[];
  /** Starts the built-in load generator (bounded by durationMs). */
  startLoad(durationMs: number, ramps?: readonly Ramp[]): LoadGenerator;
  stop(): Promise<void>;
}

export async function startWorkload(options: WorkloadOptions = {}): Promise<Workload> {
  const specs = options.services ?? DEFAULT_SERVICES;
  const app = express();
  app.disable('x-powered-by');
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, options.host ?? '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  server.keepAliveTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const pools = new Map<string, ServicePool>();
  const byDependency = new Map<string, ServicePool>();
  for (const spec of specs) {
    const pool = new ServicePool(spec, `${url}/deps/${spec.dependency}`);
    pools.set(spec.name, pool);
    byDependency.set(spec.dependency, pool);
  }
  let load: LoadGenerator | undefined;

  // Supervisor metrics: the client-side view through the load balancer, replicas and settings.
  const registry = new Registry();
  const lb: LbMetrics = {
    requests: new Counter({ name: 'demo_lb_requests_total', help: 'Requests through the load balancer, by status code.', labelNames: ['service', 'code'], registers: [registry] }),
    duration: new Histogram({ name: 'demo_lb_request_duration_seconds', help: 'Latency seen by clients of the load balancer, in seconds.', labelNames: ['service'], buckets: LATENCY_BUCKETS, registers: [registry] }),
  };
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void => collectedGauge(registry, name, help, labelNames, collect);
  gauge('demo_service_replicas', 'Instances in rotation behind the load balancer.', ['service'], (g) => {
    for (const p of pools.values()) g.set({ service: p.spec.name }, p.inRotation().length);
  });
  gauge('demo_service_quarantined_instances', 'Instances taken out of rotation.', ['service'], (g) => {
    for (const p of pools.values()) g.set({ service: p.spec.name }, p.members.filter((m) => m.state === 'quarantined').length);
  });
  gauge('demo_service_cache_enabled', '1 when the service serves dependency answers from its cache.', ['service'], (g) => {
    for (const p of pools.values()) g.set({ service: p.spec.name }, p.settings.cacheEnabled ? 1 : 0);
  });
  gauge('demo_service_circuit_breaker_open', '1 when the circuit breaker to the dependency is open.', ['service'], (g) => {
    for (const p of pools.values()) g.set({ service: p.spec.name }, p.settings.breakerOpen ? 1 : 0);
  });
  gauge('demo_fault_active', '1 while a fault of this kind is injected (ground truth for reports, not a model input).', ['service', 'kind'], (g) => {
    for (const p of pools.values()) for (const kind of FAULT_KINDS) g.set({ service: p.spec.name, kind }, p.faults[kind] ? 1 : 0);
  });
  gauge('demo_load_target_requests_per_second', 'Request rate the built-in load generator aims at.', ['service'], (g) => {
    for (const p of pools.values()) g.set({ service: p.spec.name }, load?.running ? load.targetRps(p) : 0);
  });

  registerReleaseMetrics(registry, pools);

  // The load balancer.
  app.use('/svc/:service', (req, res) => {
    const pool = pools.get(String(req.params.service));
    if (!pool) {
      res.status(404).json({ error: `unknown service "${String(req.params.service)}"` });
      return;
    }
    proxy(pool, req.url, req, res, lb);
  });

  // The downstream dependencies (external services in real life): a few ms normally; the dependency faults
  // make them slow or failing.
  app.get('/deps/:dependency/items/:id', (req, res) => {
    const pool = byDependency.get(String(req.params.dependency));
    if (!pool) {
      res.status(404).json({ error: `unknown dependency "${String(req.params.dependency)}"` });
      return;
    }
    const delay = 2 + Math.random() * 4 + (pool.faults.slow_dependency?.latencyMs ?? 0);
    setTimeout(() => {
      const failing = pool.faults.failing_dependency;
      if (failing && Math.random() < failing.errorRatio) {
        res.status(503).json({ error: `${pool.spec.dependency} is failing` });
        return;
      }
      // An uncacheable slow dependency (cacheable: false): instances may not keep its answers.
      if (pool.faults.slow_dependency?.cacheable === false) res.set('cache-control', 'no-store');
      res.json({ id: req.params.id, dependency: pool.spec.dependency, price: Number(req.params.id) * 3 + 7 });
    }, delay);
  });

  const state = (): ServiceState[] =>
    [...pools.values()].map((p) => ({
      service: p.spec.name,
      replicas: p.inRotation().length,
      maxReplicas: p.spec.maxReplicas,
      cacheEnabled: p.settings.cacheEnabled,
      breakerOpen: p.settings.breakerOpen,
      faults: p.faults,
      targetRps: load?.running ? load.targetRps(p) : 0,
      instances: p.view(),
      revision: p.revisions.current.revision,
      version: p.revisions.current.version,
      revisions: p.revisions.list(),
    }));

  app.use(
    '/admin',
    adminRouter({
      pools,
      state,
      resetAll: async () => {
        await Promise.all([...pools.values()].map((p) => p.reset()));
      },
      ...(options.onAdminAction ? { onAction: options.onAdminAction } : {}),
    }),
  );

  // One scrape target for every instance: each child's metrics (labelled service/instance) plus the supervisor's.
  app.get('/metrics', async (_req, res) => {
    const members = [...pools.values()].flatMap((p) => p.members);
    const children = await Promise.all(members.map((m) => m.process.metrics()));
    const all = [...children.filter((m) => m !== undefined), await registry.getMetricsAsJSON()];
    const merged = AggregatorRegistry.aggregate(all);
    res.type(merged.contentType).send(await merged.metrics());
  });
  app.get('/-/healthy', (_req, res) => {
    res.send('ok');
  });

  const stopServer = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  try {
    await Promise.all([...pools.values()].map((p) => p.start()));
  } catch (error) {
    await Promise.all([...pools.values()].map((p) => p.stop()));
    await stopServer();
    throw error;
  }

  const workload: Workload = {
    url,
    address: `127.0.0.1:${port}`,
    pools,
    get load() {
      return load;
    },
    state,
    startLoad(durationMs, ramps = options.ramps ?? []) {
      load?.stop();
      load = new LoadGenerator({
        baseUrl: url,
        pools: [...pools.values()],
        durationMs,
        ramps,
        ...(options.waveAmplitude !== undefined ? { waveAmplitude: options.waveAmplitude } : {}),
      });
      load.start();
      return load;
    },
    async stop() {
      load?.stop();
      await Promise.all([...pools.values()].map((p) => p.stop()));
      await stopServer();
    },
  };
  if (options.loadDurationMs) workload.startLoad(options.loadDurationMs);
  return workload;
}
