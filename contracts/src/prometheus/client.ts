// ONE small client of the Prometheus HTTP API (instant and range queries, series, alerts, targets) for the demo,
// the test stack and the e2e tests. Answers are checked against the documented envelope
// (https://prometheus.io/docs/prometheus/latest/querying/api/), so a surprise is an error naming the field.
// The exporter keeps its own streaming range reader (large matrices, its own metrics).
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { retryWithBackoff, type RetryOptions } from '../retry/backoff.js';
import { PrometheusCredentialsError, type PrometheusAuthorizer } from './auth/request.js';

/** A failed call: the URL, the HTTP status (if any) and Prometheus's own `errorType: error` (if it sent one). */
export class PrometheusError extends Error {
  constructor(
    readonly url: string,
    detail: string,
    readonly status?: number,
    readonly errorType?: string,
    /** Worth trying again: no answer, 5xx, or Prometheus busy (`timeout`, `unavailable`). */
    readonly retryable = false,
    /** Prometheus's own error text, when it sent one (e.g. the PromQL parse error). */
    readonly prometheusError?: string,
  ) {
    super(`Prometheus ${url}: ${detail}`);
    this.name = 'PrometheusError';
  }
}

const labelSet = z.record(z.string(), z.string());
const valuePair = z.tuple([z.number(), z.string()]);

const envelope = z.object({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

const vectorData = z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: labelSet, value: valuePair })) });
const scalarData = z.object({ resultType: z.literal('scalar'), result: valuePair });
const matrixData = z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: labelSet, values: z.array(valuePair) })) });
const queryData = z.object({ resultType: z.string() }).loose();

export const promAlertSchema = z.object({
  labels: labelSet,
  annotations: labelSet,
  state: z.enum(['pending', 'firing', 'inactive']),
  activeAt: z.string().optional(),
  value: z.string(),
});
export type PromAlert = z.infer<typeof promAlertSchema>;

export const promTargetSchema = z.object({
  labels: labelSet,
  scrapeUrl: z.string(),
  health: z.enum(['up', 'down', 'unknown']),
  lastError: z.string(),
});
export type PromTarget = z.infer<typeof promTargetSchema>;

/** One sample of an instant vector; `timestamp` in seconds since the epoch. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
  timestamp: number;
}

/** What an instant query evaluated to: a vector, or a scalar (e.g. `vector(1) > bool 0` or `1 + 1`). */
export type InstantResult =
  | { resultType: 'vector'; samples: PromSample[] }
  | { resultType: 'scalar'; value: number; timestamp: number };

/** One series of a range query: [seconds since the epoch, value] pairs. */
export interface PromRangeSeries {
  metric: Record<string, string>;
  values: [number, number][];
}

/**
 * How a call that failed for a passing reason (no answer, 5xx, Prometheus busy) is tried again: the contracts'
 * retry with backoff; the client says which failures are retryable. Default: one attempt (the demo and the tests poll).
 */
export type PrometheusRetry = Omit<RetryOptions, 'retryable'>;

export interface PrometheusClientOptions {
  retry?: PrometheusRetry;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Injected for tests (default: the global fetch). */
  fetch?: typeof fetch;
  /** How instant queries are sent: POST form (default: long queries fit) or GET (a proxy that only lets GET through). */
  queryMethod?: 'GET' | 'POST';
  /** Authentication added to every request (`prometheus.auth`: SigV4, an Entra token, bearer, basic). */
  authorizer?: PrometheusAuthorizer | undefined;
}

const seconds = (t: number | Date): string => String(t instanceof Date ? t.getTime() / 1000 : t);

function fieldPath(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join('.') : '(root)';
}

export class PrometheusClient {
  readonly baseUrl: string;
  private readonly retry: PrometheusRetry;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly queryMethod: 'GET' | 'POST';
  private readonly authorizer: PrometheusAuthorizer | undefined;

  constructor(baseUrl: string, options: PrometheusClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.retry = options.retry ?? { retries: 0, backoffSeconds: 0 };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? fetch;
    this.queryMethod = options.queryMethod ?? 'POST';
    this.authorizer = options.authorizer;
  }

  /** Resolves the configured credential now (start-up): a PrometheusCredentialsError naming what to set when there is none. */
  async checkAuth(): Promise<void> {
    await this.authorizer?.check();
  }

  /** Instant query; the vector's samples (a scalar or string result is an error naming the query). */
  async query(promql: string, time?: number | Date, signal?: AbortSignal): Promise<PromSample[]> {
    const result = await this.instant(promql, { time, signal });
    if (result.resultType !== 'vector') throw new PrometheusError(`${this.baseUrl}/api/v1/query`, `query ${promql} returned a ${result.resultType}, expected a vector`);
    return result.samples;
  }

  /** Instant query that may also evaluate to a scalar (a string or matrix result is an error naming the query). */
  async instant(promql: string, options: { time?: number | Date; signal?: AbortSignal } = {}): Promise<InstantResult> {
    const url = `${this.baseUrl}/api/v1/query`;
    const params = new URLSearchParams({ query: promql });
    if (options.time !== undefined) params.set('time', seconds(options.time));
    const data = await this.call('/api/v1/query', params, queryData, this.queryMethod, options.signal);
    if (data.resultType === 'scalar') {
      const [timestamp, value] = this.check(url, scalarData, data).result;
      return { resultType: 'scalar', value: Number(value), timestamp };
    }
    if (data.resultType !== 'vector') throw new PrometheusError(url, `query ${promql} returned a ${data.resultType}, expected a vector or a scalar`);
    const samples = this.check(url, vectorData, data).result.map((r) => ({ metric: r.metric, timestamp: r.value[0], value: Number(r.value[1]) }));
    return { resultType: 'vector', samples };
  }

  /** Range query over [start, end] (seconds or Dates) every `stepSeconds`. */
  async queryRange(promql: string, range: { start: number | Date; end: number | Date; stepSeconds: number }): Promise<PromRangeSeries[]> {
    const params = new URLSearchParams({ query: promql, start: seconds(range.start), end: seconds(range.end), step: String(range.stepSeconds) });
    const data = await this.call('/api/v1/query_range', params, matrixData);
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]): [number, number] => [t, Number(v)]) }));
  }

  /**
   * Instant query of a range selector (`ALERTS[1d]`) at `time`: the series' raw samples in the range, as stored
   * (no step, no lookback), or an error naming the query if it does not evaluate to a matrix.
   */
  async samples(promql: string, time: number | Date, signal?: AbortSignal): Promise<PromRangeSeries[]> {
    const url = `${this.baseUrl}/api/v1/query`;
    const data = await this.call('/api/v1/query', new URLSearchParams({ query: promql, time: seconds(time) }), queryData, this.queryMethod, signal);
    if (data.resultType !== 'matrix') throw new PrometheusError(url, `query ${promql} returned a ${data.resultType}, expected a matrix (a range selector)`);
    return this.check(url, matrixData, data).result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]): [number, number] => [t, Number(v)]) }));
  }

  /** Label sets of the series matching any of `matchers`, optionally within [start, end]. */
  async series(matchers: readonly string[], range: { start?: number | Date; end?: number | Date } = {}): Promise<Record<string, string>[]> {
    const params = new URLSearchParams();
    for (const m of matchers) params.append('match[]', m);
    if (range.start !== undefined) params.set('start', seconds(range.start));
    if (range.end !== undefined) params.set('end', seconds(range.end));
    return this.call('/api/v1/series', params, z.array(labelSet));
  }

  /** Alerts pending or firing in Prometheus's rule evaluation. */
  async alerts(): Promise<PromAlert[]> {
    return (await this.call('/api/v1/alerts', undefined, z.object({ alerts: z.array(promAlertSchema) }))).alerts;
  }

  async targets(state: 'active' | 'dropped' | 'any' = 'active'): Promise<PromTarget[]> {
    const params = new URLSearchParams({ state });
    return (await this.call('/api/v1/targets', params, z.object({ activeTargets: z.array(promTargetSchema) }), 'GET')).activeTargets;
  }

  /**
   * The names of Prometheus's external labels (`global.external_labels` of its loaded configuration, from
   * /api/v1/status/config). It attaches them to the alerts it sends but not to the series it stores.
   */
  async externalLabelNames(signal?: AbortSignal): Promise<string[]> {
    const { yaml } = await this.call('/api/v1/status/config', undefined, z.object({ yaml: z.string() }), 'GET', signal);
    const config: unknown = parseYaml(yaml);
    const global = typeof config === 'object' && config !== null ? (config as { global?: { external_labels?: unknown } }).global : undefined;
    const labels = global?.external_labels;
    return typeof labels === 'object' && labels !== null ? Object.keys(labels) : [];
  }

  private check<T>(url: string, schema: z.ZodType<T>, data: unknown): T {
    const parsed = schema.safeParse(data);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new PrometheusError(url, `unexpected answer: data.${issue ? `${fieldPath(issue)}: ${issue.message}` : 'invalid'}`);
  }

  /** GET (no params or `method`) or POST form; the `data` of a success envelope, checked against `schema`. */
  private async call<T>(path: string, params: URLSearchParams | undefined, schema: z.ZodType<T>, method?: 'GET' | 'POST', signal?: AbortSignal): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const verb = method ?? (params ? 'POST' : 'GET');
    // Spaces as %20, not +: the form SigV4's canonical query uses, so a signing server reads the same query.
    const target = verb === 'GET' && params ? `${url}?${params.toString().replace(/\+/g, '%20')}` : url;
    const once = async (): Promise<T> => {
      try {
        return this.check(url, schema, await this.attempt(verb, target, url, params, signal));
      } catch (error) {
        // A missing credential keeps its own error (it names the config key and what to set).
        throw error instanceof PrometheusError || error instanceof PrometheusCredentialsError ? error : new PrometheusError(url, String(error));
      }
    };
    // A call the caller aborted is not tried again.
    return retryWithBackoff(once, { ...this.retry, retryable: (error) => error instanceof PrometheusError && error.retryable && !signal?.aborted });
  }

  private async attempt(verb: 'GET' | 'POST', target: string, url: string, params: URLSearchParams | undefined, signal?: AbortSignal): Promise<unknown> {
    const what = `${verb} ${url}${params?.has('query') ? ` (query ${params.get('query') ?? ''})` : ''}`;
    let response: Response;
    let text: string;
    const body = verb === 'POST' && params ? params.toString() : undefined;
    // Outside the retried-as-unreachable path: a missing credential is not a passing failure.
    const auth = this.authorizer ? await this.authorizer.headers({ method: verb, url: target, body }) : {};
    try {
      response = await this.fetchFn(target, {
        method: verb,
        signal: signal ? AbortSignal.any([AbortSignal.timeout(this.timeoutMs), signal]) : AbortSignal.timeout(this.timeoutMs),
        headers: { ...auth, ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
      text = await response.text();
    } catch (error) {
      throw new PrometheusError(url, `${what}: no answer: ${error instanceof Error ? error.message : String(error)}`, undefined, undefined, true);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PrometheusError(url, `${what}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`, response.status, undefined, response.status >= 500);
    }
    const parsed = envelope.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PrometheusError(url, `${what}: HTTP ${response.status}, not an API answer (${issue ? `${fieldPath(issue)}: ${issue.message}` : 'invalid'})`, response.status);
    }
    if (parsed.data.status === 'error' || !response.ok) {
      const { errorType, error } = parsed.data;
      const busy = response.status >= 500 || errorType === 'timeout' || errorType === 'unavailable';
      throw new PrometheusError(url, `${what}: HTTP ${response.status}: ${errorType ?? 'error'}: ${error ?? 'no error message'}`, response.status, errorType, busy, error);
    }
    return parsed.data.data;
  }
}
