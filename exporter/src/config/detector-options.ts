// The `detector:` section of a group is validated against the detector's own defaults: every key the
// detector knows, with the type of its default, and nothing else (a typo is an error, not silently ignored).
import { z } from 'zod';

function schemaFor(value: unknown, key: string): z.ZodType {
  if (typeof value === 'number') return z.number({ error: `expected a number (default ${value})` }).refine(Number.isFinite, { error: 'must be finite' });
  if (typeof value === 'boolean') return z.boolean({ error: `expected true or false (default ${value})` });
  if (typeof value === 'string') return z.string({ error: `expected a string (default "${value}")` });
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return z.array(first === undefined ? z.unknown() : schemaFor(first, key), { error: `expected a list (default ${JSON.stringify(value)})` });
  }
  if (value !== null && typeof value === 'object') return detectorOptionsSchema(value as Record<string, unknown>);
  return z.unknown();
}

/** A strict, all-optional schema shaped like `defaults`. */
export function detectorOptionsSchema(defaults: Readonly<Record<string, unknown>>): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(defaults)) shape[key] = schemaFor(value, key).optional();
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown detector setting(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(defaults).join(', ')}`
        : 'expected a map of detector settings',
  }) as unknown as z.ZodType<Record<string, unknown>>;
}
