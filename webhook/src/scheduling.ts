// The service's timers: hourly retention pruning, and (PostgreSQL, several replicas) the lease loop that
// renews this replica's lease and takes over the incidents of replicas whose lease ran out.
import type { Logger } from 'pino';
import type { Store } from './audit/types.js';

export interface Scheduled {
  stop(): void;
}

/** Closed incidents and audit rows older than `retention` seconds are pruned now and then hourly. */
export function startRetention(store: Store, retention: number, logger: Logger): Scheduled {
  const prune = () => {
    store.prune(retention).then(
      (n) => { if (n > 0) logger.info({ pruned: n }, 'pruned closed incidents past retention'); },
      (err: unknown) => logger.warn({ err }, 'pruning failed'),
    );
  };
  prune();
  const timer = setInterval(prune, 3600_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Leases: this replica renews its own every third of `lease` seconds; incidents held by a replica whose lease ran
 * out (it died mid-incident) are taken over here (`recover`). An action it had started is verified, never repeated.
 */
export function startLeases(store: Store, lease: number, recover: () => Promise<number>, logger: Logger): Scheduled {
  const every = Math.max(0.2, lease / 3) * 1000;
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await store.heartbeat();
      const taken = await recover();
      if (taken > 0) logger.warn({ taken }, 'took over unfinished incidents of a replica whose lease expired');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'store lease renewal failed');
    }
  };
  const loop = () => { timer = setTimeout(() => void tick().finally(() => { if (running) loop(); }), every); timer.unref(); };
  loop();
  return { stop: () => { running = false; clearTimeout(timer); } };
}
