// The demo's report: one chart per fault (anomaly score, health score, the loop's milestones) as an HTML
// file with inline SVG (no network, opens anywhere), and the same charts as PNGs rendered by Chromium.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultRunResult } from './fault-milestones.js';
import { resultsTable } from './summary.js';

const W = 760;
const H = 260;
const M = { left: 48, right: 48, top: 28, bottom: 36 };

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** One fault's chart as an SVG string. */
export function faultChart(result: FaultRunResult): string {
  const tMax = Math.max(10, ...result.samples.map((s) => s.t));
  const sMax = Math.max(2, Math.ceil(result.peakScore * 1.1));
  const x = (t: number) => M.left + (t / tMax) * (W - M.left - M.right);
  const yScore = (v: number) => H - M.bottom - (Math.min(v, sMax) / sMax) * (H - M.top - M.bottom);
  const yHealth = (v: number) => H - M.bottom - (v / 100) * (H - M.top - M.bottom);
  const path = (points: [number, number][]) => points.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
  const score = path(result.samples.map((s) => [x(s.t), yScore(s.score)]));
  const health = path(result.samples.filter((s) => Number.isFinite(s.health)).map((s) => [x(s.t), yHealth(s.health)]));
  const marks: [string, number | undefined, string][] = [
    ['fault', 0, '#b91c1c'],
    ['detected', result.detectedAfter, '#d97706'],
    ['alert', result.firingAfter, '#ea580c'],
    [result.action ?? 'action', result.actionAfter, '#2563eb'],
    ['recovered', result.recoveredAfter, '#16a34a'],
    ['resolved', result.resolvedAfter, '#15803d'],
  ];
  const ticks = Array.from({ length: 6 }, (_, i) => (tMax * i) / 5);
  const markers = marks
    .filter((m): m is [string, number, string] => m[1] !== undefined)
    .map(([label, t, color], i) => {
      const px = x(t);
      return `<line x1="${px}" x2="${px}" y1="${M.top}" y2="${H - M.bottom}" stroke="${color}" stroke-dasharray="4 3"/>` +
        `<text x="${px + 3}" y="${M.top + 10 + (i % 3) * 12}" fill="${color}" font-size="11">${esc(label)} ${t.toFixed(1)}s</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="16" font-size="13" font-weight="bold">${esc(`${result.kind} on ${result.service} → ${result.action ?? 'no action'} (${result.outcome})`)}</text>
<line x1="${M.left}" x2="${W - M.right}" y1="${yScore(1)}" y2="${yScore(1)}" stroke="#9ca3af" stroke-dasharray="2 2"/>
<text x="${W - M.right - 70}" y="${yScore(1) - 3}" font-size="10" fill="#6b7280">threshold 1.0</text>
<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#374151"/>
<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#374151"/>
${ticks.map((t) => `<text x="${x(t)}" y="${H - M.bottom + 14}" font-size="10" text-anchor="middle">${t.toFixed(0)}s</text>`).join('')}
<text x="${M.left - 6}" y="${yScore(sMax) + 4}" font-size="10" text-anchor="end">${sMax}</text>
<text x="${M.left - 6}" y="${yScore(0) + 4}" font-size="10" text-anchor="end">0</text>
<text x="${W - M.right + 6}" y="${yHealth(100) + 4}" font-size="10">100</text>
<text x="${W - M.right + 6}" y="${yHealth(0) + 4}" font-size="10">0</text>
<path d="${health}" fill="none" stroke="#16a34a" stroke-width="1.5" opacity="0.7"/>
<path d="${score}" fill="none" stroke="#dc2626" stroke-width="2"/>
${markers}
<text x="${M.left}" y="${H - 6}" font-size="11" fill="#dc2626">— anomaly score (left axis)</text>
<text x="${M.left + 170}" y="${H - 6}" font-size="11" fill="#16a34a">— health score 0–100 (right axis)</text>
<text x="${W - M.right}" y="${H - 6}" font-size="11" text-anchor="end">seconds after the fault</text>
</svg>`;
}

export function reportHtml(results: readonly FaultRunResult[], title: string, notes: readonly string[] = []): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:820px}pre{background:#f3f4f6;padding:12px;overflow:auto}.chart{margin:16px 0}</style>
</head><body>
<h1>${esc(title)}</h1>
${notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
<pre>${esc(resultsTable(results))}</pre>
<p>MTTD: fault start → alert firing. Time to action: fault start → the healing service's call to the workload.
MTTR: fault start → anomaly score back below 1 (held 3 s) after the action. Resolved: the alert stopped firing.</p>
${results.map((r, i) => `<div class="chart" id="chart-${i}">${faultChart(r)}</div>`).join('\n')}
</body></html>`;
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Writes report.html and one PNG per fault (chart-N-kind.png) into `dir`; returns the files written. */
export async function writeReport(dir: string, results: readonly FaultRunResult[], title: string, notes: readonly string[] = []): Promise<{ html: string; pngs: string[]; pngError?: string }> {
  mkdirSync(dir, { recursive: true });
  const html = join(dir, 'report.html');
  const content = reportHtml(results, title, notes);
  writeFileSync(html, content);
  const pngs: string[] = [];
  try {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: process.env.SELFHEAL_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.setContent(content);
      for (let i = 0; i < results.length; i++) {
        const file = join(dir, `chart-${i + 1}-${results[i]?.kind ?? 'fault'}.png`);
        await page.locator(`#chart-${i} svg`).screenshot({ path: file });
        pngs.push(file);
      }
    } finally {
      await browser.close();
    }
  } catch (error) {
    return { html, pngs, pngError: `PNG charts not written (Chromium: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
  return { html, pngs };
}
