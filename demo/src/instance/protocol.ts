// Messages between the workload supervisor and an instance child process (Node IPC channel).
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** Service-wide behaviour the supervisor pushes to every instance (and to new ones at start). */
export interface InstanceSettings {
  /** Serve dependency answers from a per-instance TTL cache. */
  cacheEnabled: boolean;
  cacheTtlMs: number;
  /** Circuit breaker forced open: no dependency calls, answer fast with a fallback. */
  breakerOpen: boolean;
}

/** Faults that live inside one instance process (the others live in the supervisor). */
export interface InstanceFaults {
  /** Retain this many bytes per second until restarted (a leak), bounded by leakCapBytes. */
  leakBytesPerSecond: number;
  leakCapBytes: number;
  /** Share of requests this instance fails with 500 on its own (a bad instance, a bad release). */
  errorRatio: number;
  /** Added to every dependency lookup, ms (a release with a slower lookup path). */
  latencyMs: number;
}

export interface InstanceStartConfig {
  service: string;
  instance: string;
  /** Where the service's downstream dependency answers, e.g. http://127.0.0.1:1234/deps/payments. */
  dependencyUrl: string;
  dependencyTimeoutMs: number;
  /** Real CPU work (busy loop) per request, in milliseconds. */
  cpuMsPerRequest: number;
  settings: InstanceSettings;
}

export type SupervisorMessage =
  | { type: 'settings'; settings: InstanceSettings }
  | { type: 'faults'; faults: InstanceFaults }
  | { type: 'metrics'; requestId: number }
  | { type: 'shutdown' };

export type InstanceMessage =
  | { type: 'ready'; port: number }
  | { type: 'metrics'; requestId: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'error'; message: string };

export const NO_FAULTS: InstanceFaults = { leakBytesPerSecond: 0, leakCapBytes: 0, errorRatio: 0, latencyMs: 0 };
