// The config kit: durations, listen addresses, YAML with line numbers, and the one ConfigError.
export * from './duration.js';
export * from './listen.js';
export * from './config-error.js';
export * from './yaml.js';
export * from './schema.js';
