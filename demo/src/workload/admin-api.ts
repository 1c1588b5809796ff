// The admin API: what the healing service's HTTP actuator calls to repair, and what the demo calls to inject
// and clear faults. Bodies are validated with zod; errors name the field and the service.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Revision } from './revisions.js';
import { ActionError, type ServicePool } from './service-pool.js';
import { FAULT_DEFAULTS, FAULT_KINDS, type FaultKind } from './spec.js';

export interface AdminTarget {
  pools: ReadonlyMap<string, ServicePool>;
  state(): unknown;
  resetAll(): Promise<void>;
  /** Records an admin call (for the demo's timeline). */
  onAction?(event: AdminEvent): void;
}

export interface AdminEvent {
  /** When the call arrived (epoch ms); `finishedAt` when it was answered. */
  at: number;
  finishedAt: number;
  service: string;
  action: string;
  detail: unknown;
}

const scaleBody = z
  .object({
    replicas: z.number().int().min(1).optional(),
    delta: z.number().int().optional(),
  })
  .strict()
  .refine((b) => (b.replicas === undefined) !== (b.delta === undefined), 'give exactly one of "replicas" (absolute) or "delta" (relative)');
const cacheBody = z.object({ enabled: z.boolean().default(true), ttlSeconds: z.number().positive().max(3600).optional() }).strict();
const breakerBody = z.object({ open: z.boolean().default(true) }).strict();
const quarantineBody = z.object({ instance: z.string().min(1).optional() }).strict();
const releaseBody = z.object({ quarantined: z.boolean().default(true) }).strict();
const version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'must be 1 to 64 letters, digits, . _ + - (e.g. 1.4.0)');
const rolloutBody = z.object({ version: version.optional() }).strict();
const badReleaseBody = z
  .object({ version: version.optional(), errorRatio: z.number().min(0).max(1).optional(), latencyMs: z.number().int().min(0).max(5000).optional() })
  .strict()
  .refine((b) => (b.errorRatio ?? 1) > 0 || (b.latencyMs ?? 0) > 0, 'a bad release fails requests (errorRatio > 0) or slows them (latencyMs > 0); for a good one use POST /services/:service/rollout');
const faultBody = z
  .object({
    loadMultiplier: z.number().min(1).max(10).optional(),
    leakBytesPerSecond: z.number().int().positive().max(64 * 1024 * 1024).optional(),
    leakCapBytes: z.number().int().positive().max(1024 * 1024 * 1024).optional(),
    latencyMs: z.number().int().positive().max(5000).optional(),
    cacheable: z.boolean().optional(),
    errorRatio: z.number().min(0).max(1).optional(),
    instance: z.string().min(1).optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, body: unknown, where: string): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
    throw new ActionError(`invalid body for ${where}: ${issues}`, 400);
  }
  return result.data;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap =
  (handler: Handler) =>
  (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve(handler(req, res)).catch(next);
  };

export function adminRouter(target: AdminTarget): Router {
  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));

  const pool = (req: Request): ServicePool => {
    const name = String(req.params.service);
    const found = target.pools.get(name);
    if (!found) throw new ActionError(`unknown service "${name}"; known: ${[...target.pools.keys()].join(', ')}`, 404);
    return found;
  };
  // Calls are timed from their arrival: a scale-up that starts five processes is taken when it is asked for.
  router.use((req, _res, next) => {
    (req as Request & { arrivedAt?: number }).arrivedAt = Date.now();
    next();
  });
  const record = (req: Request, service: string, action: string, detail: unknown): void => {
    const at = (req as Request & { arrivedAt?: number }).arrivedAt ?? Date.now();
    target.onAction?.({ at, finishedAt: Date.now(), service, action, detail });
  };

  router.get('/state', (_req, res) => {
    res.json(target.state());
  });

  router.post(
    '/services/:service/scale',
    wrap(async (req, res) => {
      const p = pool(req);
      const body = parse(scaleBody, req.body, `scale ${p.spec.name}`);
      const current = p.inRotation().length;
      const wanted = body.replicas ?? Math.min(p.spec.maxReplicas, current + (body.delta ?? 0));
      const result = await p.scale(wanted);
      // Only a call that adds instances is a scale-up (the repair); going back down (a revert) or staying is not.
      record(req, p.spec.name, wanted > current ? 'scale' : wanted < current ? 'scale-down' : 'scale-unchanged', result);
      res.json({ service: p.spec.name, ...result });
    }),
  );
  router.post(
    '/services/:service/restart',
    wrap(async (req, res) => {
      const p = pool(req);
      const result = await p.restart();
      record(req, p.spec.name, 'restart', result);
      res.json({ service: p.spec.name, ...result });
    }),
  );
  router.post('/services/:service/cache', (req, res) => {
    const p = pool(req);
    const body = parse(cacheBody, req.body, `cache ${p.spec.name}`);
    p.setCache(body.enabled, body.ttlSeconds !== undefined ? body.ttlSeconds * 1000 : undefined);
    // Turning the cache on is the repair; turning it off (a revert, or a reset) is recorded apart.
    record(req, p.spec.name, body.enabled ? 'cache' : 'cache-off', body);
    res.json({ service: p.spec.name, cacheEnabled: body.enabled });
  });
  router.post('/services/:service/circuit-breaker', (req, res) => {
    const p = pool(req);
    const body = parse(breakerBody, req.body, `circuit-breaker ${p.spec.name}`);
    p.setBreaker(body.open);
    record(req, p.spec.name, 'circuit-breaker', body);
    res.json({ service: p.spec.name, breakerOpen: body.open });
  });
  router.post(
    '/services/:service/quarantine',
    wrap(async (req, res) => {
      const p = pool(req);
      const body = parse(quarantineBody, req.body, `quarantine ${p.spec.name}`);
      const result = await p.quarantine(body.instance);
      record(req, p.spec.name, 'quarantine', result);
      res.json({ service: p.spec.name, ...result });
    }),
  );
  router.post(
    '/services/:service/instances/:instance/quarantine',
    wrap(async (req, res) => {
      const p = pool(req);
      const body = parse(releaseBody, req.body, `quarantine ${String(req.params.instance)}`);
      const instance = String(req.params.instance);
      if (body.quarantined) {
        const result = await p.quarantine(instance);
        record(req, p.spec.name, 'quarantine', result);
        res.json({ service: p.spec.name, ...result });
      } else {
        await p.release(instance);
        record(req, p.spec.name, 'release', { instance });
        res.json({ service: p.spec.name, instance, state: 'in_rotation' });
      }
    }),
  );

  // Releases (revisions.ts): a rollout to a new version, the bad_release fault (a rollout whose version fails or slows
  // requests), the rollback the healing service calls (409 with nothing changed when there is no previous revision).
  router.get('/services/:service/revisions', (req, res) => {
    const p = pool(req);
    res.json({ service: p.spec.name, current: p.revisions.current.revision, revisions: p.revisions.list() });
  });
  router.post(
    '/services/:service/rollout',
    wrap(async (req, res) => {
      const p = pool(req);
      const body = parse(rolloutBody, req.body, `rollout ${p.spec.name}`);
      const result = await p.rollout(body.version, { errorRatio: 0, latencyMs: 0 });
      record(req, p.spec.name, 'rollout', releaseDetail(result));
      res.json({ service: p.spec.name, ...releaseDetail(result) });
    }),
  );
  router.post(
    '/services/:service/faults/bad_release',
    wrap(async (req, res) => {
      const p = pool(req);
      const body = parse(badReleaseBody, req.body, `fault bad_release on ${p.spec.name}`);
      const defect = { errorRatio: body.errorRatio ?? (body.latencyMs ? 0 : FAULT_DEFAULTS.releaseErrorRatio), latencyMs: body.latencyMs ?? 0 };
      const result = await p.rollout(body.version, defect);
      record(req, p.spec.name, 'inject bad_release', releaseDetail(result));
      res.json({ service: p.spec.name, kind: 'bad_release', ...defect, ...releaseDetail(result) });
    }),
  );
  router.post(
    '/services/:service/rollback',
    wrap(async (req, res) => {
      const p = pool(req);
      parse(z.object({}).strict(), req.body, `rollback ${p.spec.name}`);
      const result = await p.rollback();
      record(req, p.spec.name, 'rollback', releaseDetail(result));
      res.json({ service: p.spec.name, ...releaseDetail(result) });
    }),
  );

  router.post('/services/:service/faults/:kind', (req, res) => {
    const p = pool(req);
    const kind = String(req.params.kind) as FaultKind;
    if (!FAULT_KINDS.includes(kind)) throw new ActionError(`unknown fault kind "${kind}"; known: ${FAULT_KINDS.join(', ')}`, 404);
    const body = parse(faultBody, req.body, `fault ${kind} on ${p.spec.name}`);
    let detail: unknown;
    switch (kind) {
      case 'cpu_saturation':
        detail = p.faults.cpu_saturation = { loadMultiplier: body.loadMultiplier ?? FAULT_DEFAULTS.loadMultiplier };
        break;
      case 'memory_leak':
        p.injectLeak(body.leakBytesPerSecond ?? FAULT_DEFAULTS.leakBytesPerSecond, body.leakCapBytes ?? FAULT_DEFAULTS.leakCapBytes);
        detail = p.faults.memory_leak;
        break;
      case 'slow_dependency':
        detail = p.faults.slow_dependency = { latencyMs: body.latencyMs ?? FAULT_DEFAULTS.latencyMs, ...(body.cacheable === false ? { cacheable: false } : {}) };
        break;
      case 'failing_dependency':
        detail = p.faults.failing_dependency = { errorRatio: body.errorRatio ?? FAULT_DEFAULTS.dependencyErrorRatio };
        break;
      case 'bad_instance':
        p.injectBadInstance(body.errorRatio ?? FAULT_DEFAULTS.instanceErrorRatio, body.instance);
        detail = p.faults.bad_instance;
        break;
    }
    record(req, p.spec.name, `inject ${kind}`, detail);
    res.json({ service: p.spec.name, kind, ...(detail as object) });
  });
  router.delete('/services/:service/faults', (req, res) => {
    const p = pool(req);
    delete p.faults.cpu_saturation;
    delete p.faults.slow_dependency;
    delete p.faults.failing_dependency;
    p.clearInstanceFaults();
    p.clearReleaseDefect();
    record(req, p.spec.name, 'clear faults', {});
    res.json({ service: p.spec.name, faults: p.faults });
  });
  router.post(
    '/services/:service/reset',
    wrap(async (req, res) => {
      const p = pool(req);
      await p.reset();
      record(req, p.spec.name, 'reset', {});
      res.json({ service: p.spec.name, replicas: p.inRotation().length });
    }),
  );
  router.post(
    '/reset',
    wrap(async (req, res) => {
      await target.resetAll();
      record(req, '*', 'reset', {});
      res.json(target.state());
    }),
  );

  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof ActionError) res.status(error.status).json({ error: error.message });
    else if (error instanceof SyntaxError) res.status(400).json({ error: `invalid JSON body: ${error.message}` });
    else res.status(500).json({ error: String(error) });
  });
  return router;
}

/** A rollout's or rollback's answer: from which revision to which, and the instances replaced and started. */
function releaseDetail(r: { from: Revision; to: Revision; replaced: string[]; started: string[] }): Record<string, unknown> {
  return { fromRevision: r.from.revision, fromVersion: r.from.version, toRevision: r.to.revision, toVersion: r.to.version, replicaset: r.to.replicaset, replaced: r.replaced, started: r.started };
}
