// Reads, parses and validates an exporter config file, with errors that name the file, line, key and fix.
import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, parseYaml, readConfigText, type ConfigIssue, type KeyPath, type Position } from '@selfheal/contracts';
import type { z } from 'zod';
import type { DetectorOptionsSpec, DetectorScheduleSettings } from '../detector/factory.js';
import { exporterConfigSchema, groupDetectorOptions, type ExporterConfig } from './schema.js';

const KIND = 'exporter config';

type Locate = (path: KeyPath, key?: string) => Position;

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** An issue at `path`, located in the file. */
function located(locate: Locate, path: KeyPath, message: string, where: KeyPath = path, key?: string): ConfigIssue {
  const { line, column } = locate(where, key);
  return { path, message, line, column };
}

function describeIssues(raw: unknown, locate: Locate, issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const problems: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const detail = issue.message.startsWith('unknown') ? ` (${issue.message})` : '';
        problems.push(located(locate, [...issue.path, key], `unknown key${detail}; check its spelling and indentation`, issue.path, key));
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) message = `missing (required): ${message}`;
    problems.push(located(locate, issue.path, message));
  }
  return problems;
}

/**
 * Validates config text; the detector's spec validates the `detector:` section of each group.
 * Relative file paths (auth, TLS, stateDir) are resolved against the config file's directory.
 */
export function parseExporterConfig<O extends DetectorScheduleSettings>(text: string, file: string, detector: DetectorOptionsSpec<O>): ExporterConfig<O> {
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    throw new ConfigError(file, parsed.errors.map((error) => ({ message: `YAML syntax: ${error.message}`, line: error.line, column: error.column })), KIND);
  }
  const { value: raw, locate } = parsed;
  if (raw === null || raw === undefined) throw new ConfigError(file, [`${file}: the file is empty; see exporter/examples/exporter.yml`], KIND);
  const result = exporterConfigSchema(detector.optionsSchema).safeParse(raw);
  if (!result.success) throw new ConfigError(file, describeIssues(raw, locate, result.error.issues), KIND);
  const config = result.data;

  // Referenced files must exist now, not at the first request an hour later.
  const base = dirname(resolve(file));
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const problems: ConfigIssue[] = [];
  const mustRead = (path: string | undefined, key: string[]): string | undefined => {
    if (path === undefined) return undefined;
    const absolute = at(path);
    try {
      accessSync(absolute, constants.R_OK);
    } catch {
      problems.push(located(locate, key, `cannot read ${absolute}`));
    }
    return absolute;
  };
  const prom = config.prometheus;
  if (prom.auth?.bearerTokenFile) prom.auth.bearerTokenFile = mustRead(prom.auth.bearerTokenFile, ['prometheus', 'auth', 'bearerTokenFile']);
  if (prom.auth?.basic) prom.auth.basic.passwordFile = mustRead(prom.auth.basic.passwordFile, ['prometheus', 'auth', 'basic', 'passwordFile']) ?? '';
  if (prom.tls) {
    prom.tls.caFile = mustRead(prom.tls.caFile, ['prometheus', 'tls', 'caFile']);
    prom.tls.certFile = mustRead(prom.tls.certFile, ['prometheus', 'tls', 'certFile']);
    prom.tls.keyFile = mustRead(prom.tls.keyFile, ['prometheus', 'tls', 'keyFile']);
  }
  if (config.stateDir !== undefined) config.stateDir = at(config.stateDir);
  // Cross-field rules of the detector, on the options each group will really run with.
  config.groups.forEach((group, index) => {
    try {
      detector.resolveOptions?.(groupDetectorOptions(group));
    } catch (error) {
      problems.push(located(locate, ['groups', index], (error as Error).message, ['groups', index, 'detector']));
    }
  });
  if (problems.length > 0) throw new ConfigError(file, problems, KIND);
  return config;
}

export function loadExporterConfig<O extends DetectorScheduleSettings>(file: string, detector: DetectorOptionsSpec<O>): ExporterConfig<O> {
  const text = readConfigText(file, KIND, (reason) => `${file}: cannot read the config file: ${reason}`);
  return parseExporterConfig(text, file, detector);
}
