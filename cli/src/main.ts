// The `selfheal` command line: one entry, a subcommand per job. Each subcommand lives in ./commands/.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { commands } from './commands/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('selfheal')
  .description('Self-healing for Prometheus, Alertmanager and Grafana users')
  .version(pkg.version)
  .showHelpAfterError()
  .enablePositionalOptions();

for (const register of commands) register(program);

await program.parseAsync(process.argv);
