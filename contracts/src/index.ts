// @selfheal/contracts: what the exporter, the healing service, the panel, the demo and the rules agree on.
// Each idea has its own module under src/; this file only re-exports them.
export * from './metrics/index.js';
export * from './alert/index.js';
export * from './actions/index.js';
export * from './config/index.js';
export * from './errors/index.js';
export * from './promql/index.js';
export * from './retry/index.js';
export * from './api/index.js';
export * from './prometheus/index.js';
