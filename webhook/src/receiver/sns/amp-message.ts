// The Message of an SNS notification sent by the alert manager of Amazon Managed Service for Prometheus, written by
// the JSON message template of AWS's documentation ("Configure alert manager to send messages to Amazon SNS as
// JSON", https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-JSON.html; shipped in
// deploy/aws/amp-alertmanager.yaml), made into an Alertmanager webhook payload v4 for the same path as a webhook.
//
// The template gives receiver, status, alerts (status, labels, annotations, startsAt, endsAt, generatorURL,
// fingerprint), groupLabels, commonLabels, commonAnnotations; no version, groupKey or externalURL. It prints times
// as Go prints a time.Time ("2026-11-23 22:00:00.123 +0000 UTC"), which is read here as RFC 3339. The payload's
// own schema (@selfheal/contracts) then checks every field as for a webhook.

/** Go's time.Time.String(): date, time with up to 9 decimals, numeric offset, zone name, maybe a monotonic reading. */
const GO_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?) ([+-]\d{2})(\d{2})(?: [A-Za-z0-9+-]{1,10})?(?: m=[+-]\d+\.\d+)?$/;

/** A Go-printed time as RFC 3339 (`2026-11-23T22:00:00.123+00:00`); anything else unchanged (the schema judges it). */
export function goTimeToRfc3339(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = GO_TIME.exec(value);
  return m ? `${m[1]}T${m[2]}${m[3]}:${m[4]}` : value;
}

/** JSON.parse that refuses `__proto__` keys, as the webhook's body reader does. */
function parseJson(text: string): { body: unknown } | { error: string } {
  try {
    return { body: JSON.parse(text, (key, value: unknown) => { if (key === '__proto__') throw new SyntaxError('"__proto__" is not allowed as a key'); return value; }) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The webhook payload v4 the message stands for, or why the message is not one the template writes. */
export function ampMessageToPayload(message: string): { payload: Record<string, unknown> } | { error: string } {
  const parsed = parseJson(message);
  if ('error' in parsed) {
    return { error: `Message is not JSON (${parsed.error.slice(0, 200)}); set alert manager's sns.default.message to the JSON template (deploy/aws/amp-alertmanager.yaml), and note that the template does not escape quotes or backslashes in label and annotation values` };
  }
  const body = parsed.body;
  if (!isObject(body) || !Array.isArray(body.alerts)) return { error: 'Message is JSON but has no "alerts" array; use the JSON template of deploy/aws/amp-alertmanager.yaml' };
  const alerts = body.alerts.map((a) => (isObject(a) ? { ...a, startsAt: goTimeToRfc3339(a.startsAt), endsAt: goTimeToRfc3339(a.endsAt) } : a));
  return { payload: { version: '4', ...body, alerts } };
}
