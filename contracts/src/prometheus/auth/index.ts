// Authentication of requests to Prometheus, shared by the exporter and the healing service (`prometheus.auth`).
export * from './schema.js';
export * from './request.js';
export * from './token-cache.js';
export * from './sigv4.js';
export * from './azure.js';
export * from './authorizer.js';
