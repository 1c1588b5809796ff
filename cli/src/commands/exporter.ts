// `selfheal exporter --config FILE`: the anomaly exporter service.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, listenAddressProblem } from '@selfheal/contracts';
import { EXPORTER_LISTEN_OPTIONS, ShardError, defaultDetectorFactory, parseShard, runExporter, type Shard } from '@selfheal/exporter';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function registerExporter(program: Command): void {
  program
    .command('exporter')
    .description('Run the anomaly exporter: reads features from Prometheus, serves anomaly and health scores on /metrics (default port 9188)')
    .version(version)
    .requiredOption('-c, --config <file>', 'exporter config (YAML); see exporter/examples/exporter.yml and `selfheal check-config`')
    .option('--listen <host:port>', 'override the listen address of the config', (value: string): string => {
      const problem = listenAddressProblem(value, EXPORTER_LISTEN_OPTIONS);
      if (problem !== undefined) throw new InvalidArgumentError(problem);
      return value;
    })
    .option('--state-dir <dir>', 'override the state directory (saved models)')
    .option(
      '--shard <index/count>',
      'score only the entities that hash to shard INDEX of COUNT (0 <= INDEX < COUNT, e.g. 0/3); overrides `shard:` of the config',
      (value: string): Shard => {
        try {
          return parseShard(value);
        } catch (error) {
          if (error instanceof ShardError) throw new InvalidArgumentError(error.message.replace(/^--shard "[^"]*": /, ''));
          throw error;
        }
      },
    )
    .addOption(new Option('--log-level <level>', 'override the log level').choices(LOG_LEVELS))
    .addHelpText(
      'after',
      '\nEndpoints: /metrics, /-/healthy, /-/ready, /api/v1/entities.\nSignals: SIGHUP reloads the config (kept when invalid), SIGTERM/SIGINT save the models and stop.',
    )
    .action(async (options: { config: string; listen?: string; stateDir?: string; shard?: Shard; logLevel?: (typeof LOG_LEVELS)[number] }) => {
      try {
        const running = await runExporter({
          configFile: options.config,
          factory: defaultDetectorFactory(),
          overrides: { listen: options.listen, stateDir: options.stateDir, shard: options.shard, logLevel: options.logLevel },
        });
        await running.stopped;
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`selfheal exporter: invalid config ${error.file}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
          process.exitCode = 2;
          return;
        }
        process.stderr.write(`selfheal exporter: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
