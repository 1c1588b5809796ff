// Transactions written once for both databases: a script (a generator) yields SQL statements (standard SQL, `?`
// placeholders) and reads their rows; SQLite runs it synchronously, PostgreSQL with a round trip per statement.
// Used by the approvals and the efficacy ledger's demotions.
import type Database from 'better-sqlite3';
import { PostgresStore } from './postgres-store.js';
import { numbered } from './sql.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

export type Row = Record<string, unknown>;
export interface Query { sql: string; args: unknown[] }
export type Script<T> = Generator<Query, T, Row[]>;

/** One statement of a script: its rows (none for a write without RETURNING on SQLite). */
export function* q(sql: string, ...args: unknown[]): Generator<Query, Row[], Row[]> {
  return yield { sql, args };
}

/** Runs a script in one transaction of the store's database (durable once it resolves); `read`: no writes. */
export type Runner = <T>(make: () => Script<T>, read?: boolean) => Promise<T>;

/** Runs scripts on a better-sqlite3 database; `durably` wraps a writing transaction (the store's), if any. */
function databaseRunner(db: Database.Database, durably?: <T>(fn: () => T) => T): Runner {
  const cache = new Map<string, Database.Statement<unknown[], Row>>();
  const exec = (qr: Query): Row[] => {
    // One process owns the file: SQLite has no row locks, and needs none.
    const sql = qr.sql.replace(/ FOR UPDATE$/, '');
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare<unknown[], Row>(sql);
      cache.set(sql, stmt);
    }
    if (stmt.reader) return stmt.all(...qr.args);
    stmt.run(...qr.args);
    return [];
  };
  return <T>(make: () => Script<T>, read = false) => {
    const go = (): T => {
      const script = make();
      let step = script.next();
      while (!step.done) step = script.next(exec(step.value));
      return step.value;
    };
    try {
      if (!read && !durably) throw new Error('this database is open read-only');
      return Promise.resolve(read || !durably ? go() : durably(go));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
}

function sqliteRunner(store: SqliteStore): Runner {
  return databaseRunner(store.sqlite.db, (fn) => store.sqlite.durably(fn));
}

/** Read-only scripts on an SQLite file opened read-only (replay reads a running service's ledger, never writes it). */
export function readOnlySqliteRunner(db: Database.Database): Runner {
  return databaseRunner(db);
}

function postgresRunner(store: PostgresStore): Runner {
  // A transaction retried after a serialization failure or deadlock runs a new script from the start.
  return <T>(make: () => Script<T>) => store.tx(async (c) => {
    const script = make();
    let step = script.next();
    while (!step.done) step = script.next((await c.query(numbered(step.value.sql), step.value.args)).rows as Row[]);
    return step.value;
  });
}

/** The runner of a store's database; `what` names the user in the error for an unknown store. */
export function scriptRunner(store: Store, what: string): Runner {
  if (store instanceof SqliteStore) return sqliteRunner(store);
  if (store instanceof PostgresStore) return postgresRunner(store);
  throw new Error(`${what}: unsupported store ${store.kind}`);
}
