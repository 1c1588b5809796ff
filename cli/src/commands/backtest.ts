// `selfheal backtest <file-or-folder> --out <folder>`: runs the exporter's streaming detector (same code path and
// defaults) over history and writes `timestamp,score,top_feature,alert,raw_score` per series plus summary.json.
import { ANOMALY_ALERT_FOR_SECONDS, parseDuration } from '@selfheal/contracts';
import { Command, Option } from 'commander';
import { DEFAULT_DETECTOR_OPTIONS, DETECTOR_SETTING_NAMES, parseDetectorSettings, runBacktest, type BacktestSummary, type DetectorSettings } from '@selfheal/exporter';

/** Seconds of a Prometheus duration: "15s", "5m", "1h30m". */
export function parseDurationSeconds(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new Error(`cannot read duration "${text}" (e.g. 30s, 5m, 1h30m)`);
  return seconds;
}

/** Unix seconds of "now", "now-7d", RFC 3339, or Unix seconds. */
export function parseTime(text: string, now = Date.now() / 1000): number {
  if (text === 'now') return now;
  if (text.startsWith('now-')) return now - parseDurationSeconds(text.slice(4));
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`cannot read time "${text}" (RFC 3339, Unix seconds, now or now-<duration>)`);
  return t / 1000;
}

/** `key=value` detector overrides; values are JSON (numbers, lists) or bare strings. Throws naming a bad one. */
export function parseSettings(pairs: readonly string[]): DetectorSettings {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    if (!DETECTOR_SETTING_NAMES.includes(key)) {
      throw new Error(`--set: unknown detector setting "${key}"; known: ${DETECTOR_SETTING_NAMES.join(', ')}`);
    }
    const raw = pair.slice(eq + 1);
    try {
      out[key] = JSON.parse(raw) as unknown;
    } catch {
      out[key] = raw;
    }
  }
  return parseDetectorSettings(out);
}

function printSummary(s: BacktestSummary, out: string): void {
  const w = (line: string): boolean => process.stdout.write(line + '\n');
  w(`${s.series.length} series, ${s.rows} rows in ${s.seconds.toFixed(1)} s; ${s.alarmEpisodes} alarm episodes (anomaly score > 1), ${s.alarmRows} alarm rows; ` +
    `${s.alerts} alerts (the rule: anomaly score > 1 for ${s.alertForSeconds} s)`);
  const nameWidth = Math.min(60, Math.max(6, ...s.series.map((x) => x.name.length)));
  w(`${'series'.padEnd(nameWidth)}  ${'rows'.padStart(7)}  ${'alarms'.padStart(6)}  ${'alerts'.padStart(6)}  ${'max a'.padStart(7)}  top feature`);
  for (const x of s.series) {
    w(`${x.name.slice(-nameWidth).padEnd(nameWidth)}  ${String(x.rows).padStart(7)}  ${String(x.alarmEpisodes).padStart(6)}  ${String(x.alerts).padStart(6)}  ${x.maxAnomalyScore.toFixed(2).padStart(7)}  ${x.topFeature ?? '-'}`);
  }
  w(`scores (score = a / (1 + a); 0.5 = the alerting threshold; alert = 1 while the rule fires) and summary.json written to ${out}`);
}

export function registerBacktest(program: Command): void {
  program
    .command('backtest')
    .description("Run the exporter's detector over history (CSV files or a Prometheus range query) and write per-series scores")
    .argument('[input]', 'a CSV file (timestamp,value[,more columns]) or a folder searched recursively for *.csv')
    .requiredOption('-o, --out <folder>', 'output folder: <out>/<same relative path>.csv with timestamp,score,top_feature,alert,raw_score (score = a / (1 + a); top_feature = the column the alert would be labelled with, empty while warming up; alert = 1 while the alert rule would fire; raw_score = the score before calibration, to rank rows across series, not a threshold), plus summary.json')
    .option('--prometheus <url>', 'read a range query from this Prometheus instead of files')
    .option('--query <promql>', 'PromQL of the range query (one output file per returned series)')
    .option('--start <time>', 'range start: RFC 3339, Unix seconds or now-<duration>', 'now-7d')
    .option('--end <time>', 'range end', 'now')
    .option('--step <duration>', 'range step, e.g. 30s, 5m', '60s')
    .option('--alert-for <duration>', `for: of your alert rule on selfheal_anomaly_score > 1 (the alert column and the alerts counted follow it)`, `${ANOMALY_ALERT_FOR_SECONDS}s`)
    .option('--set <key=value...>', `detector setting over the defaults (repeatable), e.g. --set trainWindow=3000`, [])
    .addOption(new Option('--json', 'print the summary as JSON'))
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', `\nDetector defaults (the exporter's): ${JSON.stringify(DEFAULT_DETECTOR_OPTIONS)}`)
    .action(async (input: string | undefined, opts: {
      out: string; prometheus?: string; query?: string; start: string; end: string; step: string; alertFor: string; set: string[]; json?: boolean; progress: boolean;
    }) => {
      try {
        if (input !== undefined && opts.prometheus !== undefined) throw new Error('give either an input path or --prometheus, not both');
        if (input === undefined && opts.prometheus === undefined) throw new Error('give an input file or folder, or --prometheus URL --query PROMQL');
        if (opts.prometheus !== undefined && opts.query === undefined) throw new Error('--prometheus needs --query');
        const detector = parseSettings(opts.set);
        const summary = await runBacktest({
          ...(input !== undefined ? { input } : {}),
          ...(opts.prometheus !== undefined
            ? { prometheus: { url: opts.prometheus, query: opts.query as string, start: parseTime(opts.start), end: parseTime(opts.end), step: parseDurationSeconds(opts.step) } }
            : {}),
          out: opts.out,
          detector,
          alertForSeconds: parseDurationSeconds(opts.alertFor),
          progress: opts.progress,
        });
        if (opts.json === true) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        else printSummary(summary, opts.out);
      } catch (error) {
        process.stderr.write(`selfheal backtest: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
