// deploy/aws/cloudwatch/: CloudWatch metrics into Selfheal through YACE (prometheus-community/yet-another-cloudwatch-exporter).
// No AWS account and no YACE binary here (YACE is a Go program not packaged for Debian), so:
//  - yace.yml is validated against YACE's configuration schema and the checks of its loader, ported from
//    pkg/config/config.go (ScrapeConf, Validate, validateDiscoveryJob, validateMetric) and docs/configuration.md;
//  - the series names YACE makes from yace.yml are computed with its naming rule (pkg/promutil/migrate.go
//    BuildMetricName, PromString), and exporter.yml must query only those;
//  - end to end on 127.0.0.1: a local target serves YACE's exposition format (test/fixtures/yace-cloudwatch.prom,
//    format captured from YACE's own tests), the real Prometheus scrapes it, each feature of exporter.yml is evaluated
//    there, and the real exporter (`selfheal exporter`, the shipped file with only the Prometheus URL changed)
//    finds exactly the expected entities;
//  - exporter.yml and policy.yml pass `selfheal check-config`, and the policy's rules fit exporter.yml's groups.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { freePort, ManagedProcess, startStack, waitFor, type Stack } from '@selfheal/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { z } from 'zod';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'deploy', 'aws', 'cloudwatch');
const CLI = join(ROOT, 'cli', 'bin', 'selfheal.js');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'yace-cloudwatch.prom');
const tmp = mkdtempSync(join(tmpdir(), 'selfheal-cloudwatch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ------------------------------------------------------------------------------------------ YACE's config schema

// The namespaces this repository uses, from YACE's pkg/config/services.go (SupportedServices: Namespace, Alias).
const SERVICES: Record<string, string> = { 'AWS/EC2': 'ec2', 'AWS/ApplicationELB': 'alb', 'AWS/RDS': 'rds' };
const STATISTIC = /^(Maximum|Minimum|Sum|SampleCount|Average|p(\d{1,2}(\.\d{0,2})?|100))$/; // docs + promutil.Percentile
const tag = z.strictObject({ key: z.string().min(1), value: z.string() });
const metricFields = {
  statistics: z.array(z.string().regex(STATISTIC, 'not a CloudWatch statistic')).optional(),
  period: z.number().int().min(1).optional(),
  length: z.number().int().min(1).optional(),
  delay: z.number().int().min(0).optional(),
  nilToZero: z.boolean().optional(),
  addCloudwatchTimestamp: z.boolean().optional(),
  exportAllDataPoints: z.boolean().optional(),
};
const yaceMetric = z.strictObject({ name: z.string().min(1), ...metricFields });
const yaceJob = z.strictObject({
  regions: z.array(z.string().min(1)).min(1, 'Regions should not be empty'),
  type: z.string().min(1),
  roles: z.array(z.strictObject({ roleArn: z.string(), externalId: z.string().optional() })).optional(),
  searchTags: z.array(tag).optional(),
  customTags: z.array(tag).optional(),
  dimensionNameRequirements: z.array(z.string()).optional(),
  metrics: z.array(yaceMetric).min(1, 'Metrics should not be empty'),
  roundingPeriod: z.number().int().optional(),
  recentlyActiveOnly: z.boolean().optional(),
  includeContextOnInfoMetrics: z.boolean().optional(),
  ...metricFields,
});
const yaceConfig = z.strictObject({
  apiVersion: z.literal('v1alpha1'),
  'sts-region': z.string().optional(),
  discovery: z.strictObject({
    exportedTagsOnMetrics: z.record(z.string(), z.array(z.string())).optional(),
    jobs: z.array(yaceJob).min(1),
  }),
});
type YaceConfig = z.infer<typeof yaceConfig>;

/** YACE's loader checks beyond the shape (pkg/config/config.go), with its messages; defaults period 300, length 300. */
function yaceProblems(config: YaceConfig): string[] {
  const problems: string[] = [];
  const jobs = config.discovery.jobs;
  jobs.forEach((job, i) => {
    if (!(job.type in SERVICES)) {
      const alias = Object.entries(SERVICES).find(([, a]) => a === job.type);
      problems.push(alias ? `Discovery job [${i}]: Invalid 'type' field, use namespace "${alias[0]}" rather than alias "${job.type}"` : `Discovery job [${i}]: Service is not in known list!: ${job.type}`);
    }
    for (const m of job.metrics) {
      if ((m.statistics ?? job.statistics ?? []).length === 0) problems.push(`Metric [${m.name}] in Discovery job [${job.type}/${i}]: Statistics should not be empty`);
      const period = m.period ?? job.period ?? 300;
      const length = m.length ?? job.length ?? 300;
      if (length < period) problems.push(`Metric [${m.name}] in Discovery job [${job.type}/${i}]: length(${length}) is smaller than period(${period})`);
      if ((m.exportAllDataPoints ?? job.exportAllDataPoints) && !(m.addCloudwatchTimestamp ?? job.addCloudwatchTimestamp)) {
        problems.push(`Metric [${m.name}]: ExportAllDataPoints can only be enabled if AddCloudwatchTimestamp is enabled`);
      }
    }
    for (const st of job.searchTags ?? []) {
      try { new RegExp(st.value); } catch { problems.push(`Discovery job [${job.type}/${i}]: search tag value for ${st.key} has invalid regex value ${st.value}`); }
    }
  });
  for (const ns of Object.keys(config.discovery.exportedTagsOnMetrics ?? {})) {
    if (!(ns in SERVICES)) problems.push(`Discovery jobs: 'exportedTagsOnMetrics' key is not a valid namespace: ${ns}`);
    else if (!jobs.some((j) => j.type === ns)) problems.push(`Discovery jobs: 'exportedTagsOnMetrics' key "${ns}" does not match with any discovery job type`);
  }
  return problems;
}

function checkYace(text: string): string[] {
  const r = yaceConfig.safeParse(parse(text));
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return yaceProblems(r.data);
}

// --------------------------------------------------------------------------------------- YACE's series names

/** YACE's PromString (pkg/promutil/prometheus.go): separators to _, CamelCase to snake_case, lower case. */
function promString(text: string): string {
  let out = '';
  let prev = '';
  for (const c of text) {
    if (' ,\t/\\.-:=@<>()“'.includes(c)) out += '_';
    else if (c === '%') out += '_percent';
    else {
      if (/\p{Lu}/u.test(c) && (/\p{Ll}/u.test(prev) || /\p{Nd}/u.test(prev))) out += '_';
      out += c.toLowerCase();
    }
    prev = c;
  }
  return out;
}
/** YACE's BuildMetricName (pkg/promutil/migrate.go). */
function yaceMetricName(namespace: string, metric: string, statistic: string): string {
  const ns = promString(namespace.toLowerCase()).replace(/^_/, '');
  let name = promString(metric);
  for (const part of ns.split('_')) if (name.startsWith(part)) name = name.slice(part.length);
  name = name.replace(/^_/, '');
  return `${ns.startsWith('aws') ? '' : 'aws_'}${ns}_${name}${statistic ? `_${promString(statistic)}` : ''}`;
}
/** Every series name yace.yml makes (without the _info series). */
function yaceSeries(config: YaceConfig): Set<string> {
  const out = new Set<string>();
  for (const job of config.discovery.jobs) for (const m of job.metrics) for (const s of m.statistics ?? job.statistics ?? []) out.add(yaceMetricName(job.type, m.name, s));
  return out;
}

/** The metric names a PromQL expression selects (parsed with Prometheus's own grammar), or its parse errors. */
function selectedMetrics(promql: string): { names: string[]; errors: string[] } {
  const names: string[] = [];
  const errors: string[] = [];
  parser.parse(promql).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`cannot parse at ${node.from}: ${JSON.stringify(promql.slice(node.from, node.to + 10))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(promql.slice(node.from, node.to));
    },
  });
  return { names, errors };
}

// ------------------------------------------------------------------------------------------------- the files

interface ExporterGroup { name: string; groupBy: string[]; features: Record<string, string>; schedule: Record<string, string> }
interface ExporterFile { prometheus: { url: string }; groups: ExporterGroup[] }
const exporterText = readFileSync(join(DIR, 'exporter.yml'), 'utf8');
const exporterFile = parse(exporterText) as ExporterFile;
const yaceText = readFileSync(join(DIR, 'yace.yml'), 'utf8');
const yace = yaceConfig.parse(parse(yaceText));
interface PolicyFile {
  actuators: Record<string, { type: string }>;
  targets: Record<string, { actuator: string; actions: Record<string, { argv: string[]; revert?: { argv: string[] } }> }>;
  rules: { name: string; matchers: string[]; target: string; actions: string[]; precondition?: string }[];
}
const policy = parse(readFileSync(join(DIR, 'policy.yml'), 'utf8')) as PolicyFile;
const group = (name: string): ExporterGroup => exporterFile.groups.find((g) => g.name === name) as ExporterGroup;

describe('deploy/aws/cloudwatch: the YACE config, checked against YACE’s config schema and loader (no AWS account, no YACE binary here)', () => {
  it('yace.yml has YACE’s shape and passes its loader’s checks; EC2, ALB and RDS with the metrics the issue names', () => {
    expect(checkYace(yaceText)).toEqual([]);
    const metrics = Object.fromEntries(yace.discovery.jobs.map((j) => [j.type, j.metrics.map((m) => m.name)]));
    expect(metrics['AWS/EC2']).toEqual(expect.arrayContaining(['CPUUtilization', 'NetworkIn', 'NetworkOut', 'StatusCheckFailed']));
    expect(metrics['AWS/ApplicationELB']).toEqual(expect.arrayContaining(['TargetResponseTime', 'HTTPCode_Target_5XX_Count', 'HealthyHostCount']));
    expect(metrics['AWS/RDS']).toEqual(expect.arrayContaining(['CPUUtilization', 'DatabaseConnections', 'ReadLatency', 'WriteLatency']));
  });

  it('the check can fail: an alias as type, length below period, a tag key without its job, an unknown key', () => {
    expect(checkYace(yaceText.replace('type: AWS/RDS', 'type: rds'))).toEqual(['Discovery job [2]: Invalid \'type\' field, use namespace "AWS/RDS" rather than alias "rds"']);
    expect(checkYace(yaceText.replace('length: 600', 'length: 120'))).toEqual(expect.arrayContaining([expect.stringMatching(/length\(120\) is smaller than period\(300\)/)]));
    expect(checkYace(yaceText.replace('AWS/EC2: [Name', 'AWS/Lambda: [Name'))).toEqual(["Discovery jobs: 'exportedTagsOnMetrics' key is not a valid namespace: AWS/Lambda"]);
    expect(checkYace(yaceText.replace('dimensionNameRequirements: [InstanceId]', 'dimensionNameRequirement: [InstanceId]'))).toEqual([expect.stringMatching(/Unrecognized key.*dimensionNameRequirement/)]);
  });

  it('YACE’s naming rule, ported, gives the names YACE’s own tests and users’ queries show', () => {
    expect(yaceMetricName('AWS/EC2', 'CPUUtilization', 'Average')).toBe('aws_ec2_cpuutilization_average');
    expect(yaceMetricName('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'Sum')).toBe('aws_applicationelb_httpcode_target_5_xx_count_sum');
    expect(yaceMetricName('AWS/ApplicationELB', 'UnHealthyHostCount', 'Average')).toBe('aws_applicationelb_un_healthy_host_count_average');
    expect(yaceMetricName('AWS/RDS', 'DatabaseConnections', 'Average')).toBe('aws_rds_database_connections_average');
    expect(yaceMetricName('Glue', 'glue.driver.aggregate.bytesRead', 'Sum')).toBe('aws_glue_driver_aggregate_bytes_read_sum');
  });

  it('exporter.yml queries only series yace.yml makes, each feature parses as PromQL, and the fixture serves exactly those series', () => {
    const made = yaceSeries(yace);
    const used = new Set<string>();
    for (const g of exporterFile.groups) {
      for (const [feature, expr] of Object.entries(g.features)) {
        const { names, errors } = selectedMetrics(expr);
        expect(errors, `${g.name}.${feature}`).toEqual([]);
        for (const n of names) {
          expect(made.has(n), `${g.name}.${feature} selects ${n}, which yace.yml does not produce`).toBe(true);
          used.add(n);
        }
      }
    }
    // Every series yace.yml asks CloudWatch for is used by a feature (none paid for and unused).
    expect([...made].sort()).toEqual([...used].sort());
    const served = new Set([...readFileSync(FIXTURE, 'utf8').matchAll(/^([a-z_0-9]+)\{/gm)].map((m) => m[1] as string));
    expect([...served].filter((n) => !n.endsWith('_info')).sort()).toEqual([...made].sort());
  });
});

describe('deploy/aws/cloudwatch: exporter.yml and policy.yml pass `selfheal check-config` and fit together', () => {
  it('`selfheal check-config` accepts both, and refuses a broken copy naming the key', () => {
    const ok = spawnSync(process.execPath, [CLI, 'check-config', join(DIR, 'exporter.yml'), join(DIR, 'policy.yml')], { encoding: 'utf8' });
    expect(ok.stderr + ok.stdout).toMatch(/exporter\.yml: OK[\s\S]*policy\.yml: OK/);
    expect(ok.status).toBe(0);
    const broken = join(tmp, 'policy.yml');
    writeFileSync(broken, readFileSync(join(DIR, 'policy.yml'), 'utf8').replace('target: orders-db\n', 'target: orders\n'));
    const bad = spawnSync(process.execPath, [CLI, 'check-config', broken], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/no target named "orders"/);
  });

  it('schedules follow CloudWatch: EC2 5-minute datapoints scored every 5m, ALB/RDS every 1m; trainWindow ≥ the 200-row warm-up; maxScoreAge 3-5 periods', () => {
    const seconds = (d: string): number => {
      const m = /^(\d+)([smhd])$/.exec(d);
      return Number(m?.[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m?.[2] as 's'];
    };
    const periods: Record<string, number> = { 'aws-ec2': 300, 'aws-alb': 60, 'aws-rds': 60 };
    const jobOf: Record<string, string> = { 'aws-ec2': 'AWS/EC2', 'aws-alb': 'AWS/ApplicationELB', 'aws-rds': 'AWS/RDS' };
    expect(exporterFile.groups.map((g) => g.name).sort()).toEqual(Object.keys(periods).sort());
    for (const g of exporterFile.groups) {
      const period = yace.discovery.jobs.find((j) => j.type === jobOf[g.name])?.period;
      expect(period, g.name).toBe(periods[g.name]);
      expect(seconds(g.schedule.interval as string), g.name).toBe(period);
      expect(seconds(g.schedule.step as string), g.name).toBe(period);
      expect(seconds(g.schedule.trainWindow as string) / (period as number), g.name).toBeGreaterThanOrEqual(2000);
      // Scores withheld only after 3 (EC2) to 5 (1-minute metrics) CloudWatch periods without data.
      expect(seconds(g.schedule.maxScoreAge as string), g.name).toBeGreaterThanOrEqual(3 * (period as number));
      expect(seconds(g.schedule.maxScoreAge as string), g.name).toBeLessThanOrEqual(5 * (period as number));
    }
    // The per-period sums are turned into rates with the period YACE asks CloudWatch for.
    expect(group('aws-ec2').features.network_in).toMatch(/\/ 300$/);
    expect(group('aws-alb').features.errors_5xx).toMatch(/\/ 60$/);
  });

  it('policy: exec actuator calling the AWS CLI as argv (set-desired-capacity, deregister-targets); rules name exporter groups and their labels', () => {
    expect(Object.values(policy.actuators).map((a) => a.type)).toEqual(['exec']);
    const asg = policy.targets['web-asg'];
    expect(asg?.actions.scale_up?.argv.slice(0, 3)).toEqual(['aws', 'autoscaling', 'set-desired-capacity']);
    expect(asg?.actions.scale_up?.revert?.argv.slice(0, 3)).toEqual(['aws', 'autoscaling', 'set-desired-capacity']);
    expect(asg?.actions.quarantine?.argv.slice(0, 3)).toEqual(['aws', 'elbv2', 'deregister-targets']);
    expect(asg?.actions.quarantine?.argv).toContain('Id={{ labels.dimension_InstanceId }}');
    const labelsOf = (name: string): Set<string> => new Set([...group(name).groupBy, 'alertname', 'group', 'feature']);
    for (const rule of policy.rules) {
      const groupName = rule.matchers.map((m) => /^group = (\S+)$/.exec(m)?.[1]).find(Boolean) as string;
      expect(group(groupName), `${rule.name}: group ${groupName}`).toBeDefined();
      for (const m of rule.matchers) expect(labelsOf(groupName).has(m.split(/\s/)[0] as string), `${rule.name}: ${m}`).toBe(true);
      const features = rule.matchers.find((m) => m.startsWith('feature'));
      if (features) {
        const re = new RegExp(`^(?:${/"(.*)"|= (\S+)$/.exec(features)?.slice(1).find(Boolean)})$`);
        expect(Object.keys(group(groupName).features).some((f) => re.test(f)), `${rule.name}: ${features}`).toBe(true);
      }
      // Every label an action's argv takes from the alert is one the group's entities carry.
      for (const action of rule.actions) {
        for (const arg of policy.targets[rule.target]?.actions[action]?.argv ?? []) {
          for (const [, label] of arg.matchAll(/\{\{ labels\.(\w+) \}\}/g)) expect(group(groupName).groupBy, `${rule.name}: ${arg}`).toContain(label);
        }
      }
    }
  });
});

describe('deploy/aws/cloudwatch: what the policy does with the exporter’s alerts (`selfheal replay`, the healing service’s dry run), and the Prometheus agent config', () => {
  /** An Alertmanager v4 payload with one SelfhealAnomaly alert of an exporter.yml group's entity. */
  const payload = (labels: Record<string, string>, fingerprint: string): string => {
    const file = join(tmp, `alert-${fingerprint}.json`);
    writeFileSync(file, JSON.stringify({
      version: '4', groupKey: '{}:{alertname="SelfhealAnomaly"}', truncatedAlerts: 0, status: 'firing', receiver: 'selfheal-healer',
      groupLabels: { alertname: 'SelfhealAnomaly' }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093',
      alerts: [{
        status: 'firing', labels: { alertname: 'SelfhealAnomaly', severity: 'warning', ...labels }, annotations: { summary: 'test' },
        startsAt: '2026-12-07T16:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus/graph', fingerprint,
      }],
    }));
    return file;
  };
  const replay = (file: string): { labels: Record<string, string>; decisions: { action: string; target: string; outcome: string; reason: string }[] }[] => {
    const run = spawnSync(process.execPath, [CLI, 'replay', '--json', '--config', join(DIR, 'policy.yml'), file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.trim().split('\n').map((l) => JSON.parse(l) as ReturnType<typeof replay>[number]);
  };
  const argv = (reason: string): string[] => JSON.parse(/would exec (\[.*\])$/.exec(reason)?.[1] ?? 'null') as string[];

  it('an EC2 instance failing its status check is deregistered from the target group, by its instance id', () => {
    const [row] = replay(payload({ group: 'aws-ec2', dimension_InstanceId: 'i-0a1b2c3d4e5f60002', tag_aws_autoscaling_groupName: 'web-asg', feature: 'instance_status_check' }, 'a1b2c3d4e5f60001'));
    expect(row?.decisions.map((d) => [d.action, d.target, d.outcome])).toEqual([['quarantine', 'web-asg', 'succeeded']]);
    expect(argv(row?.decisions[0]?.reason as string)).toEqual([
      'aws', 'elbv2', 'deregister-targets', '--target-group-arn', 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067',
      '--targets', 'Id=i-0a1b2c3d4e5f60002',
    ]);
  });

  it('EC2 CPU or the target group’s latency scale the Auto Scaling group; an RDS anomaly reboots the instance once a person approves', () => {
    const alerts: Record<string, string>[] = [
      { group: 'aws-ec2', dimension_InstanceId: 'i-0a1b2c3d4e5f60001', tag_aws_autoscaling_groupName: 'web-asg', feature: 'cpu' },
      { group: 'aws-alb', dimension_LoadBalancer: 'app/web-alb/50dc6c495c0c9188', dimension_TargetGroup: 'targetgroup/web/73e2d6bc24d8a067', feature: 'latency' },
    ];
    for (const [i, labels] of alerts.entries()) {
      const [row] = replay(payload(labels, `b1b2c3d4e5f6000${i}`));
      expect(row?.decisions.map((d) => [d.action, d.target, d.outcome]), labels.group).toEqual([['scale_up', 'web-asg', 'succeeded']]);
      expect(argv(row?.decisions[0]?.reason as string)).toEqual(['aws', 'autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', 'web-asg', '--desired-capacity', '6', '--honor-cooldown']);
    }
    const [rds] = replay(payload({ group: 'aws-rds', dimension_DBInstanceIdentifier: 'orders-db', feature: 'connections' }, 'c1b2c3d4e5f60003'));
    expect(rds?.decisions.map((d) => [d.action, d.target])).toEqual([['restart', 'orders-db']]);
    expect(argv(rds?.decisions[0]?.reason as string)).toEqual(['aws', 'rds', 'reboot-db-instance', '--db-instance-identifier', 'orders-db']);
    // Replay shows an approve-mode action as it would run once approved; the rule asks a person first.
    expect((policy.rules.find((r) => r.name === 'rds-orders') as { mode?: string } | undefined)?.mode).toBe('approve');
  });

  it('an instance outside the Auto Scaling group matches no rule (nothing done)', () => {
    const [row] = replay(payload({ group: 'aws-ec2', dimension_InstanceId: 'i-0a1b2c3d4e5f60003', feature: 'cpu' }, 'd1b2c3d4e5f60004'));
    expect(row?.decisions ?? []).toEqual([]);
  });

  it('prometheus-agent.yml (scrape YACE, remote_write to AMP with sigv4) passes `promtool check config`', () => {
    const run = spawnSync('promtool', ['check', 'config', join(DIR, 'prometheus-agent.yml')], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toMatch(/SUCCESS/);
    expect(run.status).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------- end to end

/** The fixture's value of a series: name plus label matchers (all must match). */
function fixtureValues(name: string, match: Record<string, string | RegExp>): number[] {
  const out: number[] = [];
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    const m = /^([a-z_0-9]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(match).every(([k, v]) => (typeof v === 'string' ? (labels[k] ?? '') === v : v.test(labels[k] ?? '')))) out.push(Number(m[3]));
  }
  return out;
}

/**
 * The fixture's series over [now - seconds, now - 60 s] at 60 s (YACE scraped every minute), values varying by a
 * few percent, with the target labels Prometheus adds, written into TSDB blocks with `promtool tsdb
 * create-blocks-from openmetrics`: the data directory the test Prometheus starts from.
 */
function backfillYaceHistory(exposition: string, targetLabels: Record<string, string>, seconds: number): string {
  const extra = Object.entries(targetLabels).map(([k, v]) => `,${k}="${v}"`).join('');
  const end = Math.floor(Date.now() / 1000) - 60;
  const families = new Map<string, string[]>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-z_0-9]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels, value] = m as unknown as [string, string, string, string];
    const rows = families.get(name) ?? [];
    // Empty label values are no labels (as in a scrape).
    const kept = labels.split(/,(?=\w+=")/).filter((l) => !l.endsWith('=""')).join(',');
    for (let t = end - seconds, i = 0; t <= end; t += 60, i++) {
      const v = Number(value) * (1 + 0.03 * Math.sin(i / 7 + rows.length));
      rows.push(`${name}{${kept}${extra}} ${v} ${t}`);
    }
    families.set(name, rows);
  }
  const lines = [...families].flatMap(([name, rows]) => [`# TYPE ${name} gauge`, ...rows]);
  const file = join(tmp, 'history.om');
  writeFileSync(file, `${lines.join('\n')}\n# EOF\n`);
  const dataDir = join(tmp, 'tsdb');
  const result = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`promtool create-blocks-from failed: ${result.stderr}${result.stdout}`);
  return dataDir;
}

describe('CloudWatch through YACE, end to end on 127.0.0.1: YACE-format target → real Prometheus → exporter.yml features → `selfheal exporter`', () => {
  let target: Server;
  let stack: Stack;
  let exporter: ManagedProcess | undefined;
  const fixture = readFileSync(FIXTURE, 'utf8');

  beforeAll(async () => {
    target = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(fixture);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => target.listen(port, '127.0.0.1', resolve));
    // Three hours of the same series before now, as Prometheus would have scraped them from YACE every minute, so
    // that the exporter's first (training) read finds history on its 5-minute grid as it would in production.
    const dataDir = backfillYaceHistory(fixture, { job: 'yace', instance: `127.0.0.1:${port}` }, 3 * 3600);
    stack = await startStack({
      scrapeTargets: { yace: [`127.0.0.1:${port}`] }, scrapeInterval: '1s', includeShippedRules: false, withAlertmanager: false,
      prometheusDataDir: dataDir,
    });
    await stack.waitForTargetsUp(['yace']);
    // Every fixture series is in Prometheus (the first scrape may land between two queries).
    await waitFor(async () => (await stack.prometheusClient.query('count({job="yace", __name__=~"aws_.+"})'))[0]?.value === 31 || undefined, {
      what: 'the YACE series in Prometheus', timeoutMs: 20_000, intervalMs: 200,
    }).catch(async (error: unknown) => {
      const n = await stack.prometheusClient.query('count({job="yace", __name__=~"aws_.+"})');
      throw new Error(`${(error as Error).message}: ${JSON.stringify(n)}`);
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await stack?.stop();
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
  });

  const instant = async (expr: string): Promise<{ labels: Record<string, string>; value: number }[]> =>
    (await stack.prometheusClient.query(expr)).map((s) => ({ labels: s.metric, value: s.value }));

  it('EC2: one series per instance with exactly the groupBy labels; network sums become bytes per second', async () => {
    const g = group('aws-ec2');
    const id = (n: number): string => `i-0a1b2c3d4e5f6000${n}`;
    for (const [feature, metric, scale] of [['cpu', 'aws_ec2_cpuutilization_average', 1], ['network_in', 'aws_ec2_network_in_sum', 300], ['network_out', 'aws_ec2_network_out_sum', 300], ['instance_status_check', 'aws_ec2_status_check_failed_maximum', 1]] as const) {
      const rows = await instant(g.features[feature] as string);
      expect(rows.map((r) => r.labels).sort((a, b) => String(a.dimension_InstanceId).localeCompare(String(b.dimension_InstanceId))), feature).toEqual([
        { dimension_InstanceId: id(1), tag_aws_autoscaling_groupName: 'web-asg' },
        { dimension_InstanceId: id(2), tag_aws_autoscaling_groupName: 'web-asg' },
        { dimension_InstanceId: id(3) }, // no Auto Scaling group: YACE's "" is no label in Prometheus
      ]);
      for (const r of rows) expect(r.value, `${feature} ${r.labels.dimension_InstanceId}`).toBeCloseTo((fixtureValues(metric, { dimension_InstanceId: r.labels.dimension_InstanceId as string })[0] as number) / scale, 9);
    }
    expect((await instant(g.features.instance_status_check as string)).find((r) => r.labels.dimension_InstanceId === id(2))?.value).toBe(1);
  });

  it('ALB: one series per target group; the load balancer’s and the availability zones’ aggregates left out; 5xx per second', async () => {
    const g = group('aws-alb');
    const web = { dimension_LoadBalancer: 'app/web-alb/50dc6c495c0c9188', dimension_TargetGroup: 'targetgroup/web/73e2d6bc24d8a067' };
    const api = { dimension_LoadBalancer: 'app/api-alb/6d0ecf831eec9f09', dimension_TargetGroup: 'targetgroup/api/2453ed029918f21f' };
    const expected: Record<string, [Record<string, number>, Record<string, number>]> = {
      latency: [{ web: 0.182 }, { api: 0.041 }],
      errors_5xx: [{ web: 12 / 60 }, { api: 0 }],
      requests: [{ web: 90 }, { api: 20 }],
      healthy_hosts: [{ web: 3 }, { api: 2 }],
    };
    for (const [feature, [w, a]] of Object.entries(expected)) {
      const rows = await instant(g.features[feature] as string);
      expect(rows, feature).toHaveLength(2);
      expect(rows.find((r) => r.labels.dimension_TargetGroup === web.dimension_TargetGroup)?.labels, feature).toEqual(web);
      expect(rows.find((r) => r.labels.dimension_TargetGroup === web.dimension_TargetGroup)?.value, feature).toBeCloseTo(w.web as number, 9);
      expect(rows.find((r) => r.labels.dimension_TargetGroup === api.dimension_TargetGroup)?.labels, feature).toEqual(api);
      expect(rows.find((r) => r.labels.dimension_TargetGroup === api.dimension_TargetGroup)?.value, feature).toBeCloseTo(a.api as number, 9);
    }
    // The filter matters: without it the zone's 0.95 s and the load balancer's 0.5 s would win the max.
    expect((await instant('max by (dimension_LoadBalancer, dimension_TargetGroup) (aws_applicationelb_target_response_time_average)')).length).toBe(3);
  });

  it('RDS: one series per DB instance with its four features', async () => {
    const g = group('aws-rds');
    const expected: Record<string, number> = { cpu: 23.75, connections: 57, read_latency: 0.0012, write_latency: 0.0031 };
    for (const [feature, value] of Object.entries(expected)) {
      expect(await instant(g.features[feature] as string), feature).toEqual([{ labels: { dimension_DBInstanceIdentifier: 'orders-db' }, value }]);
    }
  });

  it('`selfheal exporter` with the shipped exporter.yml (only prometheus.url changed) finds exactly these entities in each group', async () => {
    const config = parse(exporterText) as Record<string, unknown> & { prometheus: Record<string, unknown> };
    config.prometheus.url = stack.prometheusUrl;
    const file = join(tmp, 'exporter.yml');
    writeFileSync(file, stringify(config));
    const port = await freePort();
    exporter = new ManagedProcess({
      name: 'selfheal-exporter', command: process.execPath,
      args: [CLI, 'exporter', '--config', file, '--listen', `127.0.0.1:${port}`, '--state-dir', join(tmp, 'state'), '--log-level', 'warn'],
      logFile: join(tmp, 'exporter.log'),
    });
    type Report = { group: string; entity: Record<string, string>; samplesSeen: number; state: string };
    let last: Report[] = [];
    const reports = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/entities`).catch(() => undefined);
      if (!r?.ok) return undefined;
      const list = ((await r.json()) as { data: Report[] }).data;
      last = list;
      return list.length >= 6 && list.every((e) => e.samplesSeen > 1) ? list : undefined;
    }, { what: 'the exporter to read every entity', timeoutMs: 60_000, intervalMs: 250 }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nentities: ${JSON.stringify(last)}\n${exporter?.logTail() ?? ''}`);
    });
    const byGroup = (name: string): Record<string, string>[] => reports.filter((r) => r.group === name).map((r) => r.entity)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(byGroup('aws-ec2').map((e) => e.dimension_InstanceId)).toEqual(['i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002', 'i-0a1b2c3d4e5f60003']);
    expect(byGroup('aws-ec2')[0]).toMatchObject({ tag_aws_autoscaling_groupName: 'web-asg' });
    expect(byGroup('aws-alb').map((e) => e.dimension_TargetGroup)).toEqual(['targetgroup/api/2453ed029918f21f', 'targetgroup/web/73e2d6bc24d8a067']);
    expect(byGroup('aws-rds')).toEqual([{ dimension_DBInstanceIdentifier: 'orders-db' }]);
    // Trained on the 3 h of history on each group's grid: one row per 5 minutes for EC2, per minute for ALB/RDS.
    const seen = (name: string): number[] => reports.filter((r) => r.group === name).map((r) => r.samplesSeen);
    for (const n of seen('aws-ec2')) expect(n >= 30 && n <= 40, `EC2 rows ${n}`).toBe(true);
    for (const n of [...seen('aws-alb'), ...seen('aws-rds')]) expect(n >= 170 && n <= 190, `ALB/RDS rows ${n}`).toBe(true);
  });
});
