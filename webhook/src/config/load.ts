// Reads and validates a config file, turning zod issues into messages a person can act on.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly file: string, readonly errors: string[]) {
    super(`invalid config ${file}:\n  - ${errors.join('\n  - ')}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(top level)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${formatPath(issue.path)}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the closest branch's own problems rather than "invalid input".
      const best = issue.errors.reduce((a, b) => (a.length <= b.length ? a : b));
      if (best.length > 0 && best.length <= 3 && !issue.message.startsWith('give') && !issue.message.startsWith('actuator')) {
        return best.map((sub) => `${formatPath([...issue.path, ...sub.path])}: ${sub.message}`).join('; ');
      }
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `${formatPath(issue.path)}: is required`;
    return `${formatPath(issue.path)}: ${issue.message}`;
  });
}

/** Validates an already-parsed config object. */
export function parseConfig(raw: unknown, file = '<config>'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues));
  return result.data;
}

export function parseConfigText(text: string, file = '<config>'): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
    throw new ConfigError(file, [`not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, file);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file);
}

/** For `selfheal check-config` and `selfheal webhook --check-config`. */
export function checkWebhookConfig(file: string): { ok: boolean; errors: string[] } {
  try {
    loadConfig(file);
    return { ok: true, errors: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, errors: err.errors };
    return { ok: false, errors: [(err as Error).message] };
  }
}
