// Accepting a delivery of Amazon SNS (POST /api/v1/alerts/sns): the alert manager of Amazon Managed Service for
// Prometheus can only send to SNS, and SNS POSTs to an HTTP(S) subscriber. In order: the message's shape (400), its
// topic on the allow-list, its age, its signature (403 each, logged once, nothing acted on), a copy already acted
// on (200, not acted on again); then a subscription confirmation is confirmed at its SubscribeURL, and a
// notification's alerts take the same path as a webhook's (acceptAlerts: same idempotency, guardrails, audit).
// SNS does not retry a 4xx and retries a 5xx: what cannot get better is 4xx, what may is 5xx.
import type { CatalogueError } from '@selfheal/contracts';
import type { Logger } from 'pino';
import type { SnsConfig } from '../../config/schema.js';
import { formatIssues } from '../../config/load.js';
import { errorAnswer, webhookErrors } from '../../errors.js';
import type { HealingMetrics } from '../../metrics.js';
import type { AcceptAlerts, Answer } from '../accept.js';
import { ampMessageToPayload } from './amp-message.js';
import { subscribeUrlProblem, type SnsEndpoints } from './endpoints.js';
import { httpsGetText } from './fetch.js';
import { SNS_MESSAGE_TYPES, snsMessageSchema, type SnsMessage } from './message.js';
import { SeenMessages } from './replay.js';
import { CertificateUnavailable, SignatureRefused, SnsSignatureVerifier } from './signature.js';

/** A Timestamp this far ahead of our clock is refused too (clock skew allowed). */
const MAX_FUTURE_SECONDS = 300;

export const SNS_OUTCOMES = ['accepted', 'duplicate', 'confirmed', 'unsubscribed', 'refused', 'invalid', 'failed'] as const;
type SnsOutcome = (typeof SNS_OUTCOMES)[number];

export interface SnsReceiverDeps {
  config: SnsConfig;
  endpoints: SnsEndpoints;
  acceptAlerts: AcceptAlerts;
  metrics: HealingMetrics;
  logger: Logger;
  /** The engine's clock, in seconds (message age, replay memory). */
  now(): number;
}

export type AcceptSns = (body: unknown) => Promise<Answer>;

export function makeAcceptSns(d: SnsReceiverDeps): AcceptSns {
  const verifier = new SnsSignatureVerifier(d.endpoints);
  const seen = new SeenMessages();
  const topics = new Set(d.config.topicArns);
  for (const type of SNS_MESSAGE_TYPES) for (const outcome of SNS_OUTCOMES) d.metrics.snsMessages.inc({ type, outcome }, 0);

  const count = (type: string, outcome: SnsOutcome) => d.metrics.snsMessages.inc({ type, outcome });
  /** One log line per refused or failed message, naming why and which message. */
  const fail = (m: Partial<SnsMessage>, outcome: SnsOutcome, error: CatalogueError, level: 'warn' | 'error' = 'warn'): Answer => {
    count(m.Type ?? 'unknown', outcome);
    d.logger[level]({ sns: { type: m.Type, messageId: m.MessageId, topicArn: m.TopicArn }, code: error.code }, error.message);
    return errorAnswer(error);
  };

  async function confirm(m: SnsMessage): Promise<Answer> {
    const problem = subscribeUrlProblem(m.SubscribeURL ?? '', d.endpoints);
    if (problem) return fail(m, 'refused', new webhookErrors.SnsRefused(problem));
    let answer: string;
    try {
      answer = await httpsGetText(m.SubscribeURL ?? '', { timeoutMs: 10_000, maxBytes: 64 * 1024, ca: d.endpoints.ca });
    } catch (err) {
      return fail(m, 'failed', new webhookErrors.SnsUnavailable(`could not confirm the subscription to ${m.TopicArn}: ${(err as Error).message}`), 'error');
    }
    const subscriptionArn = /<SubscriptionArn>([^<]{1,2048})<\/SubscriptionArn>/.exec(answer)?.[1];
    d.logger.info({ sns: { topicArn: m.TopicArn, subscriptionArn } }, 'confirmed the SNS subscription');
    count(m.Type, 'confirmed');
    return { status: 200, body: { status: 'success', confirmed: m.TopicArn, ...(subscriptionArn ? { subscriptionArn } : {}) } };
  }

  async function notification(m: SnsMessage): Promise<Answer> {
    const unwrapped = ampMessageToPayload(m.Message);
    if ('error' in unwrapped) return fail(m, 'invalid', new webhookErrors.SnsInvalidAlerts(unwrapped.error));
    const answer = await d.acceptAlerts(unwrapped.payload);
    if (answer.status === 200) count(m.Type, 'accepted');
    else if (answer.status >= 500) count(m.Type, 'failed');
    else {
      count(m.Type, 'invalid');
      d.logger.warn({ sns: { type: m.Type, messageId: m.MessageId, topicArn: m.TopicArn }, code: answer.body.code }, `SNS notification refused: ${String(answer.body.error)}`);
    }
    return answer;
  }

  return async function acceptSns(body: unknown): Promise<Answer> {
    const parsed = snsMessageSchema.safeParse(body);
    const raw = (typeof body === 'object' && body !== null ? body : {}) as Partial<SnsMessage>;
    if (!parsed.success) return fail({ MessageId: typeof raw.MessageId === 'string' ? raw.MessageId.slice(0, 200) : undefined }, 'invalid', new webhookErrors.SnsInvalidMessage(formatIssues(parsed.error.issues.slice(0, 5)).join('; ')));
    const m = parsed.data;
    if (!topics.has(m.TopicArn)) return fail(m, 'refused', new webhookErrors.SnsRefused(`topic ${m.TopicArn} is not in sns.topicArns`));
    const now = d.now();
    const published = Date.parse(m.Timestamp) / 1000;
    if (published < now - d.config.maxAge) return fail(m, 'refused', new webhookErrors.SnsRefused(`Timestamp ${m.Timestamp} is older than sns.maxAge (${d.config.maxAge}s)`));
    if (published > now + MAX_FUTURE_SECONDS) return fail(m, 'refused', new webhookErrors.SnsRefused(`Timestamp ${m.Timestamp} is in the future`));
    try {
      await verifier.verify(m);
    } catch (err) {
      if (err instanceof CertificateUnavailable) return fail(m, 'failed', new webhookErrors.SnsUnavailable(err.message), 'error');
      if (err instanceof SignatureRefused) return fail(m, 'refused', new webhookErrors.SnsRefused(err.message));
      throw err;
    }
    if (seen.has(m.MessageId, now)) {
      count(m.Type, 'duplicate');
      return { status: 200, body: { status: 'success', duplicate: true, messageId: m.MessageId } };
    }
    let answer: Answer;
    if (m.Type === 'SubscriptionConfirmation') answer = await confirm(m);
    else if (m.Type === 'Notification') answer = await notification(m);
    else {
      d.logger.warn({ sns: { topicArn: m.TopicArn } }, 'SNS says this endpoint was unsubscribed from the topic; no more alerts will come from it');
      count(m.Type, 'unsubscribed');
      answer = { status: 200, body: { status: 'success', unsubscribed: m.TopicArn } };
    }
    // Remembered once done: a failure (5xx) is retried by SNS with the same MessageId and must be taken then.
    if (answer.status === 200) seen.add(m.MessageId, published + d.config.maxAge, now);
    return answer;
  };
}
