// `selfheal webhook --config FILE`: runs the healing service; `--check-config` only validates the file.
import type { Command } from 'commander';
import { ConfigError } from '@selfheal/contracts';
import { checkWebhookConfig, createHealer, listenProblem, redactStoreUrl } from '@selfheal/webhook';
import { loadWebhookConfigOrReport } from './webhook-config.js';

export function registerWebhook(program: Command): void {
  program
    .command('webhook')
    .description('Run the healing service: Alertmanager webhook in, guarded remediation actions out')
    .requiredOption('-c, --config <file>', 'healing service config (YAML)')
    .option('--check-config', 'validate the config file and exit (0 = valid)')
    .option('--listen <host:port>', 'override listen from the config')
    .option('--dry-run', 'decide and record, never act (overrides the config)')
    .option('--paused', 'start with the pause switch on')
    .action(async (opts: { config: string; checkConfig?: boolean; listen?: string; dryRun?: boolean; paused?: boolean }) => {
      if (opts.checkConfig) {
        const result = checkWebhookConfig(opts.config);
        if (result.ok) console.log(`${opts.config}: valid`);
        else console.error(`${opts.config}: invalid\n  - ${result.errors.join('\n  - ')}`);
        process.exitCode = result.ok ? 0 : 1;
        return;
      }
      const config = loadWebhookConfigOrReport(opts.config);
      if (!config) return;
      if (opts.listen !== undefined) {
        const problem = listenProblem(opts.listen);
        if (problem) {
          console.error(`selfheal webhook: --listen ${JSON.stringify(opts.listen)}: ${problem}`);
          process.exitCode = 1;
          return;
        }
        config.listen = opts.listen;
      }
      if (opts.dryRun) config.dryRun = true;
      let healer;
      try {
        healer = createHealer(config, { paused: opts.paused, configFile: opts.config });
      } catch (err) {
        console.error(err instanceof ConfigError ? err.message : `selfheal webhook: ${(err as Error).message}`);
        process.exitCode = 1;
        return;
      }
      let url: string;
      try {
        url = await healer.listen();
      } catch (err) {
        // e.g. the PostgreSQL store unreachable within store.connectTimeout, or the port taken.
        console.error(`selfheal webhook: ${(err as Error).message}`);
        await healer.close().catch(() => undefined);
        process.exitCode = 1;
        return;
      }
      healer.logger.info({ url, dryRun: config.dryRun, store: config.store.url ? redactStoreUrl(config.store.url) : config.store.path }, `healing service listening on ${url}`);
      const shutdown = (signal: string) => {
        healer.logger.info({ signal }, 'shutting down');
        void healer.close().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
