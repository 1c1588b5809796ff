// Generates runnable Prometheus and Alertmanager configurations from the shipped ones in prometheus/,
// so tests and the demo exercise exactly what users copy, with only ports, intervals and paths changed.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** The repository's prometheus/ folder (the shipped configuration), found above this module (src or dist). */
export const SHIPPED_DIR = findShippedDir(dirname(fileURLToPath(import.meta.url)));

function findShippedDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'prometheus');
    if (existsSync(join(candidate, 'prometheus.yml')) && existsSync(join(candidate, 'alertmanager.yml'))) return `${candidate}/`;
    if (dirname(dir) === dir) throw new Error(`cannot find the shipped prometheus/ folder above ${start}`);
  }
}

export interface PrometheusConfigInput {
  prometheusAddress: string;
  /** Omit to leave alerting out. */
  alertmanagerAddress?: string;
  scrapeInterval: string;
  evaluationInterval: string;
  /** job_name -> host:port targets. Shipped jobs not named here are dropped, new ones are added. */
  scrapeTargets: Record<string, readonly string[]>;
  ruleFiles: readonly string[];
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}

function readYaml(path: string): Record<string, unknown> {
  return parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export function prometheusConfig(input: PrometheusConfigInput, shippedDir = SHIPPED_DIR): string {
  const config = readYaml(join(shippedDir, 'prometheus.yml'));
  const global = (config.global ?? {}) as Record<string, unknown>;
  config.global = { ...global, scrape_interval: input.scrapeInterval, evaluation_interval: input.evaluationInterval };
  config.rule_files = [...input.ruleFiles];
  if (input.alertmanagerAddress) {
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: [input.alertmanagerAddress] }] }] };
  } else {
    delete config.alerting;
  }
  const targets: Record<string, readonly string[]> = { prometheus: [input.prometheusAddress], ...input.scrapeTargets };
  const shipped = (config.scrape_configs ?? []) as ScrapeConfig[];
  const kept: ScrapeConfig[] = [];
  for (const job of shipped) {
    const jobTargets = targets[job.job_name];
    if (!jobTargets) continue;
    kept.push({ ...job, static_configs: [{ targets: [...jobTargets] }] });
  }
  for (const [jobName, jobTargets] of Object.entries(targets)) {
    if (!kept.some((job) => job.job_name === jobName)) {
      kept.push({ job_name: jobName, static_configs: [{ targets: [...jobTargets] }] });
    }
  }
  config.scrape_configs = kept;
  return stringify(config);
}

export interface AlertmanagerConfigInput {
  /** The healing service's webhook URL; replaces the shipped receiver's. */
  webhookUrl?: string;
  /** Path of the file holding the bearer token; omit for no authorization header. */
  tokenFile?: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
}

interface Route {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
  [key: string]: unknown;
}

function retime(route: Route, input: AlertmanagerConfigInput): void {
  route.group_wait = input.groupWait;
  route.group_interval = input.groupInterval;
  route.repeat_interval = input.repeatInterval;
  for (const child of route.routes ?? []) retime(child, input);
}

export function alertmanagerConfig(input: AlertmanagerConfigInput, shippedDir = SHIPPED_DIR): string {
  const config = readYaml(join(shippedDir, 'alertmanager.yml'));
  retime(config.route as Route, input);
  const receivers = (config.receivers ?? []) as { name: string; webhook_configs?: Record<string, unknown>[] }[];
  const healer = receivers.find((r) => r.name === 'selfheal-healer');
  if (!healer?.webhook_configs?.[0]) throw new Error(`${shippedDir}alertmanager.yml has no selfheal-healer webhook receiver`);
  const webhook = healer.webhook_configs[0];
  if (input.webhookUrl) webhook.url = input.webhookUrl;
  if (input.tokenFile) {
    webhook.http_config = { authorization: { type: 'Bearer', credentials_file: input.tokenFile } };
  } else {
    delete webhook.http_config;
  }
  return stringify(config);
}

/** The shipped rule files (absolute paths). */
export function shippedRuleFiles(shippedDir = SHIPPED_DIR): string[] {
  const dir = join(shippedDir, 'rules');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * A shipped rule file with every alerting rule's `for:` replaced, for time-compressed tests and the demo
 * (1 s scrapes); everything else (expressions, labels, annotations) is unchanged.
 */
export function ruleFileWithFor(path: string, alertFor: string): string {
  const doc = readYaml(path) as { groups?: { rules?: Record<string, unknown>[] }[] };
  for (const group of doc.groups ?? []) {
    for (const rule of group.rules ?? []) {
      if (typeof rule.alert === 'string') rule.for = alertFor;
    }
  }
  return stringify(doc);
}
