import type { Command } from 'commander';
import { registerWebhook } from './webhook.js';
import { registerReplay } from './replay.js';
import { registerDemo } from './demo.js';
import { registerExporter } from './exporter.js';
import { registerCheckConfig } from './check-config.js';
import { registerBacktest } from './backtest.js';

/** A subcommand module adds its command(s) to the program. */
export type RegisterCommand = (program: Command) => void;

// Each component registers its subcommands here (one file per command under ./).
export const commands: RegisterCommand[] = [registerWebhook, registerReplay, registerDemo, registerExporter, registerCheckConfig, registerBacktest];
