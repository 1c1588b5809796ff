// Alertmanager webhook payload, version "4" (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Unknown extra fields are tolerated (forward compatibility); the ones we rely on are checked strictly.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { rfc3339 } from './rfc3339.js';

// `__`-prefixed names are reserved by Prometheus and never reach alerts; refusing them also keeps
// `__proto__` and friends out of every object built from a payload.
const labelName = z.string().min(1).max(256).regex(/^(?!__)[A-Za-z_][A-Za-z0-9_]*$/, 'label names are [A-Za-z_][A-Za-z0-9_]* and do not start with __');
// A lone surrogate (JSON `"\ud800"`; Alertmanager never sends one) has no UTF-8 form: SQLite and PostgreSQL
// would store something else than what was sent, and the labels JSON and the service column would disagree.
const LONE_SURROGATE = /\p{Cs}/u;
const text = (max: number, message?: string) => z.string().max(max, message).refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (it holds a lone surrogate such as \\ud800)');
const labelSet = z.record(labelName, text(4096, 'label values are limited to 4096 characters'));
const annotationSet = z.record(labelName, text(65536));
const timestamp = z.string().max(64).pipe(rfc3339);
/** Go's zero time: Alertmanager's "unset" (an endsAt of a firing alert). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
const ZERO_MS = Date.parse(ZERO_TIME);

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved'], { error: 'must be "firing" or "resolved"' }),
  labels: labelSet,
  annotations: annotationSet.default({}),
  startsAt: timestamp.refine((t) => Date.parse(t) !== ZERO_MS, `must be set (${ZERO_TIME} is Alertmanager's "unset")`),
  endsAt: timestamp.optional(),
  generatorURL: text(8192).optional(),
  fingerprint: z.string().max(128).regex(/^[0-9a-zA-Z]+$/, 'must be alphanumeric').optional(),
});

export const payloadSchema = z.object({
  version: z.literal('4', { error: 'unsupported webhook payload version; this service speaks Alertmanager version "4"' }),
  groupKey: text(16384).optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved'], { error: 'must be "firing" or "resolved"' }),
  receiver: text(1024).optional(),
  groupLabels: labelSet.optional(),
  commonLabels: labelSet.optional(),
  commonAnnotations: annotationSet.optional(),
  externalURL: text(8192).optional(),
  alerts: z.array(alertSchema).max(10000, 'at most 10000 alerts per notification'),
});

export type AlertmanagerPayload = z.infer<typeof payloadSchema>;
export type WebhookAlert = z.infer<typeof alertSchema>;

/** An alert with its identity resolved: Alertmanager's fingerprint, or one computed from the labels. */
export interface ReceivedAlert extends WebhookAlert {
  fingerprint: string;
  /** The idempotency key: one alert occurrence = fingerprint + startsAt. */
  key: string;
}

export function fingerprintOf(labels: Record<string, string>): string {
  const canonical = Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function toReceived(alert: WebhookAlert): ReceivedAlert {
  const fingerprint = alert.fingerprint ?? fingerprintOf(alert.labels);
  // Normalise the times (UTC, milliseconds) so equal instants written differently still dedupe; the zero
  // endsAt stays recognisable (0001-01-01T00:00:00.000Z).
  const startsAt = new Date(alert.startsAt).toISOString();
  const endsAt = alert.endsAt === undefined ? undefined : new Date(alert.endsAt).toISOString();
  return { ...alert, startsAt, endsAt, fingerprint, key: `${fingerprint}@${startsAt}` };
}
