// Score files for the evaluators from a backtest's `timestamp,score,top_feature,alert,raw_score` files:
//  * alerted: what the shipped alert rule fires (a > 1 for `for:`), as a score the evaluators' fixed threshold 0.5
//    reads (0.51 or more while firing, 0.49 or less otherwise): the "at a = 1" figures are what a user's alerts
//    would have been, not every row above 1;
//  * raw: the raw score before calibration, r / (1 + r) (monotone: the ranking is the raw score's).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const TAIL = ',alert,raw_score';
/** The folders these files go to, inside the backtest's output folder (skipped when reading it). */
const DERIVED = { alerted: 'alerted', raw: 'raw-score' } as const;
const derivedNames = new Set<string>(Object.values(DERIVED));

/** The cells of one line: timestamp, score, the top_feature cell as written (quoted or not), alert, raw score. */
function cellsOf(line: string): { ts: string; score: string; top: string; alert: string; raw: string } {
  const rawAt = line.lastIndexOf(',');
  const alertAt = line.lastIndexOf(',', rawAt - 1);
  const tsEnd = line.indexOf(',');
  const scoreEnd = line.indexOf(',', tsEnd + 1);
  return { ts: line.slice(0, tsEnd), score: line.slice(tsEnd + 1, scoreEnd), top: line.slice(scoreEnd + 1, alertAt), alert: line.slice(alertAt + 1, rawAt), raw: line.slice(rawAt + 1) };
}

/** Rewrites every score file under `from` (recursively, same relative paths) into `to`; `firstRow` skips data rows. */
function rewrite(from: string, to: string, header: string, line: (c: ReturnType<typeof cellsOf>) => string, firstRow: (rel: string) => number = () => 0): string {
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!(dir === from && derivedNames.has(e.name))) walk(p);
        continue;
      }
      if (!e.name.endsWith('.csv')) continue;
      const rel = path.relative(from, p);
      const [head = '', ...rows] = readFileSync(p, 'utf8').trimEnd().split('\n');
      if (!head.endsWith(TAIL)) throw new Error(`${p}: header ${head} does not end with ${TAIL} (a backtest score file)`);
      const out = [header, ...rows.slice(firstRow(rel)).map((r) => line(cellsOf(r)))];
      mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
      writeFileSync(path.join(to, rel), out.join('\n') + '\n');
    }
  };
  walk(from);
  return to;
}

/** Score files of what the alert rule fired (with top_feature, for HitRate@1 at the alert's first row), in <from>/alerted. */
export function alertedScoreFiles(from: string): string {
  return rewrite(from, path.join(from, DERIVED.alerted), 'timestamp,score,top_feature', (c) => {
    const s = Number(c.score);
    return `${c.ts},${(c.alert === '1' ? Math.max(s, 0.51) : Math.min(s, 0.49)).toFixed(6)},${c.top}`;
  });
}

/** Score files of the raw score (before calibration), from data row `firstRow(file)` on, in <from>/raw-score. */
export function rawScoreFiles(from: string, firstRow?: (rel: string) => number): string {
  return rewrite(from, path.join(from, DERIVED.raw), 'timestamp,score', (c) => {
    const r = Math.max(0, Number(c.raw));
    return `${c.ts},${(r / (1 + r)).toFixed(7)}`;
  }, firstRow);
}
