// Start-up check of every file the config names (secrets, kubeconfigs): each must exist and be readable, so
// a typo is reported at start with the key and the path, not as a raw ENOENT when the first action runs.
// The files are read again when they are used (secrets rotate); this only checks they are there now.
import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from './load.js';
import type { Config } from './schema.js';

/** Every file the config refers to, with the config key that names it. */
export function referencedFiles(config: Config): { key: string; path: string }[] {
  const files: { key: string; path: string }[] = [];
  if (config.auth.type === 'bearer') files.push({ key: 'auth.tokenFile', path: config.auth.tokenFile });
  if (config.auth.type === 'basic') files.push({ key: 'auth.passwordFile', path: config.auth.passwordFile });
  if (config.store.passwordFile) files.push({ key: 'store.passwordFile', path: config.store.passwordFile });
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

/** Messages naming the key and path of each referenced file that is missing or unreadable. */
export function configFileProblems(config: Config): string[] {
  const out: string[] = [];
  for (const { key, path } of referencedFiles(config)) {
    const why = problem(path);
    if (why) out.push(`${key}: the file ${path} ${why}`);
  }
  return out;
}

/** Throws a ConfigError listing every missing or unreadable file. */
export function checkConfigFiles(config: Config, file = '<config>'): void {
  const problems = configFileProblems(config);
  if (problems.length > 0) throw new ConfigError(file, problems);
}
