import type { Command } from 'commander';

/** A subcommand module adds its command(s) to the program. */
export type RegisterCommand = (program: Command) => void;

// Each component registers its subcommands here (one file per command under ./).
export const commands: RegisterCommand[] = [];
