// Reads the history of the SelfhealAnomaly alert from Prometheus: the ALERTS series Prometheus writes for every
// pending and firing alert at each rule evaluation (labels: the alert's, plus alertstate).
//
// Why range selectors (an instant query of `ALERTS{...}[1d]`) and not query_range: they return the samples as
// stored, at the rule's own evaluation times, so an occurrence starts and ends where Prometheus decided it did.
// query_range re-evaluates at each step with a 5-minute lookback: without staleness markers (backfilled blocks, a
// Prometheus restart) a resolved alert would seem to fire up to 5 minutes longer, and every start would move to the
// next step. Why chunks (a day each, by default): one answer stays bounded (a day at 15 s is 5,760 samples per
// series; Prometheus refuses a query over query.max-samples, 50 million by default), and the progress bar moves.
import { PrometheusClient, PrometheusError, labelMatchers, type PromRangeSeries } from '@selfheal/contracts';

/** One alert (its label set, without alertstate) and the times of its samples, per state (sorted, unique). */
export interface AlertSeries {
  labels: Record<string, string>;
  firing: number[];
  pending: number[];
}

export interface HistoryWindow {
  /** Seconds since the epoch. */
  since: number;
  until: number;
  /** Seconds per read (default a day). */
  chunkSeconds?: number;
}

export const DEFAULT_CHUNK_SECONDS = 86400;

/** The chunks of [since, until] read one at a time: [start, end] each, contiguous, the last one shorter. */
export function chunksOf(w: HistoryWindow): { start: number; end: number }[] {
  const size = w.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  const out: { start: number; end: number }[] = [];
  for (let start = w.since; start < w.until; start += size) out.push({ start, end: Math.min(w.until, start + size) });
  return out;
}

const keyOf = (labels: Record<string, string>): string => labelMatchers(labels);

/** Reads every ALERTS sample of `alertname` in the window, chunk by chunk, merged per alert. */
export async function readAlertHistory(client: PrometheusClient, alertname: string, w: HistoryWindow, onChunk?: (done: number, total: number) => void): Promise<AlertSeries[]> {
  const chunks = chunksOf(w);
  const byKey = new Map<string, { labels: Record<string, string>; firing: Set<number>; pending: Set<number> }>();
  for (const [i, c] of chunks.entries()) {
    // Whole seconds: Prometheus takes durations in ms at most; the range is (end - range, end] (2.x: both ends).
    const range = Math.max(1, Math.round(c.end - c.start));
    const series: PromRangeSeries[] = await client.samples(`ALERTS{alertname=${JSON.stringify(alertname)}}[${range}s]`, c.end);
    for (const s of series) {
      const { alertstate, __name__: _name, ...labels } = s.metric;
      const key = keyOf(labels);
      let entry = byKey.get(key);
      if (!entry) {
        entry = { labels, firing: new Set(), pending: new Set() };
        byKey.set(key, entry);
      }
      const into = alertstate === 'firing' ? entry.firing : alertstate === 'pending' ? entry.pending : undefined;
      if (!into) continue;
      // A sample exactly on a chunk boundary may come in both chunks: the sets keep it once.
      for (const [t] of s.values) if (t >= w.since && t <= w.until) into.add(t);
    }
    onChunk?.(i + 1, chunks.length);
  }
  const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
  return [...byKey.values()].map((e) => ({ labels: e.labels, firing: sorted(e.firing), pending: sorted(e.pending) }));
}

/** A Prometheus that cannot be read, said with its URL (the client's message already names it and the query). */
export function describeReadError(url: string, err: unknown): string {
  if (err instanceof PrometheusError) return err.message;
  return `Prometheus ${url}: ${err instanceof Error ? err.message : String(err)}`;
}
