// Reads and validates a config file, turning zod issues into messages a person can act on.
import { ConfigError, formatConfigIssue, parseYaml, readConfigText, type ConfigIssue } from '@selfheal/contracts';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** Each zod issue as a problem naming its key (the messages start with the key: tests and docs rely on it). */
export function zodConfigIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.map((issue): ConfigIssue => {
    if (issue.code === 'unrecognized_keys') return { path: issue.path, message: `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the closest branch's own problems rather than "invalid input".
      const best = issue.errors.reduce((a, b) => (a.length <= b.length ? a : b));
      if (best.length > 0 && best.length <= 3 && !issue.message.startsWith('give') && !issue.message.startsWith('actuator')) {
        return { message: best.map((sub) => formatConfigIssue({ path: [...issue.path, ...sub.path], message: sub.message })).join('; ') };
      }
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return { path: issue.path, message: 'is required' };
    return { path: issue.path, message: issue.message };
  });
}

/** The same problems as lines ("alerts[0].startsAt: ..."): the receiver's 400 answers and replay's notes. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return zodConfigIssues(issues).map((issue) => formatConfigIssue(issue));
}

/** Validates an already-parsed config object. */
export function parseConfig(raw: unknown, file = '<config>'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(file, zodConfigIssues(result.error.issues));
  return result.data;
}

export function parseConfigText(text: string, file = '<config>'): Config {
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    const first = parsed.errors[0];
    throw new ConfigError(file, [`not valid YAML${first ? ` (line ${first.line}, column ${first.column}): ${first.message}` : ''}`]);
  }
  return parseConfig(parsed.value, file);
}

export function loadConfig(file: string): Config {
  return parseConfigText(readConfigText(file), file);
}

/** For `selfheal check-config` and `selfheal webhook --check-config`. */
export function checkWebhookConfig(file: string): { ok: boolean; errors: string[] } {
  try {
    loadConfig(file);
    return { ok: true, errors: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, errors: [...err.problems] };
    return { ok: false, errors: [(err as Error).message] };
  }
}
