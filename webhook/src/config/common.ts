// Small zod building blocks shared by the config schemas.
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { checkTemplate } from '../util/template.js';

/** Seconds, written as a Prometheus duration ("30s", "5m") or a number of seconds. */
export const duration = z.unknown().transform((value, ctx): number => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const seconds = typeof value === 'string' ? parseDuration(value) : undefined;
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value) ?? 'nothing'} is not a duration; write e.g. 30s, 5m, 1h, 1d (or seconds as a number)` });
    return z.NEVER;
  }
  return seconds;
});

/** A string that may contain `{{ labels.X }}` placeholders; checked when the config loads. */
export const template = z.string().superRefine((text, ctx) => {
  const problem = checkTemplate(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const url = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const nonEmpty = z.string().min(1, 'must not be empty');
