// Accepting a webhook notification: validate it, record it durably (the ingest queue), then hand each new
// incident to the engine. The answer's status and body are the same whichever HTTP path received it.
import type { Logger } from 'pino';
import type { ImmediateDecision } from '../audit/types.js';
import { formatIssues } from '../config/load.js';
import { errorAnswer, webhookErrors } from '../errors.js';
import type { HealingMetrics } from '../metrics.js';
import type { IngestQueue } from './ingest-queue.js';
import { payloadSchema, toReceived } from '@selfheal/contracts';

/** What the receiver tells the engine (HealingEngine implements it). */
export interface IncidentSink {
  /** Metrics of an incident decided inside the ingest transaction, once it is durable. */
  recordDecided(d: ImmediateDecision): void;
  /** Starts work on an incident recorded but not decided yet. */
  enqueue(incidentId: number): void;
  onResolved(incidentId: number): void;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export type AcceptAlerts = (body: unknown) => Promise<Answer>;

export function makeAcceptAlerts(queue: IngestQueue, engine: IncidentSink, metrics: HealingMetrics, logger: Logger): AcceptAlerts {
  return async function acceptAlerts(body: unknown): Promise<Answer> {
    const parsed = payloadSchema.safeParse(body);
    if (!parsed.success) {
      return errorAnswer(new webhookErrors.InvalidPayload(formatIssues(parsed.error.issues.slice(0, 10))));
    }
    const alerts = parsed.data.alerts.map(toReceived);
    let outcomes;
    try {
      outcomes = await queue.write(alerts);
    } catch (err) {
      // Not recorded: ask Alertmanager to retry (it retries 5xx, not 4xx).
      logger.error({ err }, 'could not record alerts; answering 500 so Alertmanager retries');
      return errorAnswer(new webhookErrors.NotRecorded());
    }
    const counts = { new: 0, duplicate: 0, resolved: 0 };
    for (const o of outcomes) {
      if (o.kind === 'new') {
        counts.new++;
        metrics.alertsReceived.inc({ status: 'firing' });
        if (o.decided) engine.recordDecided(o.decided);
        else engine.enqueue(o.incidentId);
      } else if (o.kind === 'resolved') {
        counts.resolved++;
        metrics.alertsReceived.inc({ status: 'resolved' });
        if (o.recoverySeconds !== null) metrics.recovery.observe({ service: metrics.serviceLabel(o.service ?? 'unknown') }, o.recoverySeconds);
        engine.onResolved(o.incidentId);
      } else {
        counts.duplicate++;
        // Recorded earlier but never started (e.g. the disk sync failed after the commit and we answered 500):
        // the retry starts it. The engine ignores incidents already running or decided.
        if (o.kind === 'duplicate' && o.pending) engine.enqueue(o.incidentId);
      }
    }
    return { status: 200, body: { status: 'success', received: alerts.length, ...counts } };
  };
}
