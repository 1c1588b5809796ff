// Start-up check of every file the config names (secrets, kubeconfigs): each must exist and be readable, so
// a typo is reported at start with the key and the path, not as a raw ENOENT when the first action runs.
// The SQLite store's directory too: SQLite's own error names neither the key nor the file.
// The files are read again when they are used (secrets rotate); this only checks they are there now.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '@selfheal/contracts';
import type { Config } from './schema.js';

/** Every file the config refers to, with the config key that names it. */
export function referencedFiles(config: Config): { key: string; path: string }[] {
  const files: { key: string; path: string }[] = [];
  if (config.auth.type === 'bearer') files.push({ key: 'auth.tokenFile', path: config.auth.tokenFile });
  if (config.auth.type === 'basic') files.push({ key: 'auth.passwordFile', path: config.auth.passwordFile });
  if (config.store.passwordFile) files.push({ key: 'store.passwordFile', path: config.store.passwordFile });
  const promAuth = config.prometheus?.auth;
  if (promAuth?.bearerTokenFile) files.push({ key: 'prometheus.auth.bearerTokenFile', path: promAuth.bearerTokenFile });
  if (promAuth?.basic) files.push({ key: 'prometheus.auth.basic.passwordFile', path: promAuth.basic.passwordFile });
  for (const [name, a] of Object.entries(config.actuators)) {
    if (a.type === 'http' && a.tokenFile) files.push({ key: `actuators.${name}.tokenFile`, path: a.tokenFile });
    if (a.type === 'kubernetes' && a.kubeconfig) files.push({ key: `actuators.${name}.kubeconfig`, path: a.kubeconfig });
  }
  const notify = config.escalation.notify;
  if (notify && 'urlFile' in notify) files.push({ key: 'escalation.notify.urlFile', path: notify.urlFile });
  if (config.grafana) files.push({ key: 'grafana.tokenFile', path: config.grafana.tokenFile });
  return files;
}

function problem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'is not a regular file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES') return 'is not readable by this process (check its permissions)';
    return `cannot be read: ${(err as Error).message}`;
  }
}

/** The SQLite store's file: created at start if absent, so its directory must exist and be writable. */
function sqliteProblem(config: Config): string | undefined {
  const path = config.store.path;
  if (config.store.url || path === ':memory:' || path === '') return undefined;
  const file = resolve(path);
  try {
    if (statSync(file).isDirectory()) return `store.path: ${path} is a directory, not an SQLite file`;
  } catch {
    // absent: SQLite creates it (and its -wal and -shm files) in the directory
  }
  const dir = dirname(file);
  try {
    if (!statSync(dir).isDirectory()) return `store.path: ${dir}, the directory of the SQLite file ${path}, is not a directory`;
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `store.path: the directory ${dir} of the SQLite file ${path} does not exist; create it or point store.path elsewhere`;
    if (code === 'EACCES') return `store.path: the directory ${dir} of the SQLite file ${path} is not writable by this process (SQLite writes its -wal and -shm files there)`;
    return `store.path: the directory ${dir} of the SQLite file ${path} cannot be used: ${(err as Error).message}`;
  }
}

/** Messages naming the key and path of each referenced file that is missing or unreadable. */
export function configFileProblems(config: Config): string[] {
  const out: string[] = [];
  for (const { key, path } of referencedFiles(config)) {
    const why = problem(path);
    if (why) out.push(`${key}: the file ${path} ${why}`);
  }
  const store = sqliteProblem(config);
  if (store) out.push(store);
  return out;
}

/** Throws a ConfigError listing every missing or unreadable file. */
export function checkConfigFiles(config: Config, file = '<config>'): void {
  const problems = configFileProblems(config);
  if (problems.length > 0) throw new ConfigError(file, problems);
}
