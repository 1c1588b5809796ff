// Settings of the exec actuator: an argv (never a shell string), values only through validated templates.
import { z } from 'zod';
import { duration, template } from '../../util/schema-parts.js';

export const execActuatorSchema = z.strictObject({
  type: z.literal('exec'),
  timeout: duration.default(30),
  /** Every value substituted into argv or env must match this (anchored) pattern (and the two rules below). */
  allowedValue: z.string().default('[A-Za-z0-9._:/@=+-]{0,253}').superRefine((re, ctx) => {
    try {
      new RegExp(re);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
    }
  }),
  /**
   * A value starting with `-` would be read as an option (`-rf`, `--output=/x`): refused unless this is true
   * (then the program must take `--` before values, or not parse options at all).
   */
  allowLeadingDash: z.boolean().default(false),
  /** A value with a `..` path segment (`../../etc/passwd`) is refused unless this is true. */
  allowDotDot: z.boolean().default(false),
  /** Bytes of stdout/stderr kept in the audit log. */
  maxOutputBytes: z.number().int().positive().default(16384),
  cwd: z.string().optional(),
});
export type ExecActuatorConfig = z.infer<typeof execActuatorSchema>;

export const execCallSchema = z.strictObject({
  argv: z.array(template).min(1, 'argv needs at least the program').refine((a) => a[0] !== undefined && !a[0].includes('{{'), 'the program (argv[0]) must be fixed, not a template'),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are UPPER_CASE'), template).default({}),
  cwd: z.string().optional(),
});
export type ExecCall = z.infer<typeof execCallSchema>;
