// What the efficacy ledger of the configured store knew (issue 17): read from the SQLite file the service writes,
// opened read-only (a running service keeps writing it; replay never does), over efficacy.window up to the end of
// the replayed window. A demotion active there means the service would have asked a person before running that
// action on that target, where the replay (which simulates the policy as written) shows it running.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { readOnlySqliteRunner } from '../audit/script.js';
import type { Config } from '../config/schema.js';
import { Ledger, type Efficacy } from '../ledger/ledger.js';

/** The demotions table came with migration 7. */
const LEDGER_SCHEMA = 7;

export type LedgerView = { read: true; store: string; efficacy: Efficacy } | { read: false; store: string; why: string };

export async function readLedger(config: Config, at: number): Promise<LedgerView> {
  if (config.store.url) return { read: false, store: 'postgres', why: 'the store is PostgreSQL: replay reads only an SQLite store; ask the service (GET /api/v1/efficacy)' };
  const path = config.store.path;
  if (!existsSync(path)) return { read: false, store: path, why: `no store at ${path} (store.path): the service has not run here, so there is no ledger to read` };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version < LEDGER_SCHEMA) return { read: false, store: path, why: `the store ${path} predates the efficacy ledger (schema ${version} < ${LEDGER_SCHEMA})` };
    const efficacy = await new Ledger(readOnlySqliteRunner(db)).efficacy(config.efficacy, at);
    return { read: true, store: path, efficacy };
  } catch (err) {
    return { read: false, store: path, why: `cannot read the store ${path}: ${(err as Error).message}` };
  } finally {
    db?.close();
  }
}
