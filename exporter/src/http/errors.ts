// Every error the exporter's HTTP interface answers with: code, message and status, defined once.
import { defineCatalogue, defineError, type CatalogueError } from '@selfheal/contracts';

export const exporterErrors = defineCatalogue({
  MetricsFailed: defineError('SELFHEAL_EXPORTER_METRICS_FAILED', (reason: string) => `metrics collection failed: ${reason}`, 500),
  NotReady: defineError('SELFHEAL_EXPORTER_NOT_READY', () => 'Selfheal exporter is not ready: the first cycle of every group has not completed yet.', 503),
  NotFound: defineError('SELFHEAL_EXPORTER_NOT_FOUND', () => 'not found; endpoints: /metrics, /-/healthy, /-/ready, /api/v1/entities', 404),
});

/** The header that carries the code of an error answer (the bodies are plain text, as Prometheus's are). */
export const ERROR_CODE_HEADER = 'X-Selfheal-Error-Code';

/** The answer to an error: its status, its code in a header, and its message as plain text. */
export function errorResponse(error: CatalogueError): { status: number; headers: Record<string, string>; body: string } {
  return { status: error.statusCode, headers: { [ERROR_CODE_HEADER]: error.code }, body: `${error.message}\n` };
}
