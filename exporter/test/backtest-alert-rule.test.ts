// When the shipped alert rule (a > 1 for `for:`) fires over a backtest's scores: Prometheus holds each scoring's
// value until the next one, so `for:` is time, not a number of rows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ANOMALY_ALERT_FOR_SECONDS, ANOMALY_ALERT_THRESHOLD, parseDuration } from '@selfheal/contracts';
import { alertFiring } from '../src/backtest/alert-rule.js';
import { Random } from '../src/detector/forest/random.js';

const RULE_FILE = fileURLToPath(new URL('../../prometheus/rules/selfheal-alerts.yml', import.meta.url));
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

const fire = (step: number, scores: number[], forSeconds: number): number[] =>
  [...alertFiring(Float64Array.from(scores, (_, i) => 1000 + i * step), Float64Array.from(scores), forSeconds)];

describe('alertFiring', () => {
  it('at a 1-minute step, for: 1m asks for two scorings above 1 in a row, and fires from the second to the run\'s end', () => {
    expect(fire(60, [0, 1.5, 0, 0, 1.2, 1.3, 2, 0.5, 0], 60)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0]);
  });

  it('one scoring of 5-minute data already holds for longer than a minute: it fires at its own row', () => {
    expect(fire(300, [0, 1.5, 0, 0], 60)).toEqual([0, 1, 0, 0]);
  });

  it('for: 0s fires at every row above 1; a score of exactly 1 is not above it', () => {
    expect(fire(15, [0, 1.01, 1, 3, 0], 0)).toEqual([0, 1, 0, 1, 0]);
  });

  it('for: 30s at a 15 s interval needs three scorings (as the promtool case of the rule file: pending at 45 s and 60 s, firing at 75 s)', () => {
    expect(fire(15, [0.2, 0.3, 0.2, 1.4, 1.8, 2.1, 2.0, 1.7, 0.4, 0.2], 30)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
    expect(fire(15, [0.2, 1.6, 1.7, 0.3], 30)).toEqual([0, 0, 0, 0]);
  });

  it('follows the timestamps, not the rows: a gap holds the value before it; the last row holds as long as the gap before it', () => {
    const ts = Float64Array.from([0, 10, 20, 200, 260]);
    expect([...alertFiring(ts, Float64Array.from([0, 0, 2, 0, 2]), 60)]).toEqual([0, 0, 1, 0, 0]);
    expect([...alertFiring(ts, Float64Array.from([0, 0, 0, 2, 2]), 60)]).toEqual([0, 0, 0, 0, 1]);
    expect([...alertFiring(Float64Array.from([5]), Float64Array.from([2]), 60)]).toEqual([1]);
  });
});

describe('the shipped rule', () => {
  it('threshold and for: are those of prometheus/rules/selfheal-alerts.yml and deploy/kubernetes/prometheusrule.yaml', () => {
    type Rule = { alert?: string; expr?: string; for?: string };
    const rules = (file: string, spec: boolean): Rule[] => {
      const doc = parse(readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8')) as { groups?: { rules: Rule[] }[]; spec?: { groups: { rules: Rule[] }[] } };
      return ((spec ? doc.spec?.groups : doc.groups) ?? []).flatMap((g) => g.rules);
    };
    for (const [file, spec] of [['../../prometheus/rules/selfheal-alerts.yml', false], ['../../deploy/kubernetes/prometheusrule.yaml', true]] as const) {
      const rule = rules(file, spec).find((r) => r.alert === 'SelfhealAnomaly');
      expect(parseDuration(rule?.for ?? ''), file).toBe(ANOMALY_ALERT_FOR_SECONDS);
      expect(rule?.expr, file).toContain(`(selfheal_anomaly_score > ${ANOMALY_ALERT_THRESHOLD})`);
    }
  });
});

describe('alertFiring against Prometheus itself', () => {
  it.skipIf(!hasPromtool)('fires at the same evaluations as the shipped rule file under promtool test rules (random scores, 15 s)', () => {
    // Runs of scores above 1 of random lengths (0.1 steps: no rounding ties in the annotations' printf).
    const rng = new Random(7);
    const scores: number[] = [];
    while (scores.length < 160) {
      const above = rng.next() < 0.5;
      const length = 1 + Math.floor(rng.next() * 7);
      for (let k = 0; k < length; k++) scores.push(above ? 1.1 + Math.floor(rng.next() * 18) / 10 : Math.floor(rng.next() * 11) / 10);
    }
    const n = scores.length;
    const firing = fire(15, scores, ANOMALY_ALERT_FOR_SECONDS);
    expect(firing.some((f) => f === 1) && firing.some((f, i) => f === 0 && (scores[i] as number) > 1)).toBe(true);
    const rule = (parse(readFileSync(RULE_FILE, 'utf8')) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] })
      .groups.flatMap((g) => g.rules).find((r) => r.alert === 'SelfhealAnomaly');
    const labels: Record<string, string> = { group: 'web', service: 'checkout', feature: 'cpu' };
    const render = (template: string, value: number): string => template
      .replace(/\{\{ \$labels\.([A-Za-z_]+) \}\}/g, (_, l: string) => labels[l] ?? '<no value>')
      .replace(/\{\{ \$value \| printf "%\.(\d)f" \}\}/g, (_, d: string) => value.toFixed(Number(d)));
    // The exporter's scores begin at 1000 s in fire(); here at 0 s: the same offsets.
    const test = {
      rule_files: [RULE_FILE],
      evaluation_interval: '15s',
      tests: [{
        interval: '15s',
        input_series: [
          { series: 'selfheal_anomaly_score{group="web",service="checkout"}', values: scores.join(' ') },
          { series: 'selfheal_anomaly_top_feature_info{group="web",service="checkout",feature="cpu"}', values: `1x${n - 1}` },
        ],
        alert_rule_test: scores.map((v, i) => ({
          eval_time: `${i * 15}s`,
          alertname: 'SelfhealAnomaly',
          exp_alerts: firing[i] === 1
            ? [{ exp_labels: { severity: 'warning', ...labels }, exp_annotations: Object.fromEntries(Object.entries(rule?.annotations ?? {}).map(([k, t]) => [k, render(t, v)])) }]
            : [],
        })),
      }],
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'selfheal-alert-rule-'));
    try {
      const file = path.join(dir, 'alert-rule.test.yml');
      writeFileSync(file, stringify(test));
      const result = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
