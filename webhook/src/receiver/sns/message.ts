// The JSON document Amazon SNS POSTs to an HTTP(S) subscriber, and the string its signature covers.
// Formats: https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
// .../http-subscription-confirmation-json.html, .../http-unsubscribe-confirmation-json.html; the string to sign:
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
import { z } from 'zod';

export const SNS_MESSAGE_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;
export type SnsMessageType = (typeof SNS_MESSAGE_TYPES)[number];

const field = z.string().max(300_000);

/** What every SNS message carries; the signature's fields are checked apart (a message without them is unsigned, 403). */
export const snsMessageSchema = z.object({
  Type: z.enum(SNS_MESSAGE_TYPES, { error: `Type must be one of ${SNS_MESSAGE_TYPES.join(', ')}` }),
  MessageId: z.string().min(1).max(200),
  TopicArn: z.string().min(1).max(1024),
  Message: field,
  Timestamp: z.iso.datetime({ offset: true, error: 'Timestamp must be an ISO 8601 time, e.g. 2012-05-02T00:54:06.655Z' }),
  Subject: field.nullish(),
  Token: field.optional(),
  SubscribeURL: z.string().max(8192).optional(),
  UnsubscribeURL: z.string().max(8192).optional(),
  SignatureVersion: z.string().max(8).optional(),
  Signature: z.string().max(4096).optional(),
  SigningCertURL: z.string().max(8192).optional(),
});
export type SnsMessage = z.infer<typeof snsMessageSchema>;

/** Fields covered by the signature, in the documented (byte-wise sorted) order. */
const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_FIELDS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/**
 * The string SNS signs: each field's name, a newline, its value, a newline. A Notification's Subject only when it
 * has one; a (un)subscription confirmation must carry all of its fields (undefined when one is missing).
 */
export function stringToSign(m: SnsMessage): string | undefined {
  const fields = m.Type === 'Notification' ? NOTIFICATION_FIELDS : CONFIRMATION_FIELDS;
  let out = '';
  for (const name of fields) {
    const value = m[name];
    if (value === undefined || value === null) {
      if (name === 'Subject') continue;
      return undefined;
    }
    out += `${name}\n${value}\n`;
  }
  return out;
}
