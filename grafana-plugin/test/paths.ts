// Where the plugin and the repository are, for tests that read or build files.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PLUGIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = join(PLUGIN_DIR, '..');
