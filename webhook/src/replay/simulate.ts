// The heart of `selfheal replay`: alert notifications, in time order, through the real receiver store, policy,
// guardrails and engine, on a simulated clock (sim-clock.ts), with actuators that only describe what they would do.
// Between two notifications the clock jumps, ending the waits that are due meanwhile in order: an action deferred by
// a cooldown is decided again when the cooldown ends (and runs, if the alert still fires), as the service would.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pino } from 'pino';
import type { ReceivedAlert } from '@selfheal/contracts';
import { createActuators } from '../actuators/registry.js';
import { SqliteStore } from '../audit/sqlite-store.js';
import type { Store } from '../audit/types.js';
import type { Config } from '../config/schema.js';
import { HealingEngine } from '../engine/engine.js';
import { PauseSwitch } from '../guardrails/pause.js';
import { HealingMetrics } from '../metrics.js';
import { Policy } from '../policy/policy.js';
import { SimClock } from './sim-clock.js';

/** One notification as the healing service would have received it, at `at` (seconds since the epoch). */
export interface SimEvent<T = unknown> {
  at: number;
  alert: ReceivedAlert;
  /** Whatever the caller wants back with the outcome (the file it came from, the occurrence). */
  tag: T;
}

export interface SimOutcome<T = unknown> {
  event: SimEvent<T>;
  /** new | duplicate | resolved | already_resolved */
  kind: string;
  incidentId: number;
}

/** Safety bound on the waits ended between two notifications (each ends a deferral, which waits at most maxDefer). */
const MAX_WAKES_PER_STEP = 100_000;

/**
 * Runs the events (sorted here by time) through the engine in simulated time, then ends the waits due up to
 * `until` (default: the last event; Infinity: every wait; deferrals still waiting then are left deferred). `inspect` reads the in-memory
 * store before it is closed.
 */
export async function simulate<T, R>(config: Config, events: SimEvent<T>[], options: {
  until?: number;
  onEvent?: (done: number, total: number) => void;
  inspect: (store: Store, outcomes: SimOutcome<T>[]) => Promise<R>;
}): Promise<R> {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const clock = new SimClock(sorted[0]?.at ?? Date.now() / 1000);
  const store = new SqliteStore({ path: ':memory:', now: () => clock.now() });
  // What would have happened had it acted: the top-level shadow mode is lifted (as before, the top-level dryRun).
  const cfg: Config = { ...config, dryRun: false, mode: config.mode === 'shadow' ? 'auto' : config.mode };
  const metrics = new HealingMetrics(store, { defaultMetrics: false });
  const engine = new HealingEngine({
    config: cfg, store, policy: new Policy(cfg), actuators: createActuators(cfg.actuators), metrics, pause: new PauseSwitch(store), logger: pino({ level: 'silent' }), clock, simulate: true,
  });
  // The tasks woken or started run on promises (the in-memory store answers at once): one turn of the event loop
  // lets them reach their next wait; idle() covers anything slower.
  const settle = async () => {
    await nextTurn();
    await engine.idle();
  };
  const advanceTo = async (t: number) => {
    for (let n = 0; clock.fireNext(t); n++) {
      if (n >= MAX_WAKES_PER_STEP) throw new Error(`replay: more than ${MAX_WAKES_PER_STEP} waits ended before ${new Date(t * 1000).toISOString()}; giving up`);
      await settle();
    }
    if (Number.isFinite(t)) clock.set(t);
  };
  const outcomes: SimOutcome<T>[] = [];
  try {
    for (const [i, ev] of sorted.entries()) {
      await advanceTo(ev.at);
      const [outcome] = (await store.ingest([[ev.alert]]))[0] ?? [];
      if (outcome) {
        outcomes.push({ event: ev, kind: outcome.kind, incidentId: outcome.incidentId });
        if (outcome.kind === 'new') engine.enqueue(outcome.incidentId);
        if (outcome.kind === 'resolved') engine.onResolved(outcome.incidentId);
        await settle();
      }
      options.onEvent?.(i + 1, sorted.length);
    }
    await advanceTo(Math.max(options.until ?? -Infinity, clock.now()));
    return await options.inspect(store, outcomes);
  } finally {
    await engine.stop();
    await store.close();
  }
}
