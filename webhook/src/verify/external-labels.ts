// Prometheus attaches its external labels (`global.external_labels`, e.g. the shipped `monitor: selfheal`, or a
// user's `cluster`) to the alerts it sends, but they are not on the series it stores. An entity selector built from
// an alert's labels that kept them (`selfheal_anomaly_score{service="catalog", monitor="selfheal"}`) matches nothing:
// verification could then only pass by the alert resolving, and a revert's calm condition never held. So they are
// learnt from Prometheus at start and left out of entity selectors, like `verify.nonEntityLabels`.
import type { Logger } from 'pino';
import type { Scheduled } from '../scheduling.js';
import type { PrometheusQueries } from './prometheus.js';

const RETRY_SECONDS = [5, 15, 30, 60, 120, 300];

/**
 * Adds the names of Prometheus's external labels to `nonEntityLabels` (in place). Tried at once and, while
 * Prometheus does not answer, again with growing pauses; a Prometheus-compatible server without the status API
 * (one that keeps no external labels) is told once and left alone.
 */
export function learnExternalLabels(prometheus: PrometheusQueries, nonEntityLabels: string[], logger: Logger): Scheduled {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (n: number): Promise<void> => {
    try {
      const names = await prometheus.externalLabelNames(controller.signal);
      const added = names.filter((name) => !nonEntityLabels.includes(name));
      nonEntityLabels.push(...added);
      if (added.length > 0) logger.info({ externalLabels: added }, "Prometheus's external labels are left out of entity selectors (verification, reverts)");
    } catch (err) {
      if (controller.signal.aborted) return;
      const delay = RETRY_SECONDS[n];
      if (delay === undefined) {
        logger.warn({ err: (err as Error).message }, "could not read Prometheus's external labels (/api/v1/status/config); if it has any, list them under verify.nonEntityLabels");
        return;
      }
      if (n === 0) logger.info({ err: (err as Error).message, retryInSeconds: delay }, "Prometheus's external labels not read yet; trying again");
      timer = setTimeout(() => void attempt(n + 1), delay * 1000);
      timer.unref();
    }
  };
  void attempt(0);
  return {
    stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
    },
  };
}
