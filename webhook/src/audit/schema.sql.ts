// SQLite schema (migration 1; see migrations.ts) of the durable state: incidents (one per alert occurrence), action attempts, the audit log, settings.
// Left as migration 1 wrote it: later values (phase deferred, status unknown/deferred, ...) are listed in types.ts.

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,              -- fingerprint@startsAt: the idempotency key
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  service TEXT,
  alertname TEXT,
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  phase TEXT NOT NULL,                   -- pending | acting | verifying | done
  result TEXT,                           -- healed | failed | escalated | skipped | dry_run | resolved | no_rule
  reason TEXT,
  rule TEXT,
  target TEXT,
  step INTEGER NOT NULL DEFAULT 0,
  notifications INTEGER NOT NULL DEFAULT 1,
  received_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  resolved_at TEXT,
  recovery_seconds REAL
);
-- Few indexes on purpose: every index costs a WAL page per commit on the ingest path. Unfinished
-- incidents are looked up once, at start-up (a scan of the retained rows).

CREATE TABLE IF NOT EXISTS actions (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL REFERENCES incidents(id),
  service TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  rule TEXT NOT NULL,
  step INTEGER NOT NULL,
  status TEXT NOT NULL,                  -- started | verifying | succeeded | failed | dry_run | skipped
  reason TEXT,
  detail TEXT,
  started_at REAL NOT NULL,
  finished_at REAL,
  cooldown_until REAL
);
CREATE INDEX IF NOT EXISTS actions_target ON actions(target, started_at);
CREATE INDEX IF NOT EXISTS actions_started ON actions(started_at);
CREATE INDEX IF NOT EXISTS actions_status ON actions(status);

CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  ts REAL NOT NULL,
  event TEXT NOT NULL,                   -- received | matched | skipped | dry_run | started | succeeded | failed | interrupted | escalated | notified | resolved | paused | unpaused
  incident_id INTEGER,
  fingerprint TEXT,
  service TEXT,
  action TEXT,
  target TEXT,
  reason TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);

CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;
