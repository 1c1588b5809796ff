// The shard filter pushdown (src/shard/pushdown.ts): which feature expressions may carry the shard's entity
// matchers, the rewritten text, and — with Prometheus's own Go parser and evaluator (`promtool check rules`,
// `promtool test rules`) — that the rewritten expressions parse and that the escaped value sets select exactly
// the named entities, whatever characters their label values hold.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { summarizeExporterConfig } from '../src/config/check.js';
import { parseExporterConfig } from '../src/config/load.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { quoteRegexLiteral } from '@selfheal/contracts';
import { applyPushdown, entityMatchers, planPushdown, unquotePromQLString, valueSets } from '../src/shard/pushdown.js';

const BY_SERVICE = ['service'];
const M = 'service=~"a|b"';
const matchers = entityMatchers(BY_SERVICE, valueSets(BY_SERVICE, [{ service: 'b' }, { service: 'a' }, { service: 'a' }]));

function rewritten(promql: string, groupBy: readonly string[] = BY_SERVICE, m = M): string {
  const plan = planPushdown(promql, groupBy);
  if (!plan.safe) throw new Error(`refused: ${plan.reason}`);
  return applyPushdown(plan, m);
}

function refusal(promql: string, groupBy: readonly string[] = BY_SERVICE): string {
  const plan = planPushdown(promql, groupBy);
  if (plan.safe) throw new Error(`not refused: ${promql}`);
  return plan.reason;
}

function promtool(args: string[], files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'selfheal-pushdown-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const result = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('entity matchers', () => {
  it('one regex matcher per groupBy label, values sorted and unique, labels sorted', () => {
    expect(matchers).toBe('service=~"a|b"');
    const two = entityMatchers(['zone', 'app'], valueSets(['zone', 'app'], [{ app: 'x', zone: 'eu' }, { app: 'y', zone: 'us' }, { app: 'x', zone: 'us' }]));
    expect(two).toBe('app=~"x|y",zone=~"eu|us"');
  });

  it('quotes regex metacharacters like Go regexp.QuoteMeta and the string like a PromQL literal', () => {
    expect(quoteRegexLiteral('a.b*c+d?(e)|[f]{g}^h$\\i')).toBe('a\\.b\\*c\\+d\\?\\(e\\)\\|\\[f\\]\\{g\\}\\^h\\$\\\\i');
    const m = entityMatchers(BY_SERVICE, valueSets(BY_SERVICE, [{ service: 'q"x' }, { service: 'back\\slash' }, { service: 'a.b' }]));
    expect(m).toBe(String.raw`service=~"a\\.b|back\\\\slash|q\"x"`);
    // The string literal's value is the regex (PromQL unquoting), and the regex matches exactly the values.
    const literal = m.slice('service=~'.length);
    const regex = new RegExp(`^(?:${unquotePromQLString(literal)})$`);
    for (const value of ['q"x', 'back\\slash', 'a.b']) expect(regex.test(value), value).toBe(true);
    for (const value of ['aXb', 'back\\\\slash', 'q"', '']) expect(regex.test(value), value).toBe(false);
  });

  it('an entity without the label is the empty alternative (matches series that lack it)', () => {
    expect(entityMatchers(BY_SERVICE, valueSets(BY_SERVICE, [{}, { service: 'a' }]))).toBe('service=~"|a"');
  });
});

describe('pushdown: safe expressions get the matchers on every selector', () => {
  it.each([
    ['x', `x{${M}}`],
    ['x{}', `x{${M}}`],
    ['x{job="a"}', `x{job="a",${M}}`],
    ['x{job="a",}', `x{job="a",${M}}`],
    ['{__name__="x"}', `{__name__="x",${M}}`],
    ['x{service="a"}', `x{service="a",${M}}`],
    ['rate(x[5m])', `rate(x{${M}}[5m])`],
    ['sum by (service) (rate(x{job="a"}[1m]))', `sum by (service) (rate(x{job="a",${M}}[1m]))`],
    ['sum(rate(x[1m])) by (service, instance)', `sum(rate(x{${M}}[1m])) by (service, instance)`],
    ['avg without (instance) (x)', `avg without (instance) (x{${M}})`],
    ['histogram_quantile(0.95, sum by (le, service) (rate(h_bucket[5m])))', `histogram_quantile(0.95, sum by (le, service) (rate(h_bucket{${M}}[5m])))`],
    ['rate(x[5m] offset 1h)', `rate(x{${M}}[5m] offset 1h)`],
    ['x @ 1700000000', `x{${M}} @ 1700000000`],
    ['x @ end()', `x{${M}} @ end()`],
    ['max_over_time(rate(x[1m])[10m:1m])', `max_over_time(rate(x{${M}}[1m])[10m:1m])`],
    ['max_over_time(x[10m:1m] offset 5m)', `max_over_time(x{${M}}[10m:1m] offset 5m)`],
    ['sum by (service) (rate(errors[1m])) / sum by (service) (rate(requests[1m]))', `sum by (service) (rate(errors{${M}}[1m])) / sum by (service) (rate(requests{${M}}[1m]))`],
    ['a / on(service) b', `a{${M}} / on(service) b{${M}}`],
    ['a * on(service, instance) group_left(version) b', `a{${M}} * on(service, instance) group_left(version) b{${M}}`],
    ['a / ignoring(code) b', `a{${M}} / ignoring(code) b{${M}}`],
    ['a > bool 0.5', `a{${M}} > bool 0.5`],
    ['100 * (1 - x)', `100 * (1 - x{${M}})`],
    ['-x', `-x{${M}}`],
    ['x unless y', `x{${M}} unless y{${M}}`],
    ['x and on(service) y', `x{${M}} and on(service) y{${M}}`],
    ['x * on() group_left vector(2)', `x{${M}} * on() group_left vector(2)`],
    ['label_replace(x, "host", "$1", "instance", "(.*):.*")', `label_replace(x{${M}}, "host", "$1", "instance", "(.*):.*")`],
    ['topk by (service) (1, x)', `topk by (service) (1, x{${M}})`],
    ['quantile by (service) (0.9, x)', `quantile by (service) (0.9, x{${M}})`],
    ['clamp_min(x, 0) # a comment', `clamp_min(x{${M}}, 0) # a comment`],
  ])('%s', (promql, expected) => {
    expect(rewritten(promql)).toBe(expected);
  });

  it('several groupBy labels: every one must survive, and every one gets its matcher', () => {
    const groupBy = ['service', 'zone'];
    expect(rewritten('sum by (zone, service) (x)', groupBy, 'service=~"a",zone=~"eu"')).toBe('sum by (zone, service) (x{service=~"a",zone=~"eu"})');
    expect(refusal('sum by (service) (x)', groupBy)).toMatch(/merges series across the groupBy label\(s\) zone/);
    expect(refusal('a / on(service) b', groupBy)).toMatch(/on\(service\) matches series of different entities \(the groupBy label\(s\) zone are not matched on\)/);
  });
});

describe('pushdown: refused where filtering the input could change an owned entity', () => {
  it.each([
    ['sum(x)', /sum with no by \(\.\.\.\) merges every entity's series/],
    ['sum by (instance) (x)', /sum by \(instance\) merges series across the groupBy label\(s\) service/],
    ['sum without (service) (x)', /sum without \(service\) drops the groupBy label\(s\) service/],
    ['topk(3, x)', /topk with no by/],
    ['label_replace(x, "service", "$1", "app", "(.*)")', /label_replace\(\) writes the groupBy label "service"/],
    ['label_join(x, "service", "-", "app", "env")', /label_join\(\) writes the groupBy label "service"/],
    ['count_values("service", x)', /count_values writes the groupBy label "service"/],
    ['x / on() group_left sum(x)', /sum with no by \(\.\.\.\) merges/],
    ['x / on() group_left y', /on\(\) matches series of different entities/],
    ['x / on(instance) y', /on\(instance\) matches series of different entities/],
    ['x / ignoring(service) y', /ignoring\(service\) matches series of different entities/],
    ['x * on(service) group_left(service) y', /group_left\(service\) copies groupBy label\(s\)/],
    ['x / scalar(y)', /scalar\(\) reduces/],
    ['absent(x)', /absent\(\) returns a series when its input is empty/],
    ['absent_over_time(x[5m])', /absent_over_time\(\)/],
    ['x or vector(0)', /takes its labels from a side that reads no series/],
    ['vector(1) and x', /takes its labels from a side that reads no series/],
    ['x - on(service) fill(0) y', /fill\(0\).* not understood/],
    ['time()', /reads no series/],
    ['rate(x[5m]', /does not parse/],
    ['sum by (service) (', /does not parse/],
  ])('%s', (promql, reason) => {
    expect(refusal(promql)).toMatch(reason);
  });

  it('histogram functions drop le: refused when le is a groupBy label', () => {
    expect(refusal('histogram_quantile(0.9, rate(h_bucket[5m]))', ['le'])).toMatch(/drops the groupBy label "le"/);
  });
});

describe('rewritten expressions with Prometheus itself', () => {
  const values = ['a.b', 'q"x', 'back\\slash', 'dollar$', 'paren(s)', 'ünïcode', 'new\nline'];
  const allMatchers = entityMatchers(BY_SERVICE, valueSets(BY_SERVICE, values.map((service) => ({ service }))));
  const features = [
    'sum by (service) (rate(requests_total[1m]))',
    'histogram_quantile(0.95, sum by (le, service) (rate(latency_seconds_bucket{job="api"}[5m] offset 1m)))',
    'sum by (service) (rate(errors_total[1m])) / on(service) sum by (service) (rate(requests_total[1m]))',
    'max_over_time(sum by (service) (rate(requests_total[1m]))[10m:1m])',
    'label_replace(up, "host", "$1", "instance", "(.*):.*")',
  ];

  it('promtool check rules parses every rewritten expression (Go PromQL parser)', () => {
    const rules = features.map((promql, i) => `      - record: pushdown:f${i}\n        expr: ${JSON.stringify(rewritten(promql, BY_SERVICE, allMatchers))}`).join('\n');
    const result = promtool(['check', 'rules', 'rules.yml'], { 'rules.yml': `groups:\n  - name: pushdown\n    rules:\n${rules}\n` });
    expect(result.output).toMatch(/SUCCESS: 5 rules found/);
    expect(result.status).toBe(0);
    // And the lezer parser reads them back without errors.
    for (const promql of features) {
      let errors = 0;
      parser.parse(rewritten(promql, BY_SERVICE, allMatchers)).iterate({ enter: (node) => void (node.type.isError && errors++) });
      expect(errors).toBe(0);
    }
  });

  it('promtool test rules: the matchers select exactly the named entities, special characters included', () => {
    // Series of every value plus look-alikes the escaped regex must not match; the shard names only `values`.
    const lookAlikes = ['aXb', 'q"', 'back\\\\slash', 'dollar', 'parens', 'other'];
    const series = (service: string): string => `x{service=${JSON.stringify(service)}}`;
    const input = [...values, ...lookAlikes].map((service) => `      - series: ${JSON.stringify(series(service))}\n        values: "1+0x5"`).join('\n');
    const expected = values.map((service) => `          - labels: ${JSON.stringify(`{service=${JSON.stringify(service)}}`)}\n            value: 1`).join('\n');
    const expr = rewritten('sum by (service) (x)', BY_SERVICE, allMatchers);
    const tests = `rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${input}\n    promql_expr_test:\n      - expr: ${JSON.stringify(expr)}\n        eval_time: 2m\n        exp_samples:\n${expected}\n`;
    const result = promtool(['test', 'rules', 'tests.yml'], { 'tests.yml': tests });
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });
});

describe('check-config says which features are not pushed down', () => {
  it('names the group/feature and the reason; nothing when all are pushed down', () => {
    const text = (feature: string): string => `
prometheus: { url: http://127.0.0.1:9090 }
groups:
  - name: services
    groupBy: [service]
    features:
      cpu: sum by (service) (rate(process_cpu_seconds_total[1m]))
      share: ${JSON.stringify(feature)}
`;
    const defaults = defaultDetectorFactory();
    const refused = summarizeExporterConfig(parseExporterConfig(text('sum by (service) (rate(x[1m])) / on() group_left sum(rate(x[1m]))'), 'exporter.yml', defaults));
    expect(refused).toMatch(/when sharded, the shard filter is not pushed into PromQL for services\/share \(sum with no by \(\.\.\.\) merges every entity's series\): those reads return every shard's series/);
    const all = summarizeExporterConfig(parseExporterConfig(text('sum by (service) (rate(x[1m]))'), 'exporter.yml', defaults));
    expect(all).not.toMatch(/pushed/);
  });
});
