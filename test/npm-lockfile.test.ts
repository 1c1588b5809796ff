// Install hygiene: the committed package-lock.json is what the real npm accepts and keeps. `npm ci` (scripts/setup.sh's
// install) refuses a lockfile out of sync with the workspaces' package.json files, and `npm install` rewrites one that
// lacks another platform's optional packages (rollup's and esbuild's), which left a fresh clone dirty after `npm test`.
// Both run here on a copy of the manifests, without touching node_modules: `npm ci --dry-run` checks the lockfile
// exactly as `npm ci` does before installing, `npm install --package-lock-only` writes what `npm install` would.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
const lockfile = readFileSync(join(ROOT, 'package-lock.json'), 'utf8');

const copy = mkdtempSync(join(tmpdir(), 'selfheal-lockfile-'));
for (const file of ['package.json', 'package-lock.json', ...manifest.workspaces.map((w) => join(w, 'package.json'))]) {
  mkdirSync(dirname(join(copy, file)), { recursive: true });
  copyFileSync(join(ROOT, file), join(copy, file));
}
afterAll(() => rmSync(copy, { recursive: true, force: true }));

function npm(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: copy, encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('package-lock.json with the real npm (a copy of the manifests, node_modules untouched)', () => {
  it('`npm ci` accepts the committed lockfile', () => {
    const result = npm(['ci', '--dry-run']);
    expect(result.status, result.output.slice(0, 3000)).toBe(0);
  });

  it('`npm install` leaves the committed lockfile unchanged (a fresh clone stays clean)', () => {
    const result = npm(['install', '--package-lock-only']);
    expect(result.status, result.output.slice(0, 3000)).toBe(0);
    const written = readFileSync(join(copy, 'package-lock.json'), 'utf8');
    // Not toBe on 20,000 lines: name what npm added or removed.
    const before = new Set(lockfile.split('\n'));
    const after = new Set(written.split('\n'));
    const added = [...after].filter((line) => !before.has(line));
    const removed = [...before].filter((line) => !after.has(line));
    expect({ added: added.slice(0, 20), removed: removed.slice(0, 20) }).toEqual({ added: [], removed: [] });
    expect(written === lockfile, 'the lockfile npm wrote differs from the committed one (same lines, other order)').toBe(true);
  });
});
