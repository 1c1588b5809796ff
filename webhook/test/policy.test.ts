// Policy decisions and config validation (no I/O).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConfigError } from '@selfheal/contracts';
import { checkWebhookConfig, parseConfig, parseConfigText } from '../src/config/load.js';
import { matches, parseMatcher } from '../src/util/matchers.js';
import { Policy, templateVars } from '../src/policy/policy.js';
import { render } from '../src/util/template.js';

const example = fileURLToPath(new URL('../examples/policy.yml', import.meta.url));

function policyOf(raw: Record<string, unknown>) {
  const config = parseConfig({ auth: 'none', ...raw });
  const policy = new Policy(config);
  return (labels: Record<string, string>) => policy.decide(labels, templateVars({ labels, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, config.verify.nonEntityLabels));
}

const k8s = {
  actuators: { cluster: { type: 'kubernetes' } },
  targets: {
    checkout: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'checkout' }, actions: { scale_up: { step: 2, maxReplicas: 8 } } },
    payments: { actuator: 'cluster', kubernetes: { namespace: 'shop', name: 'payments' } },
  },
};

describe('matchers', () => {
  it('parse Alertmanager syntax, anchor regexes, and treat a missing label as empty', () => {
    expect(matches(parseMatcher('feature =~ "cpu.*"'), { feature: 'cpu_usage' })).toBe(true);
    expect(matches(parseMatcher('feature =~ cpu'), { feature: 'cpu_usage' })).toBe(false);
    expect(matches(parseMatcher('service != checkout'), {})).toBe(true);
    expect(matches(parseMatcher('pod !~ ".+"'), {})).toBe(true);
    expect(matches(parseMatcher('severity="critical"'), { severity: 'critical' })).toBe(true);
    expect(() => parseMatcher('service ~ x')).toThrow(/is not a matcher/);
    expect(() => parseMatcher('service =~ "("')).toThrow(/invalid regular expression/);
  });
});

describe('label names that are also Object.prototype members', () => {
  it('a missing constructor/toString label is missing (empty to matchers, an error to templates), not a function', () => {
    expect(matches(parseMatcher('toString = ""'), {})).toBe(true);
    expect(matches(parseMatcher('constructor =~ ".+"'), {})).toBe(false);
    expect(matches(parseMatcher('constructor = x'), { constructor: 'x' })).toBe(true);
    const vars = templateVars({ labels: { service: 'a' }, annotations: {}, fingerprint: 'f', status: 'firing', startsAt: '2026-11-23T22:00:00Z' }, []);
    expect(() => render('{{ labels.constructor }}', vars)).toThrow('the alert has no label "constructor"');
    expect(() => render('{{ annotations.toString }}', vars)).toThrow('the alert has no annotation "toString"');
    expect(render('{{ labels.hasOwnProperty }}', { ...vars, labels: { hasOwnProperty: 'h' } })).toBe('h');
  });
});

describe('Policy', () => {
  it('takes the first matching rule, maps the feature to the default action, and merges parameters', () => {
    const decide = policyOf({ ...k8s, rules: [
      { name: 'critical', matchers: ['severity = critical', 'service = checkout'], target: 'checkout', actions: ['restart'] },
      { name: 'by-feature', matchers: ['alertname = SelfhealAnomaly'], target: '{{ labels.service }}' },
    ] });
    const cpu = decide({ alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu_seconds', severity: 'warning' });
    expect(cpu).toMatchObject({ kind: 'plan', plan: { rule: { name: 'by-feature' }, targetName: 'checkout', steps: [{ action: 'scale_up', params: { step: 2, maxReplicas: 8, hpa: 'raise-min' } }] } });
    const crit = decide({ alertname: 'SelfhealAnomaly', service: 'checkout', feature: 'cpu_seconds', severity: 'critical' });
    expect(crit).toMatchObject({ kind: 'plan', plan: { rule: { name: 'critical' }, steps: [{ action: 'restart' }] } });
    const table: [string, string][] = [['mem_rss', 'restart'], ['latency_p99', 'enable_cache'], ['error_ratio', 'open_circuit_breaker'], ['instance_outlier', 'quarantine'], ['outlier_score', 'quarantine']];
    for (const [feature, action] of table) {
      const d = decide({ alertname: 'SelfhealAnomaly', service: 'payments', feature });
      // Toggles need settings on the target; the others have Kubernetes defaults.
      if (action === 'enable_cache' || action === 'open_circuit_breaker') expect(d).toMatchObject({ kind: 'skip', reason: expect.stringMatching(new RegExp(`cannot run ${action}`)) });
      else expect(d).toMatchObject({ kind: 'plan', plan: { steps: [{ action }] } });
    }
    expect(decide({ alertname: 'SelfhealAnomaly', service: 'payments', feature: 'disk_io' })).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/has no default action/) });
    expect(decide({ alertname: 'Other' })).toEqual({ kind: 'skip', reason: 'no policy rule matches the alert' });
  });

  it('lets the policy override the feature mapping', () => {
    const decide = policyOf({ ...k8s, featureActions: { cpu: 'restart', cpu_throttl: 'scale_up' }, rules: [{ name: 'r', target: 'checkout' }] });
    expect(decide({ feature: 'cpu_usage' })).toMatchObject({ plan: { steps: [{ action: 'restart' }] } });
    expect(decide({ feature: 'cpu_throttling' })).toMatchObject({ plan: { steps: [{ action: 'scale_up' }] } });
  });

  it('never lets alert labels pick a target outside the policy', () => {
    const decide = policyOf({ ...k8s, rules: [{ name: 'r', target: '{{ labels.service }}', actions: ['restart'] }] });
    for (const service of ['kube-system', '../checkout', 'checkout ', 'toString', 'hasOwnProperty']) {
      expect(decide({ service })).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/is not one of the policy's targets/) });
    }
    expect(decide({})).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/no label "service"/) });
  });

  it('applies per-rule dry-run and the global one', () => {
    const rules = [{ name: 'r', target: 'checkout', actions: ['restart'], dryRun: true }];
    expect(policyOf({ ...k8s, rules })({})).toMatchObject({ plan: { dryRun: true } });
    expect(policyOf({ ...k8s, dryRun: true, rules: [{ name: 'r', target: 'checkout', actions: ['restart'] }] })({})).toMatchObject({ plan: { dryRun: true } });
  });
});

describe('config validation', () => {
  it('accepts the shipped example', () => {
    expect(checkWebhookConfig(example)).toEqual({ ok: true, errors: [] });
  });

  it('names the path of every problem in terms a person can act on', () => {
    const text = [
      'auth: {type: bearer}',
      'guardrails: {cooldown: 5x, maxConcurrent: 0}',
      'listen: localhost',
      'rules: [{name: a, target: t, matchers: ["foo ~ bar"], actions: [reboot]}]',
      'verify: {query: "up{job=\\"{{ label.job }}\\"}"}',
    ].join('\n');
    let errors: string[] = [];
    try {
      parseConfigText(text, 'bad.yml');
    } catch (err) {
      errors = (err as ConfigError).errors;
    }
    expect(errors).toEqual(expect.arrayContaining([
      'auth.tokenFile: is required',
      expect.stringMatching(/^guardrails\.cooldown: "5x" is not a duration/),
      expect.stringMatching(/^guardrails\.maxConcurrent: /),
      expect.stringMatching(/^listen: must be HOST:PORT/),
      expect.stringMatching(/^rules\[0\]\.matchers\[0\]: "foo ~ bar" is not a matcher/),
      expect.stringMatching(/^rules\[0\]\.actions\[0\]\.action: .*scale_up, quarantine, restart, enable_cache, open_circuit_breaker/),
      expect.stringMatching(/^verify\.query: unknown template variable "label\.job"/),
    ]));
  });

  it('checks cross-references and per-actuator action parameters', () => {
    const r = (raw: Record<string, unknown>) => { try { parseConfig({ auth: 'none', ...raw }); return []; } catch (e) { return (e as ConfigError).errors; } };
    expect(r({ targets: { t: { actuator: 'nope' } } })).toEqual(['targets.t.actuator: no actuator named "nope" (defined: none)']);
    expect(r({ ...k8s, rules: [{ name: 'x', target: 'missing' }] })).toEqual(['rules[0].target: no target named "missing" (defined: checkout, payments)']);
    expect(r({ actuators: { c: { type: 'kubernetes' } }, targets: { t: { actuator: 'c', kubernetes: { namespace: 'a', name: 'b' }, actions: { scale_up: { step: -1 } } } } })[0]).toMatch(/^targets\.t\.actions\.scale_up\.step: /);
    expect(r({ actuators: { s: { type: 'exec' } }, targets: { t: { actuator: 's', actions: { restart: { argv: ['{{ labels.cmd }}'] } } } } })[0]).toMatch(/argv\[0\]\) must be fixed/);
    expect(r({ actuators: { c: { type: 'kubernetes' } }, targets: { t: { actuator: 'c' } } })).toEqual(['targets.t.kubernetes: a kubernetes target needs kubernetes: {namespace, kind, name}']);
    expect(r({ auth: { type: 'magic' } })[0]).toMatch(/^auth.type: must be bearer/);
  });

  it('reports unreadable files and broken YAML with the line', () => {
    expect(checkWebhookConfig('/nonexistent/selfheal.yml').errors[0]).toMatch(/cannot read the file/);
    expect(() => parseConfigText('rules: [\n  {name: a', 'x.yml')).toThrow(/not valid YAML \(line \d+, column \d+\)/);
  });
});
