// The production build, once per test run, for every test file that needs dist/: vitest runs files in parallel
// workers, and two webpack runs writing dist/ at once would corrupt it. The first file to get here builds (holding a
// lock folder with its pid) and records the run's token; the others wait for the lock and find the token.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { inject } from 'vitest';

import { PLUGIN_DIR } from '../paths';
import { buildPluginAsync } from './build';

const TMP = join(PLUGIN_DIR, '.tmp');
const LOCK = join(TMP, 'build.lock');
const STAMP = join(TMP, 'build.stamp');
const STALE_MS = 10 * 60_000;

/** A lock whose holder has died (a run stopped mid-build) can be taken over at once. */
function lockIsStale(): boolean {
  const stat = statSync(LOCK, { throwIfNoEntry: false });
  if (!stat) {
    return false;
  }
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    pid = undefined;
  }
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) {
    // Just created, the pid not yet written; or left without one long ago.
    return Date.now() - stat.mtimeMs > 30_000;
  }
  try {
    process.kill(pid, 0);
    return Date.now() - stat.mtimeMs > STALE_MS;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export async function buildPluginOnce(): Promise<void> {
  const run = inject('pluginBuildRun');
  mkdirSync(TMP, { recursive: true });
  const deadline = Date.now() + STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
      if (lockIsStale()) {
        rmSync(LOCK, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new Error(`waited ${STALE_MS / 60_000} min for another test file's plugin build (${LOCK})`);
      } else {
        await sleep(250);
      }
    }
  }
  try {
    let built: string | undefined;
    try {
      built = readFileSync(STAMP, 'utf8');
    } catch {
      built = undefined;
    }
    if (built !== run) {
      await buildPluginAsync();
      writeFileSync(STAMP, run);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
