// The provisioned data sources and dashboards (provisioning/) checked against what Grafana needs and what the
// rest of Selfheal promises: every panel uses a provisioned data source by uid, every query filters by the
// `service` variable and names metrics that exist (docs/contracts.md, recording rules), and the Selfheal
// panel's queries give it every series it reads, matched by its default options.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { ROLE_OPTION, ROLES } from '../src/data/frames';
import { DEFAULT_OPTIONS } from '../src/types';
import { PLUGIN_DIR } from './paths';

const REPO = join(PLUGIN_DIR, '..');
const PLUGIN_ID = (JSON.parse(readFileSync(join(PLUGIN_DIR, 'src/plugin.json'), 'utf8')) as { id: string }).id;
const CORE_PANELS = new Set(['timeseries', 'stat', 'table', 'row', 'bargauge', 'gauge', 'text', 'alertlist', 'state-timeline']);

interface Target {
  refId: string;
  expr: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Target[];
  options?: Record<string, unknown>;
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; datasource: { uid: string }; definition: string; includeAll: boolean }> };
}

const datasources = (parse(readFileSync(join(REPO, 'provisioning/datasources/selfheal.yml'), 'utf8')) as { datasources: Array<{ uid: string; type: string }> })
  .datasources;
const dashDir = join(REPO, 'provisioning/dashboards/selfheal');
const dashboards = readdirSync(dashDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, dashboard: JSON.parse(readFileSync(join(dashDir, f), 'utf8')) as Dashboard }));
const overview = dashboards.find((d) => d.dashboard.uid === 'selfheal-overview')?.dashboard;

/** Metric names Selfheal's components export (docs/contracts.md) or its recording rules record, plus ALERTS. */
function knownMetrics(): Set<string> {
  const known = new Set<string>(['ALERTS']);
  for (const m of readFileSync(join(REPO, 'docs/contracts.md'), 'utf8').matchAll(/`(selfheal_[a-z_]+)/g)) {
    known.add(m[1]!);
  }
  const rules = parse(readFileSync(join(REPO, 'prometheus/rules/selfheal-recording.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> };
  for (const r of rules.groups.flatMap((g) => g.rules)) {
    if (r.record) {
      known.add(r.record);
    }
  }
  return known;
}

/** Metric names in a PromQL expression (words before `{` or `[`, or bare selectors), minus functions and labels. */
function metricsIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)) {
    names.add(m[1]!);
  }
  return [...names].filter((n) => !['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(n));
}

/** Histogram series names refer to their base metric in the contracts. */
const baseName = (n: string) => n.replace(/_(bucket|sum|count)$/, '');

describe('provisioned data sources and dashboards', () => {
  it('provisions Prometheus and Alertmanager with stable uids', () => {
    expect(datasources.find((d) => d.type === 'prometheus')?.uid).toBe('selfheal-prometheus');
    expect(datasources.find((d) => d.type === 'alertmanager')?.uid).toBe('selfheal-alertmanager');
    expect(new Set(datasources.map((d) => d.uid)).size).toBe(datasources.length);
  });

  it('has the overview dashboard with a multi-value `service` variable from the health score', () => {
    expect(overview).toBeDefined();
    const variable = overview!.templating.list.find((v) => v.name === 'service');
    expect(variable?.definition).toBe('label_values(selfheal_health_score, service)');
    expect(variable?.includeAll).toBe(true);
    expect(variable?.datasource.uid).toBe('selfheal-prometheus');
  });

  it('puts the Selfheal panel on top of the standard panels', () => {
    const top = [...overview!.panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x)[0]!;
    expect(top.type).toBe(PLUGIN_ID);
    expect(top.gridPos.w).toBe(24);
    const titles = overview!.panels.map((p) => p.title.toLowerCase());
    for (const wanted of ['anomaly score', 'feature attribution', 'healing actions rate', 'time to recover']) {
      expect(titles.some((t) => t.includes(wanted)), wanted).toBe(true);
    }
  });

  for (const { file, dashboard } of dashboards) {
    it(`${file}: panels use provisioned data sources, known panel types, known metrics, and $service`, () => {
      const uids = new Set(datasources.map((d) => d.uid));
      const known = knownMetrics();
      const ids = new Set<number>();
      for (const panel of dashboard.panels) {
        expect(ids.has(panel.id), `duplicate panel id ${panel.id}`).toBe(false);
        ids.add(panel.id);
        expect(CORE_PANELS.has(panel.type) || panel.type === PLUGIN_ID, `panel type ${panel.type}`).toBe(true);
        if (panel.type === 'row') {
          continue;
        }
        expect(uids.has(panel.datasource?.uid ?? ''), `${panel.title}: data source ${panel.datasource?.uid}`).toBe(true);
        for (const t of panel.targets ?? []) {
          expect(uids.has(t.datasource?.uid ?? panel.datasource!.uid)).toBe(true);
          // The healing service's efficacy and cost families are per policy target (named after their service).
          expect(t.expr, `${panel.title} ${t.refId} filters by $service`).toMatch(/\b(service|target)=~"\$service"/);
          for (const name of metricsIn(t.expr)) {
            expect(known.has(baseName(name)) || known.has(name), `${panel.title}: unknown metric ${name}`).toBe(true);
          }
        }
      }
    });
  }

  it("gives the Selfheal panel every series it reads, matched by its options (metric name or refId)", () => {
    const panel = overview!.panels.find((p) => p.type === PLUGIN_ID)!;
    const options = { ...DEFAULT_OPTIONS, ...(panel.options as Partial<typeof DEFAULT_OPTIONS>) };
    expect(Object.keys(panel.options ?? {}).filter((k) => !(k in DEFAULT_OPTIONS)), 'unknown option keys').toEqual([]);
    for (const role of ROLES) {
      const wanted = String(options[ROLE_OPTION[role]]);
      const target = panel.targets!.find((t) => t.refId === wanted || metricsIn(t.expr).includes(wanted));
      expect(target, `no query for ${role} (${wanted})`).toBeDefined();
      // A plain selector keeps __name__, and the refId is the metric name too: either match works.
      expect(target!.refId).toBe(wanted);
      expect(target!.expr.startsWith(`${wanted}{`)).toBe(true);
    }
    expect(String(options.eventLink)).toContain('${__from}');
  });
});
