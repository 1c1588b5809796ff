// Liveness, readiness and the metrics: unauthenticated, for kubelets and Prometheus.
import type express from 'express';
import type { Logger } from 'pino';
import type { Store } from '../audit/types.js';
import type { HealingMetrics } from '../metrics.js';

/**
 * Readiness reflects the store: checked at most once a second, so probes cost nothing under load. The driver's
 * error (database host, port, socket path) goes to the log, not to the unauthenticated endpoint: logged when the
 * store starts failing or fails differently, and when it answers again.
 */
function storeHealthCheck(store: Store, logger: Logger): () => Promise<{ ok: boolean }> {
  let health: { at: number; ok: boolean; detail: string } = { at: 0, ok: false, detail: 'not checked yet' };
  return async () => {
    if (Date.now() - health.at > 1000) {
      const h = await store.health().catch((err: unknown) => ({ ok: false, detail: (err as Error).message }));
      if (!h.ok && (health.ok || health.at === 0 || h.detail !== health.detail)) logger.warn({ store: store.kind, detail: h.detail }, 'store health check failed; /-/ready answers 503');
      else if (h.ok && !health.ok && health.at !== 0) logger.info({ store: store.kind }, 'store answers again; /-/ready answers 200');
      health = { at: Date.now(), ok: h.ok, detail: h.detail };
    }
    return health;
  };
}

export function registerProbes(app: express.Express, d: { store: Store; metrics: HealingMetrics; logger: Logger; started(): boolean }): void {
  const storeHealth = storeHealthCheck(d.store, d.logger);
  // Liveness: the process serves HTTP. It does not fail when the store is down (restarting would not bring the
  // database back, and every replica would restart at once); readiness does.
  app.get('/-/healthy', (_req, res) => { res.type('text/plain').send('OK\n'); });
  app.get('/-/ready', async (_req, res) => {
    if (!d.started()) { res.status(503).type('text/plain').send('starting\n'); return; }
    const h = await storeHealth();
    res.status(h.ok ? 200 : 503).type('text/plain').send(h.ok ? `ready (${d.store.kind} store)\n` : `not ready: ${d.store.kind} store unavailable\n`);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });
}
