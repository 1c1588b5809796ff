// `selfheal check-config FILE...`: validates any Selfheal-related config file, recognising its kind:
// the exporter config, the healing service config, and Prometheus, rule and Alertmanager files
// (delegated to promtool / amtool when installed, as Prometheus users expect).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse } from 'yaml';
import { checkExporterConfigWith, defaultDetectorFactory } from '@selfheal/exporter';
import { checkWebhookConfig } from '@selfheal/webhook';

export const CONFIG_KINDS = ['exporter', 'webhook', 'prometheus', 'rules', 'alertmanager'] as const;
export type ConfigKind = (typeof CONFIG_KINDS)[number];

const KIND_NAMES: Record<ConfigKind, string> = {
  exporter: 'anomaly exporter config',
  webhook: 'healing service config',
  prometheus: 'Prometheus config',
  rules: 'Prometheus rule file',
  alertmanager: 'Alertmanager config',
};

const WEBHOOK_KEYS = ['rules', 'actuators', 'targets', 'guardrails', 'escalation', 'store', 'verify', 'auth', 'grafana'];

/** The kind of a parsed config document, from its top-level keys; undefined when it cannot tell. */
export function detectKind(doc: unknown): ConfigKind | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const top = doc as Record<string, unknown>;
  const has = (key: string): boolean => key in top;
  if (has('route') || has('receivers') || has('inhibit_rules')) return 'alertmanager';
  if (has('scrape_configs') || has('rule_files') || has('alerting') || has('remote_write') || has('global')) return 'prometheus';
  if (Array.isArray(top.groups)) {
    const groups = top.groups as unknown[];
    const ruleGroups = groups.some((g) => g !== null && typeof g === 'object' && 'rules' in g);
    return ruleGroups ? 'rules' : 'exporter';
  }
  if (WEBHOOK_KEYS.some(has)) return 'webhook';
  if (has('groups') || (has('prometheus') && !has('listen'))) return 'exporter';
  if (has('listen') || has('prometheus')) return 'webhook';
  return undefined;
}

export interface CheckResult {
  file: string;
  kind: ConfigKind | undefined;
  ok: boolean;
  errors: string[];
  notes: string[];
}

function runTool(tool: string, args: string[]): { found: boolean; ok: boolean; output: string } {
  const result = spawnSync(tool, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return { found: false, ok: false, output: '' };
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { found: true, ok: result.status === 0, output };
}

function delegated(file: string, kind: ConfigKind, tool: string, args: string[], debianPackage: string): CheckResult {
  const run = runTool(tool, args);
  if (!run.found) {
    return {
      file,
      kind,
      ok: true,
      errors: [],
      notes: [`${tool} is not installed, so only the YAML syntax was checked; install it (apt-get install ${debianPackage}) for a full check`],
    };
  }
  const lines = run.output.split('\n').filter((line) => line.trim() !== '');
  return run.ok
    ? { file, kind, ok: true, errors: [], notes: lines.map((line) => `${tool}: ${line.trim()}`) }
    : { file, kind, ok: false, errors: lines.map((line) => `${tool}: ${line.trim()}`), notes: [] };
}

export function checkConfigFile(file: string, forcedKind?: ConfigKind): CheckResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { file, kind: forcedKind, ok: false, errors: [`cannot read ${file}: ${(error as Error).message}`], notes: [] };
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    const multi = /multiple documents/.test(message);
    if (!forcedKind) {
      return {
        file,
        kind: undefined,
        ok: false,
        errors: [multi ? 'several YAML documents in one file (Kubernetes manifests?): a Selfheal config is one document' : `not valid YAML: ${message}`],
        notes: [],
      };
    }
  }
  if (!forcedKind && doc !== null && typeof doc === 'object' && 'apiVersion' in doc && 'kind' in doc) {
    const kind = String((doc as { kind: unknown }).kind);
    return {
      file,
      kind: undefined,
      ok: false,
      errors: [`a Kubernetes ${kind} manifest, not a Selfheal config; check the config it carries (e.g. a ConfigMap's data) as its own file`],
      notes: [],
    };
  }
  const kind = forcedKind ?? detectKind(doc);
  switch (kind) {
    case 'exporter': {
      const check = checkExporterConfigWith(file, defaultDetectorFactory());
      return { file, kind, ok: check.ok, errors: check.errors, notes: check.summary ? [check.summary] : [] };
    }
    case 'webhook': {
      const check = checkWebhookConfig(file);
      return { file, kind, ok: check.ok, errors: check.errors, notes: [] };
    }
    case 'prometheus':
      return delegated(file, kind, 'promtool', ['check', 'config', file], 'prometheus');
    case 'rules':
      return delegated(file, kind, 'promtool', ['check', 'rules', file], 'prometheus');
    case 'alertmanager':
      return delegated(file, kind, 'amtool', ['check-config', file], 'prometheus-alertmanager');
    default:
      return {
        file,
        kind: undefined,
        ok: false,
        errors: [
          'cannot tell what kind of config this is: an exporter config has `prometheus:` and `groups:` (with `features:`), ' +
            'a healing service config has `rules:`/`actuators:`/`targets:`, a Prometheus config `scrape_configs:`, a rule file ' +
            '`groups:` with `rules:`, an Alertmanager config `route:` and `receivers:`. Name the kind with --kind.',
        ],
        notes: [],
      };
  }
}

export function formatCheck(result: CheckResult): string {
  const kind = result.kind ? KIND_NAMES[result.kind] : 'unknown kind';
  const lines = [`${result.file}: ${result.ok ? 'OK' : 'INVALID'} (${kind})`];
  for (const error of result.errors) lines.push(`  - ${error}`);
  for (const note of result.notes) lines.push(`    ${note}`);
  return lines.join('\n');
}

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('Validate config files of any Selfheal kind (exporter, healing service, Prometheus, rules, Alertmanager); exit 1 if one is invalid')
    .argument('<file...>', 'config files; the kind is recognised from the content')
    .addOption(new Option('--kind <kind>', 'check as this kind instead of recognising it').choices(CONFIG_KINDS))
    .action((files: string[], options: { kind?: ConfigKind }) => {
      let failed = false;
      for (const file of files) {
        const result = checkConfigFile(file, options.kind);
        (result.ok ? process.stdout : process.stderr).write(`${formatCheck(result)}\n`);
        if (!result.ok) failed = true;
      }
      if (failed) process.exitCode = 1;
    });
}
