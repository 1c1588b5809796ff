// `npm run bench -w grafana-plugin`: how the panel copes with 50 services x 24 h at 15 s (5 760 samples per series,
// 730 series) in Debian's Chromium, against a reference measured in the same page: one plain pass over every
// sample. Prints figures and ratios (and writes them under bench-results/); asserts nothing about speed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { chromium } from 'playwright-core';

import type { RenderRequest } from '../test/harness/harness';
import { buildHarness, buildPlugin, HARNESS_DIR } from '../test/harness/build';
import { serveStatic } from '../test/harness/server';
import { PLUGIN_DIR, REPO_DIR } from '../test/paths';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log('bench grafana-plugin: building the plugin and the harness');
buildPlugin();
await buildHarness();
const iconsDir = join(dirname(dirname(createRequire(import.meta.url).resolve('@grafana/ui'))), 'public', 'img', 'icons');
const server = await serveStatic(
  { '/harness/': HARNESS_DIR, '/dist/': join(PLUGIN_DIR, 'dist'), '/public/build/img/icons/': iconsDir, '/public/fonts/': join(HARNESS_DIR, 'fonts') },
  join(HARNESS_DIR, 'index.html')
);
const userDataDir = mkdtempSync(join(tmpdir(), 'selfheal-bench-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1400, height: 900 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await page.waitForFunction(() => window.selfheal !== undefined);
  const req: RenderRequest = { theme: 'dark', scenario: 'many', services: 50, hours: 24, stepMs: 15_000, width: 1300, height: 700, to: Date.UTC(2026, 10, 23, 18) };
  const scans: number[] = [];
  const shapes: number[] = [];
  const renders: number[] = [];
  const hovers: number[] = [];
  let samples = 0;
  for (let run = 1; run <= RUNS; run++) {
    const s = await page.evaluate((r) => window.selfheal!.measureShaping(r), req);
    const r = await page.evaluate((x) => window.selfheal!.render(x), req);
    samples = s.samples;
    scans.push(s.scanMs);
    shapes.push(s.shapeMs);
    renders.push(r.renderMs);
    hovers.push(await page.evaluate((i) => window.selfheal!.measureHover(i), run));
    await page.mouse.move(1, 1);
    process.stdout.write(`  run ${run}/${RUNS}: shape ${s.shapeMs.toFixed(0)} ms, render ${r.renderMs.toFixed(0)} ms\n`);
  }
  const ref = median(scans);
  const figures = {
    scenario: '50 services x 24 h at 15 s',
    samples,
    referenceScanMs: Number(ref.toFixed(1)),
    shapeMs: Number(median(shapes).toFixed(1)),
    shapeVsScan: Number((median(shapes) / ref).toFixed(1)),
    renderMs: Number(median(renders).toFixed(1)),
    renderVsScan: Number((median(renders) / ref).toFixed(1)),
    hoverToTooltipMs: Number(median(hovers).toFixed(1)),
  };
  console.log(
    `bench grafana-plugin: ${figures.scenario}, ${samples} samples: reference scan ${figures.referenceScanMs} ms; ` +
      `shaping ${figures.shapeMs} ms (${figures.shapeVsScan}x the scan); shaping + React render to first paint ` +
      `${figures.renderMs} ms (${figures.renderVsScan}x); hover to tooltip ${figures.hoverToTooltipMs} ms (medians of ${RUNS})`
  );
  mkdirSync(join(REPO_DIR, 'bench-results'), { recursive: true });
  writeFileSync(join(REPO_DIR, 'bench-results', 'grafana-plugin.json'), `${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await context.close();
  await server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
