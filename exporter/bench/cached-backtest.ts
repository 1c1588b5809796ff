// `selfheal backtest` runs for the quality benches, cached per (data set, detector settings, seed, detector code):
// a rerun with the same key reuses the score files, and any change to exporter/src/detector or
// exporter/src/backtest (the code that makes the scores) starts afresh, so a cache can never hide a code change.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBacktest } from '../src/backtest/backtest.js';
import { resolveDetectorOptions, type DetectorSettings } from '../src/detector/options.js';

const srcRoot = fileURLToPath(new URL('../src', import.meta.url));

/** `key=value` pairs (values read as JSON when they parse, else as strings). Throws naming a bad pair. */
export function parseSetPairs(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got "${p}"`);
    const raw = p.slice(eq + 1);
    try {
      out[p.slice(0, eq)] = JSON.parse(raw) as unknown;
    } catch {
      out[p.slice(0, eq)] = raw;
    }
  }
  return out;
}

/** "1,2,3" -> [1, 2, 3]; throws on anything but integers. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds expects integers such as 1,2,3, got "${text}"`);
  return [...new Set(seeds)];
}

function codeFingerprint(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) h.update(path.relative(srcRoot, p)).update(readFileSync(p));
    }
  };
  for (const sub of ['detector', 'backtest']) walk(path.join(srcRoot, sub));
  return h.digest('hex').slice(0, 12);
}

let fingerprint: string | undefined;

export interface CachedRun {
  /** Folder with the score files (same relative paths as the input) and summary.json. */
  readonly dir: string;
  readonly cached: boolean;
  readonly seconds: number;
  readonly rows: number;
}

/**
 * Backtests `input` with `settings` and `seed` into `<cacheRoot>/<key>/` unless that folder already holds a complete
 * run (summary.json, written last). `onFile` is called after each file with its name and rows (progress).
 */
export async function cachedBacktest(
  input: string, cacheRoot: string, settings: Readonly<DetectorSettings>, seed: number,
  onFile?: (name: string, rows: number, index: number) => void,
): Promise<CachedRun> {
  const options = resolveDetectorOptions({ ...settings, seed });
  fingerprint ??= codeFingerprint();
  const keyText = JSON.stringify({ input: path.resolve(input), options: Object.fromEntries(Object.entries(options).sort(([a], [b]) => a.localeCompare(b))), code: fingerprint });
  const key = createHash('sha256').update(keyText).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot, key);
  const summaryFile = path.join(dir, 'summary.json');
  if (existsSync(summaryFile)) {
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { rows: number; seconds: number };
    return { dir, cached: true, seconds: summary.seconds, rows: summary.rows };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'key.json'), keyText + '\n');
  let index = 0;
  const summary = await runBacktest({
    input, out: dir, detector: { ...settings, seed }, progress: false,
    onSeries: (s) => onFile?.(s.name, s.rows, ++index),
  });
  return { dir, cached: false, seconds: summary.seconds, rows: summary.rows };
}
