// The backtest's top_feature column (issue 14 item 4): per row the input column the detector blames, i.e. the
// feature the exporter's alert is labelled with; read by ../shared/bench/smd/eval.py for HitRate@1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runBacktest, scoreLine } from '../src/backtest/backtest.js';
import { parseSeriesCsv } from '../src/backtest/csv.js';
import { runSeries } from '../src/backtest/run-series.js';
import { Random } from '../src/detector/forest/random.js';
import { gaussian } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'selfheal-top-feature-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const smdEval = fileURLToPath(new URL('../../../shared/bench/smd/eval.py', import.meta.url));
const nabEval = fileURLToPath(new URL('../../../shared/bench/nab/eval.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

describe('backtest top_feature column', () => {
  it('names per row the column the detector blames: the one that moved at an alarm, empty while warming up', async () => {
    const rng = new Random(5);
    const lines = ['timestamp,cpu,mem,disk'];
    for (let i = 0; i < 1600; i++) {
      const row = [50 + gaussian(rng), 30 + gaussian(rng) + (i >= 1300 && i < 1310 ? 25 : 0), 10 + gaussian(rng) + (i >= 1500 && i < 1510 ? -25 : 0)];
      lines.push(`${1_700_000_000 + 60 * i},${row.map((v) => v.toFixed(3)).join(',')}`);
    }
    const input = path.join(dir, 'multi');
    mkdirSync(input, { recursive: true });
    writeFileSync(path.join(input, 'host.csv'), lines.join('\n') + '\n');
    const out = path.join(dir, 'multi-out');
    await runBacktest({ input, out, progress: false });
    const text = readFileSync(path.join(out, 'host.csv'), 'utf8').trim().split('\n');
    expect(text[0]).toBe('timestamp,score,top_feature,alert,raw_score');
    const rows = text.slice(1).map((l) => l.split(','));
    expect(rows.length).toBe(1600);
    // exactly the detector's verdicts
    const table = parseSeriesCsv(lines.join('\n'), 'host.csv');
    const direct = runSeries(table.columns, table.timestamps, table.values);
    for (let i = 0; i < 1600; i++) {
      const t = direct.topFeatures[i] as number;
      expect(rows[i]?.[2]).toBe(t >= 0 ? table.columns[t] : '');
      expect(rows[i]?.[4]).toBe((direct.rawScores[i] as number).toFixed(6));
    }
    // the raw score (before calibration) is 0 while warming up and ranks the injected jumps above the usual rows
    expect(rows[0]?.[4]).toBe('0.000000');
    const raw = rows.map((r) => Number(r[4]));
    const usual = raw.slice(400, 1300).sort((a, b) => a - b)[Math.floor(0.99 * 900)] as number;
    expect(Math.max(...raw.slice(1300, 1310))).toBeGreaterThan(usual);
    expect(Math.max(...raw.slice(1500, 1510))).toBeGreaterThan(usual);
    expect(rows[0]?.[2]).toBe('');
    const firstAlarm = (from: number): string[] | undefined => rows.slice(from).find((r) => Number(r[1]) > 0.5);
    expect(firstAlarm(1300)?.[2]).toBe('mem');
    expect(firstAlarm(1500)?.[2]).toBe('disk');
  });

  it('quotes a column name that holds a comma or a quote, and leaves the cell empty without attribution', () => {
    expect(scoreLine('10', { anomalyScore: 1, top: 0, firing: false, rawScore: 0.61 }, ['a,b'])).toBe('10,0.500000,"a,b",0,0.610000');
    expect(scoreLine('10', { anomalyScore: 0, top: 0, firing: false, rawScore: 0.4 }, ['say "hi"'])).toBe('10,0.000000,"say ""hi""",0,0.400000');
    expect(scoreLine('10', { anomalyScore: 3, top: -1, firing: true, rawScore: 0 }, ['x'])).toBe('10,0.750000,,1,0.000000');
  });

  it.skipIf(!existsSync(smdEval) || !existsSync(PYTHON))('is read by the SMD evaluator, HitRate@1 from the column names', async () => {
    // a two-metric "machine" (train part, then test part) with a labelled segment where f02 jumps (dims [2])
    const rng = new Random(11);
    const n = 1200;
    const lines = ['timestamp,f01,f02'];
    for (let i = 0; i < n; i++) {
      const f02 = 0.3 + 0.01 * gaussian(rng) + (i >= 1000 && i < 1010 ? 0.3 : 0);
      lines.push(`${1_609_459_200 + 60 * i},${(0.5 + 0.01 * gaussian(rng)).toFixed(5)},${f02.toFixed(5)}`);
    }
    const data = path.join(dir, 'smd');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'machine-x.csv'), lines.join('\n') + '\n');
    const out = path.join(dir, 'smd-out');
    await runBacktest({ input: path.join(data, 'machine-x.csv'), out, progress: false });
    writeFileSync(path.join(data, 'labels.json'), JSON.stringify({ 'machine-x': { test_start_row: 600, n_rows: n, segments: [[1000, 1010]], dims: [[2]] } }));
    const json = path.join(dir, 'smd-eval.json');
    execFileSync(PYTHON, [smdEval, '--data-dir', data, '--scores-dir', out, '--json', json, '--quiet']);
    const res = JSON.parse(readFileSync(json, 'utf8').replace(/\bNaN\b/g, 'null')) as {
      pooled: { at_threshold: { detected: number }; attribution: { hit_rate_at_1: number; segments_scored: number } };
    };
    expect(res.pooled.at_threshold.detected).toBe(1);
    expect(res.pooled.attribution).toMatchObject({ segments_scored: 1, hit_rate_at_1: 1 });
  });

  it.skipIf(!existsSync(nabEval) || !existsSync(PYTHON))('still reads as a NAB score file (../shared/bench/nab/eval.py picks the score column by name)', async () => {
    const rng = new Random(13);
    const lines = ['timestamp,value'];
    const t0 = Date.UTC(2024, 0, 1);
    const stamp = (i: number): string => new Date(t0 + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    for (let i = 0; i < 1500; i++) lines.push(`${stamp(i)},${(50 + gaussian(rng) + (i >= 1200 && i < 1205 ? 40 : 0)).toFixed(3)}`);
    const data = path.join(dir, 'nab', 'cat');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'f.csv'), lines.join('\n') + '\n');
    const windows = path.join(dir, 'windows.json');
    writeFileSync(windows, JSON.stringify({ 'cat/f.csv': [[`${stamp(1190)}.000000`, `${stamp(1230)}.000000`]] }));
    const out = path.join(dir, 'nab-out');
    await runBacktest({ input: path.join(dir, 'nab'), out, progress: false });
    const json = path.join(dir, 'nab-eval.json');
    execFileSync(PYTHON, [nabEval, '--data-dir', path.join(dir, 'nab'), '--windows', windows, '--scores-dir', out, '--nab-threshold', '0.5', '--json', json, '--quiet']);
    const res = JSON.parse(readFileSync(json, 'utf8').replace(/\bNaN\b/g, 'null')) as { aggregate: { windows: number; nab: { standard: { fixed_score: number } } } };
    expect(res.aggregate.windows).toBe(1);
    // the jump is detected early in its window, with no false alarm: close to a perfect score
    expect(res.aggregate.nab.standard.fixed_score).toBeGreaterThan(80);
  });
});
