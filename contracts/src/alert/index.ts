export * from './anomaly-rule.js';
export * from './payload.js';
export * from './rfc3339.js';
