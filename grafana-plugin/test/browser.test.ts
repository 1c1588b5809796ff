// @vitest-environment node
// Real browser: the production build of the plugin (dist/module.js) loaded as Grafana loads it (AMD, with
// Grafana's shared modules) in Debian's Chromium via playwright-core, rendered in @grafana/ui's PanelChrome
// with Grafana's dark and light themes. No Grafana server can run here: the harness stands in for it.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FieldConfigSource } from '@grafana/data';
import { OUTCOMES } from '@selfheal/contracts/actions';

import type { HealthTimelineOptions } from '../src/types';
import type { RenderRequest, RenderResult } from './harness/harness';
import { buildHarness, HARNESS_DIR } from './harness/build';
import { buildPluginOnce } from './harness/buildOnce';
import { PLUGIN_DIR } from './paths';
import { serveStatic, type StaticServer } from './harness/server';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SHOTS = join(PLUGIN_DIR, '.tmp', 'screenshots');
// Screenshots for the README are refreshed only when asked (they are committed): SELFHEAL_UPDATE_SCREENSHOTS=1.
const README_IMAGES = join(PLUGIN_DIR, '..', 'docs', 'images');
const TO = Date.UTC(2026, 10, 23, 18, 0, 0);

const iconsDir = join(dirname(dirname(createRequire(import.meta.url).resolve('@grafana/ui'))), 'public', 'img', 'icons');

let server: StaticServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
const pageErrors: string[] = [];

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  if (!box) {
    throw new Error(`${String(locator)} is not visible`);
  }
  return box;
}
/** The element's box once it is the same over two animation frames (bounded: 40 tries). */
async function settledBox(locator: Locator): Promise<Box> {
  let last = await boxOf(locator);
  for (let i = 0; i < 40; i++) {
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const next = await boxOf(locator);
    if (next.x === last.x && next.y === last.y && next.width === last.width && next.height === last.height) {
      return next;
    }
    last = next;
  }
  throw new Error(`${String(locator)} kept moving`);
}
/** The smallest box holding both, grown by `pad`, kept inside the page's viewport. */
function union(a: Box, b: Box, pad: number): Box {
  const view = page.viewportSize() ?? { width: 1200, height: 900 };
  const x = Math.max(0, Math.floor(Math.min(a.x, b.x) - pad));
  const y = Math.max(0, Math.floor(Math.min(a.y, b.y) - pad));
  const right = Math.min(view.width, Math.ceil(Math.max(a.x + a.width, b.x + b.width) + pad));
  const bottom = Math.min(view.height, Math.ceil(Math.max(a.y + a.height, b.y + b.height) + pad));
  return { x, y, width: right - x, height: bottom - y };
}

async function render(req: Partial<RenderRequest>): Promise<RenderResult> {
  const full: RenderRequest = { theme: 'dark', scenario: 'demo', width: 1100, height: 420, to: TO, hours: 6, stepMs: 15_000, ...req };
  return page.evaluate((r) => window.selfheal!.render(r), full);
}


// The production build (shared with test/archive.test.ts: made once per run) is what the browser loads.
beforeAll(async () => {
  await buildPluginOnce();
});

// Generous per-test time: the full `npm test` runs this beside the other packages' end-to-end tests on 2 cores.
describe('panel in a real browser (Chromium, built dist/module.js, harness standing in for Grafana)', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    await buildHarness();
    server = await serveStatic(
      {
        '/harness/': HARNESS_DIR,
        '/dist/': join(PLUGIN_DIR, 'dist'),
        '/public/build/img/icons/': iconsDir,
        '/public/fonts/': join(HARNESS_DIR, 'fonts'),
      },
      join(HARNESS_DIR, 'index.html')
    );
    userDataDir = mkdtempSync(join(tmpdir(), 'selfheal-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1200, height: 900 },
      deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
        pageErrors.push(m.text());
      }
    });
    await page.goto(server.url);
    await page.waitForFunction(() => window.selfheal !== undefined, undefined, { timeout: 20_000 }).catch((e: unknown) => {
      throw new Error(`the harness did not start: ${String(e)}\npage errors: ${pageErrors.join('\n')}`);
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (userDataDir) {
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });

  for (const theme of ['dark', 'light'] as const) {
    it(`renders health, anomalies and every outcome in the ${theme} theme`, async () => {
      await render({ theme });
      const rows = page.getByTestId('selfheal-row');
      await expect.poll(() => rows.count()).toBe(6);
      // Worst first: payments is anomalous at the end of the range.
      expect(await rows.first().getAttribute('data-service')).toBe('payments');
      const outcomes = await page.getByTestId('selfheal-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-outcome')));
      expect(new Set(outcomes)).toEqual(new Set(OUTCOMES));
      expect(await page.getByTestId('selfheal-span').count()).toBe(12);
      // Reverts of fixes and demotions to approve mode are drawn apart from the actions' markers.
      expect(await page.getByTestId('selfheal-revert').count()).toBe(2);
      expect(await page.getByTestId('selfheal-demotion').count()).toBe(2);
      // Health numbers coloured by the thresholds: payments red/orange, catalog green, and different.
      const colour = (service: string) =>
        page.locator(`[data-service="${service}"] [data-testid="selfheal-health"]`).evaluate((e) => getComputedStyle(e).color);
      expect(await colour('payments')).not.toBe(await colour('catalog'));
      // Grafana's font from the theme is in use.
      expect(await page.evaluate(async () => (await document.fonts.load('12px Inter')).length)).toBeGreaterThan(0);
      await page.evaluate(() => document.fonts.ready);

      const shot = join(SHOTS, `panel-${theme}.png`);
      mkdirSync(SHOTS, { recursive: true });
      await page.getByTestId('harness-frame').screenshot({ path: shot });
      if (process.env.SELFHEAL_UPDATE_SCREENSHOTS === '1') {
        mkdirSync(README_IMAGES, { recursive: true });
        copyFileSync(shot, join(README_IMAGES, `panel-${theme}.png`));
        copyFileSync(shot, join(PLUGIN_DIR, 'src', 'img', `screenshot-${theme}.png`));
      }
    });
  }

  it('hovering an action shows what was detected, the action, its outcome and the recovery time', async () => {
    await render({ theme: 'dark' });
    const failed = page.locator('[data-service="checkout"] [data-testid="selfheal-event"][data-outcome="failed"]');
    await failed.hover();
    const tooltip = page.getByTestId('selfheal-tooltip');
    await expect.poll(() => tooltip.isVisible()).toBe(true);
    const text = (await tooltip.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('enable_cache · Failed');
    expect(text).toContain('Service checkout');
    expect(text).toMatch(/Detected latency_p99 \(peak score 3\.\d\d\)/);
    expect(text).toMatch(/Recovery \d+m( \d+s)? after the action \(anomaly lasted \d+m/);
    // The crosshair follows the cursor and is shared with the dashboard's other panels.
    expect(await page.getByTestId('selfheal-crosshair').count()).toBe(1);
    const published = await page.evaluate(() => window.selfheal!.published.length);
    expect(published).toBeGreaterThan(0);
    await page.mouse.move(5, 5);
    await expect.poll(() => tooltip.count()).toBe(0);
    mkdirSync(SHOTS, { recursive: true });
    await failed.hover();
    await expect.poll(() => tooltip.isVisible()).toBe(true);
    // The tooltip lives in a portal outside the panel, and may overhang it: the picture is the union of both boxes,
    // taken once the tooltip has stopped moving (Grafana's container measures itself, then flips away from the edge).
    const tip = await settledBox(tooltip);
    const clip = union(await boxOf(page.getByTestId('harness-frame')), tip, 8);
    expect(tip.x >= clip.x && tip.y >= clip.y && tip.x + tip.width <= clip.x + clip.width && tip.y + tip.height <= clip.y + clip.height).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'tooltip-dark.png'), clip });
    if (process.env.SELFHEAL_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(join(SHOTS, 'tooltip-dark.png'), join(README_IMAGES, 'panel-tooltip.png'));
    }
  });

  it('draws an unknown outcome distinctly from success and failure, and its tooltip says nobody saw the result', async () => {
    await render({ theme: 'light' });
    const marker = (outcome: string) => page.locator(`[data-service="cart"] [data-testid="selfheal-event"][data-outcome="${outcome}"]`);
    const unknown = marker('unknown');
    await expect.poll(() => unknown.count()).toBe(1);
    // What is drawn: the shapes (element and outline) and the colours differ from a success's and a failure's.
    const look = (outcome: string) =>
      page
        .locator(`[data-testid="selfheal-event"][data-outcome="${outcome}"]`)
        .first()
        .evaluate((g) => {
          const shape = g.querySelector('path, circle, rect')!;
          return { shapes: [...g.querySelectorAll('*')].map((e) => e.tagName).join(','), fill: getComputedStyle(shape).fill, stroke: getComputedStyle(shape).stroke, text: g.textContent };
        });
    const [u, ok, failed] = [await look('unknown'), await look('succeeded'), await look('failed')];
    expect(u.text).toBe('?');
    expect(u.shapes).not.toBe(ok.shapes);
    expect(u.shapes).not.toBe(failed.shapes);
    expect(u.stroke).not.toBe(ok.fill);
    expect(u.stroke).not.toBe(failed.fill);
    const box = await boxOf(unknown);
    expect(box.width).toBeGreaterThan(8);
    await unknown.hover();
    const tooltip = page.getByTestId('selfheal-tooltip');
    await expect.poll(() => tooltip.isVisible()).toBe(true);
    const text = (await tooltip.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('restart · Outcome unknown');
    expect(text).toContain('Outcome Outcome unknown');
    expect(text).toContain('Nobody saw the result: the healing service stopped while the action ran');
    const tip = await settledBox(tooltip);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'tooltip-unknown-light.png'), clip: union(await boxOf(page.getByTestId('harness-frame')), tip, 8) });
    await page.mouse.move(5, 5);
    await expect.poll(() => tooltip.count()).toBe(0);
  });

  it('draws the approvals of approve mode, each distinctly, and says in the tooltip what each means', async () => {
    await render({ theme: 'dark' });
    const look = (outcome: string) =>
      page
        .locator(`[data-service="inventory"] [data-testid="selfheal-event"][data-outcome="${outcome}"]`)
        .first()
        .evaluate((g) => {
          const shapes = [...g.querySelectorAll('path, circle, rect')];
          return {
            shapes: [...g.querySelectorAll('*')].map((e) => `${e.tagName}:${e.getAttribute('d') === null ? '' : 'd'}`).join(','),
            colours: shapes.map((e) => `${getComputedStyle(e).fill}/${getComputedStyle(e).stroke}`).join(','),
          };
        });
    await expect.poll(() => page.locator('[data-service="inventory"] [data-testid="selfheal-event"][data-outcome="pending_approval"]').count()).toBe(3);
    // Shapes and colours of the four approval outcomes differ from each other and from a success's.
    const looks: string[] = [];
    for (const o of ['pending_approval', 'approved', 'rejected', 'expired', 'succeeded']) looks.push(JSON.stringify(await look(o)));
    expect(new Set(looks).size).toBe(5);
    const tooltip = page.getByTestId('selfheal-tooltip');
    const tip = async (outcome: string): Promise<string> => {
      await page.locator(`[data-service="inventory"] [data-testid="selfheal-event"][data-outcome="${outcome}"]`).first().hover();
      await expect.poll(() => tooltip.isVisible()).toBe(true);
      const text = (await tooltip.innerText()).replace(/\s+/g, ' ');
      await page.mouse.move(5, 5);
      await expect.poll(() => tooltip.count()).toBe(0);
      return text;
    };
    expect(await tip('approved')).toContain('restart · Approved');
    expect(await tip('approved')).toContain('A person approved it (who and why: the healing service');
    expect(await tip('rejected')).toContain('scale_up · Rejected');
    expect(await tip('expired')).toContain('Nobody approved or rejected it in time');
    expect(await tip('pending_approval')).toContain('waits for a person to approve or reject it');
    const legend = await page.getByLabel('legend').innerText();
    for (const text of ['Awaiting approval', 'Approved', 'Rejected', 'Approval expired']) expect(legend).toContain(text);
  });

  it('draws reverts of fixes (U-turn arrows) and demotions to approve mode (a band), and says in the tooltip what each means', async () => {
    await render({ theme: 'dark' });
    const revert = (outcome: string) => page.locator(`[data-testid="selfheal-revert"][data-outcome="${outcome}"]`);
    await expect.poll(() => revert('reverted').count()).toBe(1);
    expect(await revert('reapplied').count()).toBe(1);
    const look = (locator: Locator) =>
      locator.first().evaluate((g) => {
        const shapes = [...g.querySelectorAll('path, circle, rect')];
        return JSON.stringify({
          shapes: [...g.querySelectorAll('*')].map((e) => `${e.tagName}:${e.getAttribute('d') ?? ''}`.replace(/[\d.]+/g, '')).join(','),
          colours: shapes.map((e) => `${getComputedStyle(e).fill}/${getComputedStyle(e).stroke}`).join(','),
        });
      });
    // The revert's arrow and colour differ from every action's marker, and undone from put back.
    const actions = new Set<string>();
    for (const o of OUTCOMES) actions.add(await look(page.locator(`[data-testid="selfheal-event"][data-outcome="${o}"]`)));
    const reverted = await look(revert('reverted'));
    const reapplied = await look(revert('reapplied'));
    expect(actions.has(reverted)).toBe(false);
    expect(actions.has(reapplied)).toBe(false);
    expect(reverted).not.toBe(reapplied);
    // The revert is drawn on the timeline where its counter rose (minute 290 of the 6 hours on checkout's row).
    const row = await boxOf(page.locator('[data-service="checkout"] svg:has([data-testid="selfheal-revert"])'));
    const at = await boxOf(revert('reverted'));
    expect((at.x + at.width / 2 - row.x) / row.width).toBeCloseTo(290 / 360, 1);

    const tooltip = page.getByTestId('selfheal-tooltip');
    const tip = async (target: Locator): Promise<string> => {
      await target.hover();
      await expect.poll(() => tooltip.isVisible()).toBe(true);
      const text = (await tooltip.innerText()).replace(/\s+/g, ' ');
      await page.mouse.move(5, 5);
      await expect.poll(() => tooltip.count()).toBe(0);
      return text;
    };
    expect(await tip(revert('reverted'))).toContain('reverted scale_up');
    expect(await tip(revert('reapplied'))).toContain('scale_up · fix put back (re-triggered)');
    const band = page.locator('[data-service="cart"] [data-testid="selfheal-demotion"]');
    const box = await boxOf(band);
    const cartTrack = await boxOf(page.locator('[data-service="cart"] svg:has([data-testid="selfheal-demotion"])'));
    // Open: from minute 325 to the end of the range.
    expect((box.x - cartTrack.x) / cartTrack.width).toBeCloseTo(325 / 360, 1);
    expect(box.x + box.width).toBeCloseTo(cartTrack.x + cartTrack.width, -1);
    const demoted = await tip(band);
    expect(demoted).toContain('demoted to approve: restart on cart');
    expect(demoted).toContain('still demoted');
    expect(await band.evaluate((e) => getComputedStyle(e).fill)).not.toBe(
      await page.locator('[data-testid="selfheal-span"]').first().evaluate((e) => getComputedStyle(e).fill)
    );
    const legend = await page.getByLabel('legend').innerText();
    for (const text of ['Reverted', 'Fix put back (re-triggered)', 'Demoted to approve']) expect(legend).toContain(text);
  });

  it('clicking an action opens the configured link with its time range', async () => {
    await render({ options: { eventLink: '/d/selfheal-overview?from=${__from}&to=${__to}&var-service=${service}' } });
    await page.locator('[data-service="search"] [data-testid="selfheal-event"]').click();
    const navigations = await page.evaluate(() => window.selfheal!.navigations);
    const last = navigations.at(-1) ?? '';
    expect(last).toMatch(/^\/d\/selfheal-overview\?from=\d+&to=\d+&var-service=search$/);
    const [, from, to] = /from=(\d+)&to=(\d+)/.exec(last)!;
    // The anomaly (18 min from minute 190) with 5 minutes either side.
    expect(Number(to) - Number(from)).toBeGreaterThan(25 * 60_000);
    expect(Number(from)).toBeLessThan(TO - 6 * 3600_000 + 190 * 60_000);
  });

  it('works out of the box on the provisioned dashboard (its options and thresholds, dataplane frames)', async () => {
    const dashboard = JSON.parse(readFileSync(join(PLUGIN_DIR, '..', 'provisioning/dashboards/selfheal/selfheal-overview.json'), 'utf8')) as {
      panels: Array<{ type: string; options: Partial<HealthTimelineOptions>; fieldConfig: FieldConfigSource }>;
    };
    const panel = dashboard.panels.find((p) => p.type === 'selfheal-healthtimeline-panel')!;
    // JSON cannot hold -Infinity: a saved dashboard's base threshold is null, as Grafana saves it.
    expect(panel.fieldConfig.defaults.thresholds?.steps[0]?.value).toBeNull();
    await render({ dataplane: true, options: panel.options, fieldConfig: panel.fieldConfig });
    await expect.poll(() => page.getByTestId('selfheal-row').count()).toBe(6);
    const outcomes = await page.getByTestId('selfheal-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-outcome')));
    expect(new Set(outcomes)).toEqual(new Set(OUTCOMES));
    expect(await page.getByTestId('selfheal-span').count()).toBe(12);
    // The dashboard's reverts and demotions queries, matched by the options it sets.
    expect(await page.getByTestId('selfheal-revert').count()).toBe(2);
    expect(await page.getByTestId('selfheal-demotion').count()).toBe(2);
    const colour = (service: string) =>
      page.locator(`[data-service="${service}"] [data-testid="selfheal-health"]`).evaluate((e) => getComputedStyle(e).color);
    expect(await colour('payments')).not.toBe(await colour('catalog'));
  });

  it('says which queries it expects when the data does not fit', async () => {
    await render({ scenario: 'unusable' });
    const text = await page.locator('[data-testid="harness-frame"]').innerText();
    expect(text).toContain('Expected Prometheus time series with a "service" label');
    expect(text).toContain('selfheal_health_score');
    expect(await page.getByTestId('selfheal-row').count()).toBe(0);
  });

  it('renders 50 services × 24 h at 15 s (288 000 samples per metric) and stays interactive', async () => {
    const result = await render({ scenario: 'many', services: 50, hours: 24, height: 600 });
    expect(await page.getByTestId('selfheal-row').count()).toBe(50);
    const second = await render({ scenario: 'many', services: 50, hours: 24, height: 600 });
    // Hovering re-renders only the crosshair and the tooltip, not the rows: timed in the page itself.
    const hoverMs = await page.evaluate(() => window.selfheal!.measureHover(3));
    expect(await page.getByTestId('selfheal-tooltip').count()).toBe(1);
    console.log(
      `[grafana-plugin] 50 services x 24 h at 15 s: ${result.samples} samples in ${result.shapeInputSeries} series; ` +
        `render ${result.renderMs.toFixed(0)} ms (again ${second.renderMs.toFixed(0)} ms), hover to tooltip ${hoverMs.toFixed(0)} ms`
    );
  });

  it('raised no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
