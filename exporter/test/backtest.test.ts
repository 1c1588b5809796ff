import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBacktest } from '../src/backtest/backtest.js';
import { CsvFormatError, parseSeriesCsv, parseTimestamp } from '../src/backtest/csv.js';
import { runSeries } from '../src/backtest/run-series.js';
import { createDetector } from '../src/detector/index.js';
import { Random } from '../src/detector/forest/random.js';
import { gaussian } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'selfheal-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csv(rows: number, seed: number, spikeAt = -1): string {
  const rng = new Random(seed);
  const lines = ['timestamp,value'];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    const v = 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + gaussian(rng) + (i === spikeAt ? 60 : 0);
    lines.push(`${t},${v.toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}

describe('CSV input', () => {
  it('reads NAB-style and epoch timestamps', () => {
    expect(parseTimestamp('2014-04-10 00:02:00')).toBe(Date.UTC(2014, 3, 10, 0, 2, 0) / 1000);
    expect(parseTimestamp('2014-04-10T00:02:00+02:00')).toBe(Date.UTC(2014, 3, 9, 22, 2, 0) / 1000);
    expect(parseTimestamp('1700000000')).toBe(1_700_000_000);
    expect(parseTimestamp('1700000000000')).toBe(1_700_000_000);
    expect(parseTimestamp('yesterday')).toBeNaN();
  });

  it('names the file and line of bad input', () => {
    expect(() => parseSeriesCsv('', 'a.csv')).toThrow(/a\.csv: empty file/);
    expect(() => parseSeriesCsv('1,2\n3,4\n', 'b.csv')).toThrow(/b\.csv:1: the first line looks like data/);
    expect(() => parseSeriesCsv('timestamp,value\n2024-01-01 00:00:00,1\nnot-a-time,2\n', 'c.csv')).toThrow(/c\.csv:3: cannot read timestamp "not-a-time"/);
    expect(() => parseSeriesCsv('timestamp,value\n2024-01-01 00:00:00,1,5\n', 'd.csv')).toThrow(CsvFormatError);
  });

  it('keeps missing cells as NaN and repeated timestamps as rows', () => {
    const t = parseSeriesCsv('timestamp,cpu,mem\n10,1,\n10,2,3\n20,,4\n', 'e.csv');
    expect(t.columns).toEqual(['cpu', 'mem']);
    expect(t.timestamps.length).toBe(3);
    expect(Number.isNaN(t.values[1])).toBe(true);
    expect(t.notIncreasing).toEqual([3]);
  });
});

// A few thousand rows through the detector: seconds on a busy 2-core machine, beyond vitest's 5 s default.
describe('runBacktest', { timeout: 30_000 }, () => {
  it('mirrors a folder tree, writes timestamp,score in [0, 1] for every input row, and a summary', async () => {
    const input = path.join(dir, 'in');
    mkdirSync(path.join(input, 'cat1'), { recursive: true });
    mkdirSync(path.join(input, 'cat2'), { recursive: true });
    writeFileSync(path.join(input, 'cat1', 'quiet.csv'), csv(1500, 1));
    writeFileSync(path.join(input, 'cat2', 'spike.csv'), csv(1500, 2, 1200));
    const out = path.join(dir, 'out');
    const summary = await runBacktest({ input, out, progress: false });
    expect(summary.series.map((s) => s.name)).toEqual([path.join('cat1', 'quiet.csv'), path.join('cat2', 'spike.csv')]);
    const text = readFileSync(path.join(out, 'cat2', 'spike.csv'), 'utf8').trim().split('\n');
    expect(text[0]).toBe('timestamp,score,top_feature,alert,raw_score');
    expect(text.length).toBe(1501);
    const source = csv(1500, 2, 1200).trim().split('\n');
    const scores = text.slice(1).map((l, i) => {
      const [ts, s, top] = l.split(',');
      expect(ts).toBe(source[i + 1]?.split(',')[0]);
      // the only column is the top feature once the detector is ready (warmup 200 rows), nothing before
      expect(top).toBe(i < 200 ? '' : 'value');
      return Number(s);
    });
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(1);
    }
    // The spike crosses the product threshold (score 0.5 <=> anomaly score 1) at its row.
    expect(scores[1200]).toBeGreaterThan(0.5);
    const spike = summary.series[1];
    expect(spike?.alarmStarts).toContain(source[1201]?.split(',')[0]);
    expect(existsSync(path.join(out, 'summary.json'))).toBe(true);
    // Exactly the detector's code path: same scores as feeding the detector directly.
    const table = parseSeriesCsv(csv(1500, 2, 1200), 'x');
    const direct = createDetector(['value']);
    let last = 0;
    for (let i = 0; i < 1500; i++) last = direct.update(table.timestamps[i] as number, table.values.subarray(i, i + 1)).anomalyScore;
    expect(runSeries(table.columns, table.timestamps, table.values).anomalyScores[1499]).toBe(last);
  });

  it('says when the alert rule would fire: for: is time, so a 5-minute spike fires under the shipped for: 1m, not under for: 1h', async () => {
    const file = path.join(dir, 'alert-spike.csv');
    writeFileSync(file, csv(1500, 2, 1200));
    const shipped = await runBacktest({ input: file, out: path.join(dir, 'alert-1m'), progress: false });
    expect(shipped.alertForSeconds).toBe(60);
    const rows = readFileSync(path.join(dir, 'alert-1m', 'alert-spike.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    // every 5-minute row above 1 holds for longer than a minute: the rule fires at each alarm row
    expect(rows.map((r) => r[3])).toEqual(rows.map((r) => (Number(r[1]) > 0.5 ? '1' : '0')));
    expect(rows[1200]?.[3]).toBe('1');
    expect(shipped.alerts).toBe(shipped.alarmEpisodes);
    expect(shipped.series[0]?.alertStarts).toEqual(shipped.series[0]?.alarmStarts);
    const hour = await runBacktest({ input: file, out: path.join(dir, 'alert-1h'), progress: false, alertForSeconds: 3600 });
    expect(hour.alarmEpisodes).toBe(shipped.alarmEpisodes);
    expect(hour.alerts).toBe(0);
    await expect(runBacktest({ input: file, out: path.join(dir, 'alert-bad'), progress: false, alertForSeconds: -1 })).rejects.toThrow(/alert for: expected a duration of 0 s or more, got -1/);
  });

  it('rejects a missing input with a clear error', async () => {
    await expect(runBacktest({ input: path.join(dir, 'nope'), out: path.join(dir, 'o2'), progress: false })).rejects.toThrow(/does not exist/);
    await expect(runBacktest({ out: path.join(dir, 'o3') })).rejects.toThrow(/either an input/);
  });
});
