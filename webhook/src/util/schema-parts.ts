// Small zod building blocks of the config schemas: the service's (config/) and the actuators' (actuators/*/config.ts).
import { durationSchema } from '@selfheal/contracts';
import { z } from 'zod';
import { checkTemplate } from './template.js';

/** Seconds, written as a Prometheus duration ("30s", "5m") or a number of seconds. */
export const duration = durationSchema({ numbers: true });

/** A string that may contain `{{ labels.X }}` placeholders; checked when the config loads. */
export const template = z.string().superRefine((text, ctx) => {
  const problem = checkTemplate(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const url = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const nonEmpty = z.string().min(1, 'must not be empty');
