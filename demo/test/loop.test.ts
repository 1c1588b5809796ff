// The pieces of the closed-loop demo that need no running loop: config rewriting, the normal band, the
// figures, the summary table and the report (rendered to PNG by the real Chromium).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { exporterConfig, loopFigures, policyConfig, quantile, resultsTable, writeReport, type FaultRunResult } from '../src/index.js';
import { FEATURE_FOR, featureQueries, normalBand } from '../src/loop/features.js';

const dir = mkdtempSync(join(tmpdir(), 'selfheal-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime configs', () => {
  it('the exporter copy changes only addresses, the state dir and the given detector settings', () => {
    const doc = parse(exporterConfig({ prometheusUrl: 'http://127.0.0.1:1111', listen: '127.0.0.1:2222', stateDir: '/tmp/s', detector: { warmup: 90 } })) as {
      prometheus: { url: string };
      listen: string;
      stateDir: string;
      groups: { name: string; features: Record<string, string>; detector: Record<string, unknown> }[];
    };
    expect(doc.prometheus.url).toBe('http://127.0.0.1:1111');
    expect(doc.listen).toBe('127.0.0.1:2222');
    expect(doc.stateDir).toBe('/tmp/s');
    expect(doc.groups[0]?.detector).toMatchObject({ warmup: 90, refractory: 0 });
    expect(Object.keys(doc.groups[0]?.features ?? {})).toEqual([...new Set(Object.values(FEATURE_FOR))]);
  });

  it('the policy copy points every action at the running workload and keeps the rules', () => {
    const text = policyConfig({ workloadUrl: 'http://127.0.0.1:3333/', prometheusUrl: 'http://127.0.0.1:1111', listen: '127.0.0.1:4444', tokenFile: '/tmp/t', storePath: '/tmp/db' });
    expect(text).not.toContain('8081');
    const doc = parse(text) as { targets: Record<string, { actions: Record<string, { url: string }> }>; auth: unknown; listen: string; rules: { name: string; actions?: unknown }[] };
    expect(Object.keys(doc.targets)).toEqual(['checkout', 'catalog', 'search']);
    expect(doc.targets.search?.actions.scale_up?.url).toBe('http://127.0.0.1:3333/admin/services/{{ target }}/scale');
    expect(Object.keys(doc.targets.catalog?.actions ?? {}).sort()).toEqual(['enable_cache', 'open_circuit_breaker', 'quarantine', 'restart', 'rollback', 'scale_up']);
    expect(doc.auth).toEqual({ type: 'bearer', tokenFile: '/tmp/t' });
    expect(doc.listen).toBe('127.0.0.1:4444');
    // Right after a release, a rollback (first rule, when: recentChange); a restart waits for a person (approve
    // mode); everything else follows the feature. A latency anomaly's cache has a shorter verification (demo-latency)
    // than the rest (demo-services).
    expect(doc.rules.map((r) => r.name)).toEqual(['demo-release', 'demo-memory', 'demo-latency', 'demo-services']);
    expect(doc.rules[0]).toMatchObject({ when: 'recentChange', actions: ['rollback'] });
    expect(doc.rules[1]?.actions).toEqual([{ action: 'restart', mode: 'approve' }]);
  });

  it('every fault kind has a feature query in the shipped exporter config', () => {
    const queries = featureQueries();
    for (const feature of Object.values(FEATURE_FOR)) expect(queries[feature]).toMatch(/service/);
  });
});

describe('figures', () => {
  it('normal band: median plus robust spread or slack, whichever is larger', () => {
    const band = normalBand('cpu', [0.03, 0.031, 0.029, 0.03, 0.032, 0.028, 0.03]);
    expect(band.median).toBeCloseTo(0.03);
    expect(band.upper).toBeCloseTo(0.042, 4); // 40 % of the median beats 4 robust sigmas and the 0.01 floor
    expect(normalBand('error_ratio', [0, 0, 0, 0]).upper).toBeCloseTo(0.05);
    expect(normalBand('memory_used', [1e8, 1.01e8, 0.99e8]).upper).toBeCloseTo(1.3e8, -5);
  });

  it('quantiles interpolate, and an empty list has none', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5, 1, 3], 0.95)).toBeCloseTo(4.8);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

function result(kind: FaultRunResult['kind'], outcome: FaultRunResult['outcome'], extra: Partial<FaultRunResult> = {}): FaultRunResult {
  return {
    kind,
    service: 'checkout',
    expectedAction: 'scale_up',
    injectedAt: 0,
    outcome,
    feature: 'cpu',
    featureSamples: [],
    collateralActions: [],
    collateralServices: [],
    samples: Array.from({ length: 40 }, (_, i) => ({ t: i * 0.5, score: i > 6 && i < 20 ? 2.5 : 0.2, health: i > 6 && i < 20 ? 40 : 98 })),
    peakScore: 2.5,
    ...extra,
  };
}

describe('summary and report', () => {
  const results = [
    result('cpu_saturation', 'healed', { firingAfter: 4, actionAfter: 4.5, action: 'scale_up', actionStatus: 'succeeded', recoveredAfter: 9, scoreNormalAfter: 10, resolvedAfter: 11, alertFeature: 'cpu' }),
    result('memory_leak', 'not_detected'),
  ];

  it('figures count only what happened', () => {
    const f = loopFigures(results);
    expect(f).toMatchObject({ faults: 2, healed: 1, successRate: 0.5 });
    expect(f.mttd.median).toBe(4);
    expect(f.mttr.median).toBe(9);
  });

  it('the table has a row per fault with its times', () => {
    const lines = resultsTable(results).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^fault\s+service\s+feature\s+MTTD\s+to action\s+MTTR/);
    expect(lines[2]).toMatch(/cpu_saturation\s+checkout\s+cpu\s+4\.0 s\s+4\.5 s\s+9\.0 s\s+10\.0 s\s+11\.0 s\s+scale_up\s+succeeded\s+healed/);
    expect(lines[3]).toMatch(/memory_leak .*—.*not_detected/);
  });

  it('writes an HTML report with a chart per fault and PNGs rendered by Chromium', async () => {
    const report = await writeReport(dir, results, 'test report');
    const html = readFileSync(report.html, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('scale_up 4.5s');
    expect(report.pngError).toBeUndefined();
    expect(report.pngs).toHaveLength(2);
    for (const png of report.pngs) {
      expect(existsSync(png)).toBe(true);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    }
  });
});
