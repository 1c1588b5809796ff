// Reads, parses and validates an exporter config file, with errors that name the file, line, key and fix.
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { DetectorOptionsSpec } from '../detector/factory.js';
import { detectorOptionsSchema } from './detector-options.js';
import { detectorScheduleOptions, exporterConfigSchema, type ExporterConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid exporter config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || '(top level)';
}

/** Line:column of the deepest node of `path` present in the document (or of an unknown key). */
function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string): string {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as unknown[], true);
    let offset: number | undefined;
    if (key !== undefined && length === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair && isScalar(pair.key)) offset = pair.key.range?.[0];
    }
    if (offset === undefined && node && typeof node === 'object' && 'range' in node) {
      offset = (node as { range?: [number, number, number] | null }).range?.[0];
    }
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      return `${pos.line}:${pos.col}`;
    }
  }
  return '1:1';
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function describeIssues(file: string, raw: unknown, doc: Document, lines: LineCounter, issues: readonly z.core.$ZodIssue[]): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const where = locate(doc, lines, issue.path, key);
        const path = formatPath([...issue.path, key]);
        problems.push(`${file}:${where}: ${path}: unknown key${issue.message.startsWith('unknown') ? ` (${issue.message})` : ''}; check its spelling and indentation`);
      }
      continue;
    }
    const where = locate(doc, lines, issue.path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) message = `missing (required): ${message}`;
    problems.push(`${file}:${where}: ${formatPath(issue.path)}: ${message}`);
  }
  return problems;
}

/**
 * Validates config text. `detectorDefaults` shapes the `detector:` section of each group.
 * Relative file paths (auth, TLS, stateDir) are resolved against the config file's directory.
 */
export function parseExporterConfig(text: string, file: string, detector: DetectorOptionsSpec): ExporterConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        return `${file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: YAML syntax: ${error.message.split('\n')[0]}`;
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) throw new ConfigError(file, [`${file}: the file is empty; see exporter/examples/exporter.yml`]);
  const result = exporterConfigSchema(detector.optionsSchema ?? detectorOptionsSchema(detector.defaults)).safeParse(raw);
  if (!result.success) throw new ConfigError(file, describeIssues(file, raw, doc, lines, result.error.issues));
  const config = result.data;

  // Referenced files must exist now, not at the first request an hour later.
  const base = dirname(resolve(file));
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const problems: string[] = [];
  const mustRead = (path: string | undefined, key: string[]): string | undefined => {
    if (path === undefined) return undefined;
    const absolute = at(path);
    try {
      accessSync(absolute, constants.R_OK);
    } catch {
      problems.push(`${file}:${locate(doc, lines, key)}: ${formatPath(key)}: cannot read ${absolute}`);
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
      detector.resolveOptions?.({ ...detectorScheduleOptions(group, detector.defaults), ...(group.detector ?? {}) });
    } catch (error) {
      problems.push(`${file}:${locate(doc, lines, ['groups', index, 'detector'])}: groups[${index}]: ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

export function loadExporterConfig(file: string, detector: DetectorOptionsSpec): ExporterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`${file}: cannot read the config file: ${(error as Error).message}`]);
  }
  return parseExporterConfig(text, file, detector);
}
