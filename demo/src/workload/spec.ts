// What the demo workload runs: services, their instances, their dependencies and their normal load.
import type { ActionName } from '@selfheal/contracts';
import type { InstanceFaults } from '../instance/protocol.js';

export interface ServiceSpec {
  /** Service name (the `service` label). */
  name: string;
  /** The downstream dependency it calls (e.g. a payment provider), served by the workload's dependency stub. */
  dependency: string;
  /** Instances at start (and after a reset). Three or more lets a median tell one bad instance from all. */
  replicas: number;
  /** Upper bound for scale-ups. */
  maxReplicas: number;
  /** Normal request rate the load generator sends, requests per second (before the load shape). */
  rps: number;
  /** Real CPU cost of one request, milliseconds of busy work. */
  cpuMsPerRequest: number;
}

export const DEFAULT_SERVICES: readonly ServiceSpec[] = [
  { name: 'checkout', dependency: 'payments', replicas: 3, maxReplicas: 12, rps: 10, cpuMsPerRequest: 10 },
  { name: 'catalog', dependency: 'inventory', replicas: 3, maxReplicas: 12, rps: 10, cpuMsPerRequest: 10 },
  { name: 'search', dependency: 'index', replicas: 3, maxReplicas: 12, rps: 10, cpuMsPerRequest: 10 },
];

/** The fault kinds, one per healing action. */
export const FAULT_KINDS = ['cpu_saturation', 'memory_leak', 'slow_dependency', 'failing_dependency', 'bad_instance', 'bad_release'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The action that repairs each fault kind (the contract's action names). */
export const REPAIR_FOR: Record<FaultKind, ActionName> = {
  cpu_saturation: 'scale_up',
  memory_leak: 'restart',
  slow_dependency: 'enable_cache',
  failing_dependency: 'open_circuit_breaker',
  bad_instance: 'quarantine',
  bad_release: 'rollback',
};

/** Fault parameters; every field has a default that makes a clear, bounded fault. */
export interface FaultParams {
  /** cpu_saturation: multiplier of the service's load (traffic beyond what its instances handle normally). */
  loadMultiplier?: number;
  /** memory_leak: bytes retained per second per instance, and the cap per instance. */
  leakBytesPerSecond?: number;
  leakCapBytes?: number;
  /** slow_dependency: added latency of the dependency, ms. */
  /**
   * slow_dependency: false marks the slow answers `cache-control: no-store` (each is fresh), so the cache cannot serve
   * them and enable_cache does not help: the demo's demotion (an action that keeps failing its verification).
   */
  cacheable?: boolean;
  latencyMs?: number;
  /** failing_dependency / bad_instance: share of failed requests. */
  errorRatio?: number;
  /** bad_instance: which instance (default: the first in rotation). */
  instance?: string;
  /** bad_release: the new version (default: the next minor, e.g. 1.1.0); errorRatio and latencyMs are its defect. */
  version?: string;
}

export const FAULT_DEFAULTS = {
  loadMultiplier: 3,
  leakBytesPerSecond: 8 * 1024 * 1024,
  leakCapBytes: 256 * 1024 * 1024,
  latencyMs: 1000,
  dependencyErrorRatio: 0.6,
  instanceErrorRatio: 0.8,
  /** bad_release: share of requests the new version fails (on every instance of it). */
  releaseErrorRatio: 0.5,
} as const;

export interface ActiveFaults {
  cpu_saturation?: { loadMultiplier: number };
  memory_leak?: { leakBytesPerSecond: number; leakCapBytes: number };
  slow_dependency?: { latencyMs: number; cacheable?: boolean };
  failing_dependency?: { errorRatio: number };
  bad_instance?: { instance: string; errorRatio: number };
  /** The current revision is a bad release (cleared by its rollback). */
  bad_release?: { revision: number; version: string; errorRatio: number; latencyMs: number };
}

export const HEALTHY_INSTANCE: InstanceFaults = { leakBytesPerSecond: 0, leakCapBytes: 0, errorRatio: 0, latencyMs: 0 };
