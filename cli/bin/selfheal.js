#!/usr/bin/env node
// Thin launcher: the compiled entry lives in dist/ (built by `npm run build`, run by `npm install`'s prepare step).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('selfheal: not built yet. Run `npm run build` in the repository root first.');
  process.exit(1);
}
await import(entry.href);
