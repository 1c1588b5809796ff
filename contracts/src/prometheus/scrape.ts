// Reading a /metrics endpoint (the exporter's, the healing service's, the demo workload's) into samples.
import { parseExposition, type ExposedSample } from './exposition.js';

/** GET `url` (the full address of the metrics endpoint) and parse its text exposition (ExpositionError naming the URL). */
export async function scrapeMetrics(url: string, options: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<ExposedSample[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000), ...(options.headers ? { headers: options.headers } : {}) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}: ${text.slice(0, 200)}`);
  return parseExposition(text, `GET ${url}`);
}
