// Every selfheal_* metric the shipped rules, their promtool tests, the provisioned dashboards and the example
// policies' verification queries read is a family declared in @selfheal/contracts (or a recording rule's output):
// a renamed or misspelt metric in any of them fails here, naming the file and the expression, instead of leaving a
// rule that silently never fires or a panel that stays empty. PromQL is parsed with Prometheus's own grammar
// (@prometheus-io/lezer-promql), so names are read where PromQL puts them, not guessed from the text.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { METRIC_FAMILIES, familyOfSeries } from '@selfheal/contracts';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Query {
  file: string;
  expr: string;
}

/** The metric names a PromQL expression selects, or the parse errors that keep it from being read. */
function selectedMetrics(promql: string): { names: string[]; errors: string[] } {
  // Grafana's interval variables stand where PromQL wants a duration; other $variables sit inside strings.
  const text = promql.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m');
  const names: string[] = [];
  const errors: string[] = [];
  const source = (from: number, to: number): string => text.slice(from, to);
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`cannot parse at ${node.from}: ${JSON.stringify(source(node.from, node.to + 10))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(source(node.from, node.to));
      // {"name", ...} (quoted metric name) and {__name__="name"}.
      if (node.name === 'QuotedLabelName' && node.node.parent?.name === 'LabelMatchers') names.push(JSON.parse(source(node.from, node.to)) as string);
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const label = node.node.firstChild;
        const op = node.node.getChild('MatchOp')?.firstChild;
        const value = node.node.getChild('StringLiteral');
        if (label && value && source(label.from, label.to).replace(/"/g, '') === '__name__') {
          if (op?.name === 'EqlSingle') names.push(JSON.parse(source(value.from, value.to)) as string);
          else errors.push(`__name__ matched by ${source(node.from, node.to)}: name the metric`);
        }
      }
    },
  });
  return { names, errors };
}

function files(dir: string, suffix: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => suffix.test(f))
    .map((f) => join(ROOT, dir, f))
    .sort();
}

const rel = (file: string): string => relative(ROOT, file);

interface RuleFile {
  groups: { rules: { record?: string; alert?: string; expr: string }[] }[];
}

const ruleFiles = files('prometheus/rules', /\.ya?ml$/);
const rules = ruleFiles.flatMap((file) => (parseYaml(readFileSync(file, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules.map((rule) => ({ file: rel(file), ...rule }))));
/** Series the recording rules write: level:metric:operations names that rules and dashboards may read. */
const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));

interface RuleTestFile {
  tests: { input_series?: { series: string }[]; promql_expr_test?: { expr: string }[] }[];
}

function ruleTestQueries(): Query[] {
  return files('prometheus/tests', /\.ya?ml$/).flatMap((file) =>
    (parseYaml(readFileSync(file, 'utf8')) as RuleTestFile).tests.flatMap((t) => [
      ...(t.input_series ?? []).map((s) => ({ file: rel(file), expr: s.series })),
      ...(t.promql_expr_test ?? []).map((e) => ({ file: rel(file), expr: e.expr })),
    ]),
  );
}

/** The dashboards' PromQL (`expr` of every target) and their label_values() variable queries. */
function dashboardQueries(): Query[] {
  const out: Query[] = [];
  const walk = (file: string, value: unknown, key?: string): void => {
    if (Array.isArray(value)) for (const item of value) walk(file, item);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(file, v, k);
    else if (typeof value === 'string' && key === 'expr') out.push({ file: rel(file), expr: value });
    else if (typeof value === 'string' && key === 'query') {
      // Grafana's templating function label_values(metric, label): its first argument is a series selector.
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(value.trim())?.[1];
      if (selector) out.push({ file: rel(file), expr: selector });
    }
  };
  for (const file of files('provisioning/dashboards', /\.json$/)) walk(file, JSON.parse(readFileSync(file, 'utf8')));
  return out;
}

/** The example policies' verification queries (`{{ entity }}` is the alert's entity matchers). */
function policyQueries(): Query[] {
  const out: Query[] = [];
  const walk = (file: string, value: unknown, path: string[]): void => {
    if (Array.isArray(value)) for (const item of value) walk(file, item, path);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(file, v, [...path, k]);
    else if (typeof value === 'string' && path.at(-2) === 'verify' && path.at(-1) === 'query') {
      out.push({ file: rel(file), expr: value.replace(/\{\{\s*entity\s*\}\}/g, 'service="x"') });
    }
  };
  for (const file of [...files('webhook/examples', /\.ya?ml$/), ...files('deploy/kubernetes', /policy\.ya?ml$/)]) walk(file, parseYaml(readFileSync(file, 'utf8')), []);
  return out;
}

/** What is wrong with the selfheal_* names of these queries: one line per problem, naming the file and the query. */
function undeclared(queries: Query[]): string[] {
  const problems: string[] = [];
  for (const { file, expr } of queries) {
    const { names, errors } = selectedMetrics(expr);
    for (const error of errors) problems.push(`${file}: ${error} in ${JSON.stringify(expr)}`);
    for (const name of names) {
      if (recorded.has(name) || familyOfSeries(name)) continue;
      if (!name.includes('selfheal')) continue; // up, ALERTS, ...: not ours
      problems.push(`${file}: ${name} is neither a family declared in @selfheal/contracts nor a recording rule's output (in ${JSON.stringify(expr.trim())})`);
    }
  }
  return problems;
}

describe('metric names read by the rules, dashboards and policies are declared families', () => {
  it('finds the names PromQL selects, and only those', () => {
    expect(selectedMetrics('sum by (le) (rate(selfheal_healing_recovery_seconds_bucket{service=~"$service"}[$__rate_interval]))')).toEqual({
      names: ['selfheal_healing_recovery_seconds_bucket'], errors: [],
    });
    expect(selectedMetrics('{"selfheal_anomaly_score"} > 1 unless {__name__="selfheal_health_score", alertname="selfheal_x"}').names).toEqual([
      'selfheal_anomaly_score', 'selfheal_health_score',
    ]);
    expect(selectedMetrics('label_replace(up, "selfheal_selector", "0", "", "")').names).toEqual(['up']);
    expect(selectedMetrics('rate(foo[5m]').errors).not.toEqual([]);
    expect(selectedMetrics('{__name__=~"selfheal_.*"}').errors).toEqual(['__name__ matched by __name__=~"selfheal_.*": name the metric']);
  });

  it('reports an undeclared metric, naming the file and the expression', () => {
    expect(undeclared([{ file: 'r.yml', expr: 'max by (service) (selfheal_anomaly_scores) > 1' }])).toEqual([
      'r.yml: selfheal_anomaly_scores is neither a family declared in @selfheal/contracts nor a recording rule\'s output (in "max by (service) (selfheal_anomaly_scores) > 1")',
    ]);
    // A classic histogram has no series of its bare name; a recorded name is only valid if a rule records it.
    expect(undeclared([{ file: 'd.json', expr: 'selfheal_healing_recovery_seconds' }])).toHaveLength(1);
    expect(undeclared([{ file: 'd.json', expr: 'service:selfheal_health_score:avg' }])).toHaveLength(1);
    expect(undeclared([{ file: 'd.json', expr: 'service:selfheal_health_score:min < 50' }])).toEqual([]);
  });

  it('prometheus/rules/*.yml', () => {
    expect(rules.length).toBeGreaterThan(5);
    expect(undeclared(rules.map((rule) => ({ file: rule.file, expr: rule.expr })))).toEqual([]);
  });

  it('prometheus/tests/*.yml (the series the rule tests feed in and their expressions)', () => {
    const queries = ruleTestQueries();
    expect(queries.length).toBeGreaterThan(5);
    expect(undeclared(queries)).toEqual([]);
  });

  it('provisioning/dashboards (targets and variables)', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    expect(undeclared(queries)).toEqual([]);
  });

  it('the example policies\' verification queries', () => {
    const queries = policyQueries();
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(undeclared(queries)).toEqual([]);
  });
});

describe('docs/contracts.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/contracts.md'), 'utf8');
  // The metric column of its tables: `name` or `name{labels}`.
  const documented = [...doc.matchAll(/^\| `(selfheal_\w+)(?:\{[\w,]*\})?` \|/gm)].map((m) => m[1] ?? '');

  it('documents every declared family, and only declared families', () => {
    expect(documented.filter((name) => !METRIC_FAMILIES.some((f) => f.name === name))).toEqual([]);
    expect(METRIC_FAMILIES.map((f) => f.name).filter((name) => !documented.includes(name))).toEqual([]);
  });
});
