// The built-in load generator: open-loop Poisson arrivals per service at a rate that varies like real traffic
// (a slow wave, noise, and legitimate ramps), times the cpu_saturation fault's multiplier. Bounded: it stops
// by itself after `durationMs` and never has more than `maxInFlight` requests outstanding.
import http from 'node:http';
import type { ServicePool } from './service-pool.js';

// Plain node:http with keep-alive: the generator shares its process with the load balancer, so it stays cheap.
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

export interface Ramp {
  /** Seconds after the generator's start. */
  at: number;
  riseSeconds: number;
  holdSeconds: number;
  fallSeconds: number;
  /** Load factor at the top of the ramp, e.g. 1.5. */
  factor: number;
}

export interface LoadGeneratorOptions {
  /** Where the load balancer listens, e.g. http://127.0.0.1:1234. */
  baseUrl: string;
  pools: readonly ServicePool[];
  /** Hard stop. */
  durationMs: number;
  /** Relative amplitude of the slow wave (0.2 = +-20 %), and its period. */
  waveAmplitude?: number;
  wavePeriodSeconds?: number;
  ramps?: readonly Ramp[];
  maxInFlight?: number;
  /** Distinct item ids the clients ask for (Zipf-like popularity). */
  items?: number;
  tickMs?: number;
}

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
}

/** Load factor of a ramp schedule at time t (seconds since start); 1 outside every ramp. */
export function rampFactor(ramps: readonly Ramp[], t: number): number {
  let factor = 1;
  for (const r of ramps) {
    const x = t - r.at;
    if (x < 0) continue;
    let f: number;
    if (x < r.riseSeconds) f = 1 + ((r.factor - 1) * x) / r.riseSeconds;
    else if (x < r.riseSeconds + r.holdSeconds) f = r.factor;
    else if (x < r.riseSeconds + r.holdSeconds + r.fallSeconds) f = r.factor - ((r.factor - 1) * (x - r.riseSeconds - r.holdSeconds)) / r.fallSeconds;
    else f = 1;
    factor = Math.max(factor, f);
  }
  return factor;
}

/** A Poisson-distributed count with mean `mean` (Knuth; the means here are small). */
export function poisson(mean: number, random = Math.random): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export class LoadGenerator {
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, dropped: 0 };
  private readonly options: Required<LoadGeneratorOptions>;
  private readonly ramps: Ramp[];
  private timer: NodeJS.Timeout | undefined;
  private hardStop: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private startedAt = 0;
  private readonly phases: number[];

  constructor(options: LoadGeneratorOptions) {
    this.options = {
      waveAmplitude: 0.15,
      wavePeriodSeconds: 180,
      ramps: [],
      maxInFlight: 400,
      items: 20,
      tickMs: 100,
      ...options,
    };
    this.ramps = [...this.options.ramps];
    this.phases = this.options.pools.map((_, i) => (i * 2 * Math.PI) / Math.max(1, this.options.pools.length));
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Seconds since start. */
  elapsed(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  /** Adds a legitimate load ramp starting now. */
  ramp(factor: number, riseSeconds: number, holdSeconds: number, fallSeconds: number): void {
    this.ramps.push({ at: this.elapsed(), factor, riseSeconds, holdSeconds, fallSeconds });
  }

  /** Requests per second the generator aims at for a pool right now. */
  targetRps(pool: ServicePool): number {
    const i = this.options.pools.indexOf(pool);
    const t = this.elapsed();
    const wave = 1 + this.options.waveAmplitude * Math.sin((2 * Math.PI * t) / this.options.wavePeriodSeconds + (this.phases[i] ?? 0));
    const fault = pool.faults.cpu_saturation?.loadMultiplier ?? 1;
    return pool.spec.rps * wave * rampFactor(this.ramps, t) * fault;
  }

  start(): void {
    if (this.timer) return;
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.hardStop = setTimeout(() => this.stop(), this.options.durationMs);
    this.hardStop.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.hardStop) clearTimeout(this.hardStop);
    this.timer = undefined;
  }

  private pickItem(): number {
    // Zipf-like: a few items are popular, the tail is long but bounded.
    return Math.min(this.options.items - 1, Math.floor(this.options.items * Math.random() ** 2));
  }

  private tick(): void {
    for (const pool of this.options.pools) {
      const n = poisson((this.targetRps(pool) * this.options.tickMs) / 1000);
      for (let k = 0; k < n; k++) {
        if (this.inFlight >= this.options.maxInFlight) {
          this.stats.dropped += 1;
          continue;
        }
        this.send(pool.spec.name);
      }
    }
  }

  private send(service: string): void {
    this.inFlight += 1;
    this.stats.sent += 1;
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      this.inFlight -= 1;
      if (ok) this.stats.ok += 1;
      else this.stats.failed += 1;
    };
    const url = new URL(`${this.options.baseUrl}/svc/${service}/items/${this.pickItem()}`);
    const request = http.get(url, { agent, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => settle((response.statusCode ?? 500) < 400));
      response.on('error', () => settle(false));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => settle(false));
  }
}
