// The production build, once per test run, for every test file that needs dist/: vitest runs files in parallel
// workers, and two webpack runs writing dist/ at once would corrupt it. The first file to get here builds (holding a
// lock folder) and records the run's token; the others wait for the lock and find the token.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { inject } from 'vitest';

import { PLUGIN_DIR } from '../paths';
import { buildPlugin } from './build';

const TMP = join(PLUGIN_DIR, '.tmp');
const LOCK = join(TMP, 'build.lock');
const STAMP = join(TMP, 'build.stamp');
const STALE_MS = 10 * 60_000;

export async function buildPluginOnce(): Promise<void> {
  const run = inject('pluginBuildRun');
  mkdirSync(TMP, { recursive: true });
  const deadline = Date.now() + STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is older than any build: take it over.
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_MS) {
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
      buildPlugin();
      writeFileSync(STAMP, run);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
