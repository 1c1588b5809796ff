// Settings of the HTTP actuator (apps' admin APIs, runbook automation) and of its per-action calls.
import { z } from 'zod';
import { duration, template } from '../../util/schema-parts.js';

export const httpActuatorSchema = z.strictObject({
  type: z.literal('http'),
  timeout: duration.default(5),
  /** Retries on network errors and 5xx, with exponential backoff from retryBackoff. */
  retries: z.number().int().min(0).max(10).default(2),
  retryBackoff: duration.default(0.5),
  headers: z.record(z.string(), z.string()).default({}),
  /** A bearer token read from this file is sent as Authorization. */
  tokenFile: z.string().optional(),
});
export type HttpActuatorConfig = z.infer<typeof httpActuatorSchema>;

export const httpCallSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  /** Template; substituted values are URL-encoded. */
  url: template.refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
  /** JSON body; every string in it is a template, so alert values cannot change its structure. */
  body: z.unknown().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  /** Status codes counted as success (default: any 2xx). */
  expectStatus: z.array(z.number().int()).optional(),
  /**
   * Status codes by which the endpoint refuses and changes nothing (e.g. 409 for a rollback with no previous
   * revision): recorded as skipped with the answer as the reason, like a Kubernetes refusal, not as a failure.
   */
  refusedStatus: z.array(z.number().int().min(400).max(499, 'a refusal is a 4xx answer (a 5xx is a failure, retried)')).optional(),
}).refine((c) => !(c.refusedStatus ?? []).some((s) => (c.expectStatus ?? []).includes(s)), {
  message: 'a status cannot be both in expectStatus and in refusedStatus',
  path: ['refusedStatus'],
});
export type HttpCall = z.infer<typeof httpCallSchema>;
