// Our Isolation Forest alone on SMD's raw 38 features, under sklearn_baseline.py's sk_stream protocol (first model
// after 200 rows, refitted every 200 rows on the 2000 before, 100 trees x 256 samples, test rows only, score = the
// raw s(x); top_feature = the largest trailing |z| over the 2000 rows before, sampled every 10th row). It answers
// "does the forest itself rank SMD's incidents as well as scikit-learn's?" apart from Selfheal's derived columns,
// calibration and episodes (exporter/src/detector/README.md). Writes <out>/<machine>.csv for eval.py:
//   npm run bench -w exporter -- smd            # unpacks the data into bench-results/smd/data once
//   npx tsx exporter/bench/forest-raw-smd.ts bench-results/smd/forest-raw
//   /usr/bin/python3 ../shared/bench/smd/eval.py --data-dir bench-results/smd/data --scores-dir bench-results/smd/forest-raw
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsolationForest } from '../src/detector/forest/isolation-forest.js';

const WARMUP = 200;
const WINDOW = 2000;
const EVERY = 200;
const repo = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = path.join(repo, 'bench-results/smd/data');
const out = path.resolve(process.argv[2] ?? path.join(repo, 'bench-results/smd/forest-raw'));
mkdirSync(out, { recursive: true });
const labels = JSON.parse(readFileSync(path.join(dataDir, 'labels.json'), 'utf8')) as Record<string, { test_start_row: number }>;

/** The feature with the largest |z| of row i against (every 10th of) the WINDOW rows before it. */
function naiveTop(X: Float64Array, d: number, i: number): number {
  let best = 0;
  let bestZ = -1;
  const from = Math.max(0, i - WINDOW);
  const count = Math.ceil((i - from) / 10);
  for (let j = 0; j < d; j++) {
    let s1 = 0;
    let s2 = 0;
    for (let k = from; k < i; k += 10) {
      const v = X[k * d + j] as number;
      s1 += v;
      s2 += v * v;
    }
    const mean = s1 / count;
    const z = Math.abs((X[i * d + j] as number) - mean) / (Math.sqrt(Math.max(0, s2 / count - mean * mean)) + 1e-6);
    if (z > bestZ) {
      bestZ = z;
      best = j;
    }
  }
  return best;
}

for (const [machine, { test_start_row: nTrain }] of Object.entries(labels)) {
  const lines = readFileSync(path.join(dataDir, `${machine}.csv`), 'utf8').trim().split('\n');
  const header = (lines[0] ?? '').split(',');
  const d = header.length - 1;
  const n = lines.length - 1;
  const ts: string[] = [];
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const cells = (lines[i + 1] ?? '').split(',');
    ts.push(cells[0] ?? '');
    for (let j = 0; j < d; j++) X[i * d + j] = Number(cells[j + 1]);
  }
  const rows = ['timestamp,score,top_feature'];
  for (let r = WARMUP + Math.floor((nTrain - WARMUP) / EVERY) * EVERY; r < n; r += EVERY) {
    const lo = Math.max(r, nTrain);
    const hi = Math.min(r + EVERY, n);
    if (hi <= lo) continue;
    const forest = IsolationForest.fit(X.slice(Math.max(0, r - WINDOW) * d, r * d), d, { trees: 100, sampleSize: 256, seed: 1 + r });
    const scores = forest.score(X.subarray(lo * d, hi * d));
    for (let i = lo; i < hi; i++) rows.push(`${ts[i] ?? ''},${scores[i - lo] as number},${header[naiveTop(X, d, i) + 1] ?? ''}`);
  }
  writeFileSync(path.join(out, `${machine}.csv`), `${rows.join('\n')}\n`);
  console.log(`${machine}: ${rows.length - 1} test rows scored`);
}
