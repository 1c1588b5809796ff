// `selfheal replay --config FILE payload.json...`: what the healing service would have done with recorded
// Alertmanager notifications (policy + guardrails on the alerts' own clock; nothing is executed).
import type { Command } from 'commander';
import { formatReplay, replay } from '@selfheal/webhook';
import { loadWebhookConfigOrReport } from './webhook-config.js';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('Feed recorded Alertmanager webhook payloads through the healing policy in dry-run and print what would have happened')
    .requiredOption('-c, --config <file>', 'healing service config (YAML)')
    .option('--json', 'print JSON lines instead of text')
    .argument('<payloads...>', 'JSON files, each an Alertmanager webhook payload (version 4) or an array of them')
    .action(async (files: string[], opts: { config: string; json?: boolean }) => {
      const config = loadWebhookConfigOrReport(opts.config);
      if (!config) return;
      const lines = await replay(config, files);
      console.log(opts.json ? lines.map((l) => JSON.stringify(l)).join('\n') : formatReplay(lines));
      if (lines.some((l) => l.kind === 'invalid')) process.exitCode = 2;
    });
}
