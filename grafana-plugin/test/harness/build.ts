// Builds what the real-browser test serves: the plugin (its production webpack build, as shipped) and the
// harness page bundle (esbuild), into grafana-plugin/dist and grafana-plugin/.tmp/harness.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { build } from 'esbuild';

import { PLUGIN_DIR } from '../paths';

export const HARNESS_DIR = join(PLUGIN_DIR, '.tmp', 'harness');

export function buildPlugin(): void {
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PLUGIN_DIR, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) {
    throw new Error(`plugin build failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * The same build without blocking the event loop: a test worker that sits in spawnSync for a minute cannot answer
 * vitest's RPC ("Timeout calling onTaskUpdate").
 */
export function buildPluginAsync(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: PLUGIN_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 240_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
      } else {
        reject(new Error(`plugin build failed (exit ${code ?? signal}):\n${output}`));
      }
    });
  });
}

/** Grafana's global styles load Inter from public/fonts/inter/; the harness serves it from a registry package. */
function copyFonts(): void {
  const inter = createRequire(import.meta.url).resolve('@fontsource-variable/inter/files/inter-latin-wght-normal.woff2');
  const dir = join(HARNESS_DIR, 'fonts', 'inter');
  mkdirSync(dir, { recursive: true });
  for (const name of ['Inter-Regular.woff2', 'Inter-Medium.woff2']) {
    copyFileSync(inter, join(dir, name));
  }
}

export async function buildHarness(): Promise<void> {
  mkdirSync(HARNESS_DIR, { recursive: true });
  copyFonts();
  await build({
    entryPoints: [join(PLUGIN_DIR, 'test/harness/harness.tsx')],
    outfile: join(HARNESS_DIR, 'harness.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    minify: true,
    publicPath: '/harness',
    sourcemap: false,
    logLevel: 'error',
    loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file', '.png': 'file', '.gif': 'file', '.css': 'css' },
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  });
  writeFileSync(
    join(HARNESS_DIR, 'index.html'),
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Selfheal panel harness</title>
<link rel="stylesheet" href="/harness/harness.css"></head>
<body><div id="root"></div><script src="/harness/harness.js"></script></body></html>
`
  );
}
