// Picks the store from the config: SQLite (embedded, default) or PostgreSQL (`store.url`, shared by replicas).
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/schema.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

/** `now`: the store's clock for the times it writes itself (audit, received, finished); PostgreSQL leases use the database's clock. */
export function createStore(config: StoreConfig, logger: Logger, now?: () => number): Store {
  if (config.url) {
    return new PostgresStore({
      url: config.url, passwordFile: config.passwordFile, poolSize: config.poolSize, connectTimeout: config.connectTimeout, lease: config.lease, logger, now,
    });
  }
  return new SqliteStore({ path: config.path, synchronous: config.synchronous, now });
}
