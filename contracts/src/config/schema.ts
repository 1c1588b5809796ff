// zod pieces for config schemas: a duration (Prometheus notation, seconds after parsing) and a listen address.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { listenAddressProblem, type ListenOptions } from './listen.js';

export interface DurationOptions {
  /** What the duration is for, appended to messages: "(per-request timeout)". */
  what?: string;
  /** Bounds in seconds. */
  min?: number;
  max?: number;
  /** Also accept a number of seconds (YAML `timeout: 30`). */
  numbers?: boolean;
}

/** A Prometheus duration string ("15s", "1h30m"), parsed to seconds; with `numbers`, a number of seconds too. */
export function durationSchema(options: DurationOptions = {}) {
  const what = options.what !== undefined ? ` (${options.what})` : '';
  const example = `write e.g. 500ms, 15s, 5m, 1h30m, 7d${options.numbers ? ' (or seconds as a number)' : ''}${what}`;
  return z.unknown().transform((value, ctx): number => {
    let seconds: number | undefined;
    if (typeof value === 'string') seconds = parseDuration(value);
    else if (options.numbers && typeof value === 'number' && Number.isFinite(value) && value >= 0) seconds = value;
    if (seconds === undefined) {
      const shown = typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : value === undefined || value === null ? 'nothing' : `a ${Array.isArray(value) ? 'list' : typeof value}`;
      ctx.addIssue({ code: 'custom', message: `${shown} is not a duration; ${example}` });
      return z.NEVER;
    }
    if (options.min !== undefined && seconds < options.min) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is too short: at least ${options.min}s${what}` });
      return z.NEVER;
    }
    if (options.max !== undefined && seconds > options.max) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is too long: at most ${options.max}s${what}` });
      return z.NEVER;
    }
    return seconds;
  });
}

/** HOST:PORT to listen on (see listen.ts), kept as the text. */
export function listenAddressSchema(options: ListenOptions = {}) {
  return z.string().superRefine((text, ctx) => {
    const problem = listenAddressProblem(text, options);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
