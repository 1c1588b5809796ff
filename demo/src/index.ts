export { startWorkload, type Workload, type WorkloadOptions, type ServiceState } from './workload/workload.js';
export { ServicePool, ActionError, type InstanceView } from './workload/service-pool.js';
export { LoadGenerator, rampFactor, poisson, type Ramp, type LoadStats } from './workload/load-generator.js';
export { DEFAULT_SERVICES, FAULT_KINDS, FAULT_DEFAULTS, REPAIR_FOR, type FaultKind, type FaultParams, type ServiceSpec } from './workload/spec.js';
export type { AdminEvent } from './workload/admin-api.js';
