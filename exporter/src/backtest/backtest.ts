// `selfheal backtest`: runs the exporter's streaming detector (same code, same defaults) over history from CSV
// files or a Prometheus range query and writes `timestamp,score,top_feature,alert,raw_score` per series (score =
// a / (1 + a), so the alerting threshold a = 1 is 0.5; top_feature = the input column the detector blames at that
// row, the feature the exporter's alert is labelled with, empty while warming up; alert = 1 while the shipped alert
// rule, a > 1 for `for:`, would fire (alert-rule.ts): what the healing service would have acted on; raw_score = the
// score before calibration, which ranks rows across series) plus a summary, so users can see what the detector would
// have alerted on and why.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ANOMALY_ALERT_FOR_SECONDS } from '@selfheal/contracts';
import { PrometheusClient } from '../source/client.js';
import { resolveDetectorOptions, type DetectorOptions, type DetectorSettings } from '../detector/options.js';
import { alertFiring } from './alert-rule.js';
import { parseSeriesCsv, type SeriesTable } from './csv.js';
import { progressBar } from './progress.js';
import { runSeries } from './run-series.js';

export interface PrometheusSource {
  url: string;
  query: string;
  /** Unix seconds. */
  start: number;
  end: number;
  step: number;
  timeoutSeconds?: number;
}

export interface BacktestOptions {
  /** A CSV file or a folder searched recursively for *.csv; or `prometheus`. */
  input?: string;
  prometheus?: PrometheusSource;
  out: string;
  /** Detector settings over the defaults (the exporter's `detector:` section). */
  detector?: Readonly<DetectorSettings>;
  /** `for:` of the alert rule to judge the scores by, in seconds (default: the shipped rule's, 60). */
  alertForSeconds?: number;
  /** Progress on stderr (default true). */
  progress?: boolean;
  /** Called with each finished series (CLI output). */
  onSeries?: (s: SeriesSummary) => void;
}

export interface SeriesSummary {
  /** Input path relative to the input root (or the series' labels for Prometheus). */
  name: string;
  output: string;
  columns: string[];
  rows: number;
  /** Rows scored with a ready model (after warm-up). */
  readyRows: number;
  /** Rows whose timestamp was not after the previous one (scored as the previous row). */
  notIncreasingRows: number;
  /** Maximal runs of rows with anomaly score > 1. */
  alarmEpisodes: number;
  alarmRows: number;
  maxAnomalyScore: number;
  /** Timestamps (as in the input) at which each alarm episode started. */
  alarmStarts: string[];
  /** Times the alert rule would have fired (a > 1 for `for:`), and the timestamps at which it would have. */
  alerts: number;
  alertStarts: string[];
  /** Feature named most often as top feature during alarms. */
  topFeature: string | null;
}

export interface BacktestSummary {
  detector: DetectorOptions;
  /** `for:` of the alert rule the `alert` column and `alerts` follow, in seconds. */
  alertForSeconds: number;
  series: SeriesSummary[];
  rows: number;
  alarmEpisodes: number;
  alarmRows: number;
  alerts: number;
  seconds: number;
}

export class BacktestError extends Error {
  override name = 'BacktestError';
}

async function findCsvFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.csv')) out.push(p);
    }
  };
  await walk(root);
  return out;
}

function formatScore(a: number): string {
  return (a / (1 + a)).toFixed(6);
}

/** The header of every score file; readers pick columns by name (NAB's and SMD's evaluators do). */
export const SCORE_FILE_HEADER = 'timestamp,score,top_feature,alert,raw_score';

/** One score-file row (SCORE_FILE_HEADER). */
export interface ScoreRow {
  anomalyScore: number;
  /** Index into the columns; -1 = no attribution (an empty cell). */
  top: number;
  /** The alert rule fires at this row. */
  firing: boolean;
  /** Before calibration (to rank rows across series; not a threshold). */
  rawScore: number;
}

/**
 * One score-file line: the row's timestamp as written in the input, its score a / (1 + a), the name of its top
 * feature (a name holding a comma or quote is quoted), 1 while the alert rule fires, and its raw score.
 */
export function scoreLine(timestampText: string, row: ScoreRow, columns: readonly string[]): string {
  const name = row.top >= 0 ? (columns[row.top] ?? '') : '';
  const cell = /[",\r\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
  return `${timestampText},${formatScore(row.anomalyScore)},${cell},${row.firing ? 1 : 0},${row.rawScore.toFixed(6)}`;
}

/** Maximal runs of 1s: how many, and the index of each run's first row. */
function runStarts(flags: ArrayLike<number | boolean>): number[] {
  const starts: number[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] && (i === 0 || !flags[i - 1])) starts.push(i);
  return starts;
}

function summarise(
  name: string, output: string, table: SeriesTable, anomaly: Float64Array, top: Int32Array, firing: Uint8Array, readyRows: number,
): SeriesSummary {
  let episodes = 0;
  let alarmRows = 0;
  let max = 0;
  const starts: string[] = [];
  const topCounts = new Map<number, number>();
  for (let i = 0; i < anomaly.length; i++) {
    const a = anomaly[i] as number;
    if (a > max) max = a;
    if (a > 1) {
      alarmRows++;
      if (i === 0 || !((anomaly[i - 1] as number) > 1)) {
        episodes++;
        starts.push(table.timestampText[i] as string);
      }
      const t = top[i] as number;
      topCounts.set(t, (topCounts.get(t) ?? 0) + 1);
    }
  }
  let topFeature: string | null = null;
  let best = 0;
  for (const [t, c] of topCounts) {
    if (c > best && t >= 0) {
      best = c;
      topFeature = table.columns[t] ?? null;
    }
  }
  const alertStarts = runStarts(firing).map((i) => table.timestampText[i] as string);
  return {
    name, output, columns: table.columns, rows: anomaly.length, readyRows, notIncreasingRows: table.notIncreasing.length,
    alarmEpisodes: episodes, alarmRows, maxAnomalyScore: max, alarmStarts: starts, alerts: alertStarts.length, alertStarts, topFeature,
  };
}

async function scoreTable(
  name: string, table: SeriesTable, outFile: string, options: BacktestOptions, detector: DetectorOptions, alertForSeconds: number,
): Promise<SeriesSummary> {
  const bar = progressBar(table.timestamps.length, name, process.stderr, (options.progress ?? true) && table.timestamps.length >= 20_000);
  const res = runSeries(table.columns, table.timestamps, table.values, detector, (n) => bar.update(n));
  bar.finish();
  const firing = alertFiring(table.timestamps, res.anomalyScores, alertForSeconds);
  const lines: string[] = [SCORE_FILE_HEADER];
  for (let i = 0; i < res.anomalyScores.length; i++) {
    const row = { anomalyScore: res.anomalyScores[i] as number, top: res.topFeatures[i] as number, firing: firing[i] === 1, rawScore: res.rawScores[i] as number };
    lines.push(scoreLine(table.timestampText[i] as string, row, table.columns));
  }
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, lines.join('\n') + '\n');
  const s = summarise(name, outFile, table, res.anomalyScores, res.topFeatures, firing, res.readyRows);
  options.onSeries?.(s);
  return s;
}

function seriesFileName(labels: Record<string, string>): string {
  const parts = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  const base = parts.length === 0 ? 'series' : parts.join(',');
  return base.replace(/[^A-Za-z0-9_.,=-]+/g, '_').slice(0, 200) + '.csv';
}

export async function runBacktest(options: BacktestOptions): Promise<BacktestSummary> {
  const started = Date.now();
  const detector = resolveDetectorOptions(options.detector ?? {});
  const alertForSeconds = options.alertForSeconds ?? ANOMALY_ALERT_FOR_SECONDS;
  if (!(alertForSeconds >= 0) || !Number.isFinite(alertForSeconds)) throw new BacktestError(`alert for: expected a duration of 0 s or more, got ${alertForSeconds}`);
  const series: SeriesSummary[] = [];
  if ((options.input === undefined) === (options.prometheus === undefined)) {
    throw new BacktestError('give either an input file/folder or a Prometheus range query, not both or neither');
  }
  if (options.input !== undefined) {
    const root = path.resolve(options.input);
    let info;
    try {
      info = await stat(root);
    } catch {
      throw new BacktestError(`input ${options.input} does not exist`);
    }
    const files = info.isDirectory() ? await findCsvFiles(root) : [root];
    if (files.length === 0) throw new BacktestError(`no .csv files under ${options.input}`);
    for (const file of files) {
      const rel = info.isDirectory() ? path.relative(root, file) : path.basename(file);
      const table = parseSeriesCsv(await readFile(file, 'utf8'), rel);
      if (table.columns.length === 0 || table.timestamps.length === 0) throw new BacktestError(`${rel}: no data rows`);
      series.push(await scoreTable(rel, table, path.join(options.out, rel), options, detector, alertForSeconds));
    }
  } else {
    const p = options.prometheus as PrometheusSource;
    if (!(p.end > p.start) || !(p.step > 0)) throw new BacktestError('prometheus: need start < end and step > 0');
    const client = new PrometheusClient({
      url: p.url, timeoutSeconds: p.timeoutSeconds ?? 30, retries: 2, retryBackoffSeconds: 0.5,
      acceptEncoding: 'gzip', maxPointsPerRequest: 11_000,
    });
    const result = await client.queryRange(p.query, p.start, p.end, p.step);
    if (result.length === 0) throw new BacktestError(`prometheus: the query returned no series: ${p.query}`);
    for (const s of result) {
      const name = seriesFileName(s.metric);
      const text = Array.from(s.timestamps, (t) => new Date(t * 1000).toISOString());
      const table: SeriesTable = { columns: ['value'], timestamps: s.timestamps, timestampText: text, values: s.values, notIncreasing: [] };
      series.push(await scoreTable(name, table, path.join(options.out, name), options, detector, alertForSeconds));
    }
  }
  const summary: BacktestSummary = {
    detector,
    alertForSeconds,
    series,
    rows: series.reduce((a, s) => a + s.rows, 0),
    alarmEpisodes: series.reduce((a, s) => a + s.alarmEpisodes, 0),
    alarmRows: series.reduce((a, s) => a + s.alarmRows, 0),
    alerts: series.reduce((a, s) => a + s.alerts, 0),
    seconds: (Date.now() - started) / 1000,
  };
  await mkdir(options.out, { recursive: true });
  await writeFile(path.join(options.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
