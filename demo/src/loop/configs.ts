// Runnable copies of the shipped demo configs (demo/config/): only addresses, files and (for tests) a few
// timings change, so the demo and the tests exercise what a user reads.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** demo/config/ (works from src/ under tsx and from dist/src/ once built). */
export const CONFIG_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../config/' : '../../config/', import.meta.url));
/** The origin the shipped policy's URLs use for the workload (the contract's demo port). */
export const SHIPPED_WORKLOAD_ORIGIN = 'http://127.0.0.1:8081';

export interface ExporterConfigInput {
  prometheusUrl: string;
  listen: string;
  stateDir: string;
  /** Detector settings merged into the group's `detector:` (e.g. a shorter warm-up in tests). */
  detector?: Record<string, unknown>;
  logLevel?: string;
  file?: string;
}

export function exporterConfig(input: ExporterConfigInput): string {
  const doc = parse(readFileSync(input.file ?? `${CONFIG_DIR}exporter.yml`, 'utf8')) as {
    prometheus: Record<string, unknown>;
    groups: { detector?: Record<string, unknown> }[];
    [key: string]: unknown;
  };
  doc.prometheus.url = input.prometheusUrl;
  doc.listen = input.listen;
  doc.stateDir = input.stateDir;
  if (input.logLevel) doc.logLevel = input.logLevel;
  if (input.detector) for (const group of doc.groups) group.detector = { ...group.detector, ...input.detector };
  return stringify(doc);
}

export interface PolicyInput {
  workloadUrl: string;
  prometheusUrl: string;
  listen: string;
  tokenFile: string;
  storePath: string;
  /** Guardrail/verify overrides, merged over the shipped values. */
  guardrails?: Record<string, unknown>;
  verify?: Record<string, unknown>;
  file?: string;
}

/** Replaces the shipped workload origin in every string of a parsed document. */
function rewriteOrigin(value: unknown, origin: string): unknown {
  if (typeof value === 'string') return value.split(SHIPPED_WORKLOAD_ORIGIN).join(origin);
  if (Array.isArray(value)) return value.map((v) => rewriteOrigin(v, origin));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteOrigin(v, origin)]));
  }
  return value;
}

export function policyConfig(input: PolicyInput): string {
  const doc = parse(readFileSync(input.file ?? `${CONFIG_DIR}policy.yml`, 'utf8')) as Record<string, unknown>;
  const out = rewriteOrigin(doc, input.workloadUrl.replace(/\/+$/, '')) as Record<string, unknown>;
  out.listen = input.listen;
  out.auth = { type: 'bearer', tokenFile: input.tokenFile };
  out.store = { ...(out.store as object), path: input.storePath };
  out.prometheus = { ...(out.prometheus as object), url: input.prometheusUrl };
  if (input.guardrails) out.guardrails = { ...(out.guardrails as object), ...input.guardrails };
  if (input.verify) out.verify = { ...(out.verify as object), ...input.verify };
  // Aliases in the shipped file are expanded by parse(); write plain YAML.
  return stringify(out, { aliasDuplicateObjects: false });
}
