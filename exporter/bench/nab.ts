// Detection quality on real data: the NAB DEV split (../shared/data/nab) scored by `selfheal backtest`'s code
// path with the detector's DEFAULT settings, evaluated with ../shared/bench/nab/eval.py: NAB standard /
// low-FP / low-FN with NAB's label-optimised threshold and at the product's fixed threshold (score 0.5 = a 1),
// plus the label-free event metrics. Skips with a message when the data or the evaluator is absent.
//
//   npx tsx exporter/bench/nab.ts [--set key=value ...] [--out bench-results/nab]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBacktest } from '../src/backtest/backtest.js';

const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const nabRoot = path.resolve(repoRoot, '../shared/data/nab');
const evaluator = path.resolve(repoRoot, '../shared/bench/nab/eval.py');
const PYTHON = '/usr/bin/python3';

const { values: args } = parseArgs({
  options: { set: { type: 'string', multiple: true, default: [] }, out: { type: 'string', default: path.join(repoRoot, 'bench-results/nab') } },
});

function settings(pairs: readonly string[]): Record<string, unknown> {
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

interface ProfileResult {
  opt_threshold: number;
  opt_score: number;
  fixed_score?: number;
  p99_score: number;
}

async function main(): Promise<void> {
  console.log('== NAB DEV split (realKnownCause, artificialWithAnomaly, artificialNoAnomaly: 18 files, 25 windows)');
  if (!existsSync(path.join(nabRoot, 'data')) || !existsSync(evaluator)) {
    console.log(`skipped: the NAB data (../shared/data/nab) or the evaluator (../shared/bench/nab/eval.py) is absent next to the repository`);
    return;
  }
  if (!existsSync(PYTHON)) {
    console.log(`skipped: ${PYTHON} (Debian python3 with numpy) is needed by the evaluator`);
    return;
  }
  const overrides = settings(args.set ?? []);
  const out = path.resolve(args.out ?? 'bench-results/nab');
  const summary = await runBacktest({ input: path.join(nabRoot, 'data'), out, detector: overrides, progress: false });
  console.log(`detector settings: ${Object.keys(overrides).length === 0 ? 'defaults' : JSON.stringify(overrides)}`);
  console.log(`backtest: ${summary.series.length} files, ${summary.rows} rows in ${summary.seconds.toFixed(1)} s (${Math.round(summary.rows / summary.seconds)} rows/s incl. retraining), ${summary.alarmEpisodes} alarm episodes`);
  const jsonOut = path.join(out, 'eval.json');
  const report = execFileSync(
    PYTHON,
    [evaluator, '--data-dir', path.join(nabRoot, 'data'), '--windows', path.join(nabRoot, 'labels/combined_windows.json'), '--scores-dir', out,
      '--nab-threshold', '0.5', '--json', jsonOut, '--name', 'selfheal-defaults'],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  console.log(report.trimEnd());
  const parsed = JSON.parse(readFileSync(jsonOut, 'utf8').replace(/\bNaN\b/g, 'null')) as { aggregate?: { nab?: Record<string, ProfileResult> } };
  const nab = parsed.aggregate?.nab;
  if (nab !== undefined) {
    console.log('\n| profile | NAB (optimised threshold) | NAB at the product threshold (score 0.5 = anomaly score 1) |');
    console.log('|---|---:|---:|');
    for (const [name, r] of Object.entries(nab)) console.log(`| ${name} | ${r.opt_score.toFixed(1)} (thr ${r.opt_threshold.toFixed(3)}) | ${r.fixed_score?.toFixed(1) ?? '-'} |`);
    console.log('references on DEV (standard): ARTime 67.1, numenta HTM 61.3, random 27.8, sklearn IF 3.7-7.3; target >= 65');
  }
}

await main();
