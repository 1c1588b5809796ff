// Picks the store from the config: SQLite (embedded, default) or PostgreSQL (`store.url`, shared by replicas).
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/schema.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

/** `now`: the SQLite store's clock for the times it writes itself (audit, received); PostgreSQL rows use Date.now(). */
export function createStore(config: StoreConfig, logger: Logger, now?: () => number): Store {
  if (config.url) {
    return new PostgresStore({
      url: config.url, passwordFile: config.passwordFile, poolSize: config.poolSize, connectTimeout: config.connectTimeout, lease: config.lease, logger,
    });
  }
  return new SqliteStore({ path: config.path, synchronous: config.synchronous, now });
}
