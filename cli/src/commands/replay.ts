// `selfheal replay --config FILE payload.json...`: what the healing service would have done with recorded
// Alertmanager notifications; `selfheal replay --config FILE --prometheus URL --since 7d`: the same over the
// SelfhealAnomaly alert's history in Prometheus (a policy backtest). Policy + guardrails on the alerts' own clock;
// nothing is executed.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parseDuration, roughDuration } from '@selfheal/contracts';
import { backtest, describeReadError, formatBacktest, formatReplay, NoHistoryError, replay, SHIPPED_ROUTE, type BacktestOptions } from '@selfheal/webhook';
import { parseTime } from './backtest.js';
import { loadWebhookConfigOrReport } from './webhook-config.js';

interface ReplayOptions {
  config: string;
  json?: boolean;
  prometheus?: string;
  since?: string;
  until: string;
  chunk: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  evaluationInterval?: string;
}

/** `7d` (that long before now), `now-7d`, RFC 3339 or Unix seconds; throws naming the option. */
function timeOption(name: string, text: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  try {
    return parseTime(text, now);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}; or a duration before now, e.g. 7d`);
  }
}

/** A duration option; absent: `fallback` (seconds). */
function durationOption(name: string, text: string | undefined, min = 0, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const s = parseDuration(text ?? '');
  if (s === undefined || s < min) throw new Error(`${name}: "${text}" is not a duration${min > 0 ? ` of at least ${min}s` : ''}; write e.g. 30s, 5m, 4h, 1d`);
  return s;
}

/** A duration in the help (0 as 0s). */
const shown = (s: number): string => (s === 0 ? '0s' : roughDuration(s));

const PHASES = { read: 'reading ALERTS', evidence: 'reading scores', replay: 'replaying' } as const;

async function runBacktest(opts: ReplayOptions & { prometheus: string }): Promise<void> {
  const now = Date.now() / 1000;
  let o: BacktestOptions;
  try {
    if (!opts.since) throw new Error('--since is required with --prometheus (e.g. --since 7d)');
    const since = timeOption('--since', opts.since, now);
    const until = timeOption('--until', opts.until, now);
    if (!(since < until)) throw new Error(`--since (${new Date(since * 1000).toISOString()}) must be before --until (${new Date(until * 1000).toISOString()})`);
    new URL(opts.prometheus); // throws "Invalid URL"
    o = {
      prometheus: opts.prometheus, since, until, chunkSeconds: durationOption('--chunk', opts.chunk, 60),
      route: {
        groupWait: durationOption('--group-wait', opts.groupWait, 0, SHIPPED_ROUTE.groupWait),
        groupInterval: durationOption('--group-interval', opts.groupInterval, 1, SHIPPED_ROUTE.groupInterval),
        repeatInterval: durationOption('--repeat-interval', opts.repeatInterval, 1, SHIPPED_ROUTE.repeatInterval),
      },
      evaluationInterval: opts.evaluationInterval === undefined ? undefined : durationOption('--evaluation-interval', opts.evaluationInterval, 1),
    };
  } catch (err) {
    console.error(`selfheal replay: ${err instanceof TypeError ? `--prometheus: "${opts.prometheus}" is not a URL; write e.g. http://127.0.0.1:9090` : (err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const config = loadWebhookConfigOrReport(opts.config);
  if (!config) return;
  // On stderr, and only on a terminal (cli-progress draws nothing otherwise): stdout stays the report.
  const bar = new SingleBar({ stream: process.stderr, format: '{phase} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true });
  let phase: string | undefined;
  o.onProgress = (p, done, total) => {
    if (p !== phase) {
      if (phase) bar.stop();
      phase = p;
      bar.start(total, done, { phase: PHASES[p] });
    } else bar.update(done);
  };
  try {
    const report = await backtest(config, o);
    bar.stop();
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatBacktest(report));
  } catch (err) {
    bar.stop();
    console.error(`selfheal replay: ${err instanceof NoHistoryError ? err.message : describeReadError(opts.prometheus, err)}`);
    process.exitCode = err instanceof NoHistoryError ? 3 : 1;
  }
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('What the healing policy would have done, nothing executed: with recorded Alertmanager webhook payloads, or over the SelfhealAnomaly history in Prometheus (--prometheus URL --since 7d)')
    .requiredOption('-c, --config <file>', 'healing service config (YAML)')
    .option('--json', 'print JSON (payloads: one line per notification; --prometheus: the whole report)')
    .option('--prometheus <url>', 'replay the history of ALERTS{alertname="SelfhealAnomaly"} read from this Prometheus')
    .option('--since <time>', 'with --prometheus: start of the window: a duration before now (7d), RFC 3339 or Unix seconds')
    .option('--until <time>', 'with --prometheus: end of the window (same forms)', 'now')
    .option('--chunk <duration>', 'with --prometheus: how much history one request reads', '1d')
    .option('--group-wait <duration>', `with --prometheus: the Alertmanager route's group_wait (default: the shipped route's, ${shown(SHIPPED_ROUTE.groupWait)})`)
    .option('--group-interval <duration>', `with --prometheus: the route's group_interval (default: ${shown(SHIPPED_ROUTE.groupInterval)})`)
    .option('--repeat-interval <duration>', `with --prometheus: the route's repeat_interval (default: ${shown(SHIPPED_ROUTE.repeatInterval)})`)
    .option('--evaluation-interval <duration>', 'with --prometheus: the alert rule\'s evaluation interval (default: what the samples show)')
    .argument('[payloads...]', 'JSON files, each an Alertmanager webhook payload (version 4) or an array of them')
    .action(async (files: string[], opts: ReplayOptions) => {
      if (opts.prometheus !== undefined) {
        if (files.length > 0) {
          console.error('selfheal replay: give either payload files or --prometheus, not both');
          process.exitCode = 1;
          return;
        }
        await runBacktest({ ...opts, prometheus: opts.prometheus });
        return;
      }
      if (files.length === 0) {
        console.error('selfheal replay: give payload files, or --prometheus URL --since 7d to replay the history in Prometheus');
        process.exitCode = 1;
        return;
      }
      const config = loadWebhookConfigOrReport(opts.config);
      if (!config) return;
      const lines = await replay(config, files);
      console.log(opts.json ? lines.map((l) => JSON.stringify(l)).join('\n') : formatReplay(lines));
      if (lines.some((l) => l.kind === 'invalid')) process.exitCode = 2;
    });
}
