// A small typed client of the Prometheus HTTP API (/api/v1/query, /api/v1/query_range) on axios:
// timeouts, retries with exponential backoff and jitter, per-request outcome callbacks for metrics,
// and query_range split in time so that no answer exceeds Prometheus's 11,000 points per series or
// the configured memory budget.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { createPrometheusAuthorizer, retryWithBackoff, type PrometheusAuth, type PrometheusAuthorizer, type PrometheusAuthorizerOptions } from '@selfheal/contracts';
import type { IncomingMessage } from 'node:http';
import { parseMatrixFast, parseSampleValue } from './matrix-parser.js';
import { MatrixStreamParser } from './matrix-stream.js';
import type { Endpoint, InstantSample, Labels, RangeSeries, RequestOutcome } from './types.js';

/** Prometheus refuses range queries with more points per series than this. */
export const MAX_POINTS_PER_SERIES = 11_000;

export interface PrometheusClientOptions {
  url: string;
  timeoutSeconds: number;
  /** Attempts after the first one, for retryable failures only. */
  retries: number;
  retryBackoffSeconds: number;
  acceptEncoding: 'identity' | 'gzip';
  maxPointsPerRequest: number;
  headers?: Record<string, string>;
  /** `prometheus.auth`: bearer token file, basic, SigV4 (Amazon Managed Service for Prometheus) or an Entra token (Azure). */
  auth?: PrometheusAuth | undefined;
  /** Credential sources of the SigV4 and Azure authorizers (tests; default: the SDKs' provider chains). */
  authOptions?: PrometheusAuthorizerOptions;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined; serverName?: string | undefined; insecureSkipVerify: boolean } | undefined;
  /** Called once per HTTP attempt (retries included). */
  onRequest?: (endpoint: Endpoint, outcome: RequestOutcome, seconds: number) => void;
  /** For tests: the random source of the jitter. */
  random?: () => number;
}

/** A failed API call, after retries; `outcome` says what kind. */
export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly outcome: Exclude<RequestOutcome, 'success'>,
    readonly status?: number,
    /** The API's errorType (bad_data, execution, timeout, canceled, internal, unavailable), when it sent one. */
    readonly errorType?: string,
  ) {
    super(message);
    this.name = 'PrometheusError';
  }

  get retryable(): boolean {
    return this.outcome !== 'client_error' && this.outcome !== 'invalid_response';
  }
}

interface ApiEnvelope {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

interface VectorData {
  resultType: 'vector';
  result: { metric: Labels; value: [number, string] }[];
}

interface MatrixData {
  resultType: 'matrix';
  result: { metric: Labels; values?: [number, string][] }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

export class PrometheusClient {
  private readonly http: AxiosInstance;
  private readonly random: () => number;
  private readonly authorizer: PrometheusAuthorizer | undefined;

  constructor(private readonly options: PrometheusClientOptions) {
    this.random = options.random ?? Math.random;
    this.authorizer = createPrometheusAuthorizer(options.auth, options.authOptions);
    const tls = options.tls;
    const httpsAgent = new https.Agent({
      keepAlive: true,
      ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
      ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
      ...(tls?.serverName ? { servername: tls.serverName } : {}),
      rejectUnauthorized: !(tls?.insecureSkipVerify ?? false),
    });
    this.http = axios.create({
      baseURL: options.url,
      timeout: Math.round(options.timeoutSeconds * 1000),
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent,
      // We parse ourselves: one JSON.parse of the text, and errors that quote the body.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxContentLength: Infinity,
      maxBodyLength: Infinity,
      headers: { 'Accept-Encoding': options.acceptEncoding === 'identity' ? 'identity' : 'gzip' },
    });
  }

  get url(): string {
    return this.options.url;
  }

  /** Resolves the configured credential now (start-up): a PrometheusCredentialsError naming what to set when there is none. */
  async checkAuth(): Promise<void> {
    await this.authorizer?.check();
  }

  /**
   * The authentication headers of one POST to `endpoint` with `body` (SigV4 signs the URL and the body; bearer and
   * basic read their secret files per request so that rotated credentials are picked up without a restart).
   */
  private async authHeaders(endpoint: Endpoint, body: string): Promise<Record<string, string>> {
    if (!this.authorizer) return {};
    try {
      return await this.authorizer.headers({ method: 'POST', url: `${this.options.url}/api/v1/${endpoint}`, body });
    } catch (error) {
      throw new PrometheusError(`${endpoint}: ${(error as Error).message}`, 'client_error');
    }
  }

  /** One attempt: POST form-encoded (long PromQL fits), the API envelope checked. */
  private async attempt(
    endpoint: Endpoint,
    params: Record<string, string>,
    fast?: (text: string) => unknown,
    /** An answer already received (by attemptStream): checked, not requested. */
    received?: { status: number; text: string; started: number },
  ): Promise<unknown> {
    const started = received?.started ?? performance.now();
    let outcome: RequestOutcome = 'success';
    try {
      let response: { status: number; data: unknown };
      if (received) response = { status: received.status, data: received.text };
      else try {
        const body = new URLSearchParams(params).toString();
        const auth = await this.authHeaders(endpoint, body);
        response = await this.http.post<string>(`/api/v1/${endpoint}`, body, {
          headers: { ...this.options.headers, ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
        });
      } catch (error) {
        if (error instanceof PrometheusError) {
          outcome = error.outcome;
          throw error;
        }
        if (error instanceof AxiosError) {
          const timedOut = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' || /timeout/i.test(error.message);
          outcome = timedOut ? 'timeout' : 'connection_error';
          throw new PrometheusError(
            timedOut
              ? `${endpoint}: no answer from ${this.options.url} within ${this.options.timeoutSeconds}s`
              : `${endpoint}: cannot reach ${this.options.url}: ${error.code ?? ''} ${error.message}`.replace(/\s+/g, ' '),
            outcome,
          );
        }
        throw error;
      }
      const text = typeof response.data === 'string' ? response.data : String(response.data);
      if (response.status < 300 && fast) {
        const parsed = fast(text);
        if (parsed !== undefined) return parsed;
      }
      let body: ApiEnvelope | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (isObject(parsed)) body = parsed;
      } catch {
        body = undefined;
      }
      const status = response.status;
      if (status >= 400 || body?.status === 'error') {
        outcome = status >= 500 || status === 429 || body?.errorType === 'timeout' || body?.errorType === 'unavailable' ? 'server_error' : 'client_error';
        const detail = body && typeof body.error === 'string' ? `${String(body.errorType ?? 'error')}: ${body.error}` : text.slice(0, 300);
        throw new PrometheusError(
          `${endpoint} ${JSON.stringify(params.query ?? '')}: HTTP ${status}: ${detail}`,
          outcome,
          status,
          typeof body?.errorType === 'string' ? body.errorType : undefined,
        );
      }
      if (!body || body.status !== 'success' || !isObject(body.data)) {
        outcome = 'invalid_response';
        throw new PrometheusError(`${endpoint}: not a Prometheus API answer (HTTP ${status}): ${text.slice(0, 200)}`, outcome, status);
      }
      return body.data;
    } finally {
      this.options.onRequest?.(endpoint, outcome, (performance.now() - started) / 1000);
    }
  }

  /**
   * One query_range attempt whose answer is scanned as it arrives (MatrixStreamParser): the body is never held
   * whole. Answers that are not in Prometheus's usual layout are read as text and go through `attempt`'s checks
   * (from the bytes already received when the envelope was not recognised, else by asking again as text);
   * errors (HTTP >= 300) likewise.
   */
  private async attemptStream(params: Record<string, string>, expectedPoints: number): Promise<unknown> {
    const started = performance.now();
    let outcome: RequestOutcome = 'success';
    let response;
    const form = new URLSearchParams(params).toString();
    try {
      const auth = await this.authHeaders('query_range', form);
      response = await this.http.post<IncomingMessage>('/api/v1/query_range', form, {
        headers: { ...this.options.headers, ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
        responseType: 'stream',
      });
    } catch (error) {
      if (error instanceof PrometheusError) {
        this.options.onRequest?.('query_range', error.outcome, (performance.now() - started) / 1000);
        throw error;
      }
      if (error instanceof AxiosError) {
        const timedOut = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' || /timeout/i.test(error.message);
        outcome = timedOut ? 'timeout' : 'connection_error';
        this.options.onRequest?.('query_range', outcome, (performance.now() - started) / 1000);
        throw new PrometheusError(
          timedOut
            ? `query_range: no answer from ${this.options.url} within ${this.options.timeoutSeconds}s`
            : `query_range: cannot reach ${this.options.url}: ${error.code ?? ''} ${error.message}`.replace(/\s+/g, ' '),
          outcome,
        );
      }
      throw error;
    }
    const body = response.data;
    // The whole attempt (headers and body) stays within the timeout.
    const remainingMs = Math.max(1, this.options.timeoutSeconds * 1000 - (performance.now() - started));
    const parser = response.status < 300 ? new MatrixStreamParser(expectedPoints) : undefined;
    // Kept only until the parser has recognised the envelope (or for error answers, which are small).
    let held: Buffer[] | undefined = [];
    let settled: 'parsed' | 'text' | 'again';
    try {
      settled = await new Promise<'parsed' | 'text' | 'again'>((resolve, reject) => {
        const timer = setTimeout(() => {
          body.destroy();
          reject(new PrometheusError(`query_range: no complete answer from ${this.options.url} within ${this.options.timeoutSeconds}s`, 'timeout'));
        }, remainingMs);
        const finish = (how: 'parsed' | 'text' | 'again'): void => {
          clearTimeout(timer);
          resolve(how);
        };
        body.on('data', (chunk: Buffer) => {
          if (held) held.push(chunk);
          if (!parser || parser.failed) return;
          if (!parser.write(chunk)) {
            // Not the usual layout: with the envelope unrecognised every byte is still here; otherwise ask again.
            if (!held) {
              body.destroy();
              finish('again');
            }
            return;
          }
          if (parser.recognised) held = undefined;
        });
        body.on('end', () => finish(parser && !parser.failed ? 'parsed' : 'text'));
        body.on('error', (error: Error) => {
          clearTimeout(timer);
          reject(new PrometheusError(`query_range: the answer from ${this.options.url} broke off: ${error.message}`, 'connection_error'));
        });
      });
    } catch (error) {
      outcome = (error as PrometheusError).outcome ?? 'connection_error';
      this.options.onRequest?.('query_range', outcome, (performance.now() - started) / 1000);
      throw error;
    }
    if (settled === 'parsed') {
      const series = parser?.end();
      this.options.onRequest?.('query_range', series ? 'success' : 'invalid_response', (performance.now() - started) / 1000);
      if (!series) throw new PrometheusError('query_range: the answer ended before the matrix was complete', 'invalid_response', response.status);
      return series;
    }
    if (settled === 'again') {
      this.options.onRequest?.('query_range', 'success', (performance.now() - started) / 1000);
      return this.attempt('query_range', params, parseMatrixFast);
    }
    // Error answers and unrecognised bodies: the generic checks, from the bytes received.
    const text = Buffer.concat(held ?? []).toString('utf8');
    return this.attempt('query_range', params, parseMatrixFast, { status: response.status, text, started });
  }

  /** Retries retryable failures with exponential backoff and jitter. */
  private request(endpoint: Endpoint, params: Record<string, string>, fast?: (text: string) => unknown, expectedPoints?: number): Promise<unknown> {
    return retryWithBackoff(
      () => (expectedPoints !== undefined ? this.attemptStream(params, expectedPoints) : this.attempt(endpoint, params, fast)),
      {
        retries: this.options.retries,
        backoffSeconds: this.options.retryBackoffSeconds,
        jitter: true,
        random: this.random,
        retryable: (error) => error instanceof PrometheusError && error.retryable,
      },
    );
  }

  /** Instant query; the result must be a vector. */
  async query(promql: string, timeSeconds?: number): Promise<InstantSample[]> {
    const data = await this.request('query', {
      query: promql,
      ...(timeSeconds !== undefined ? { time: String(timeSeconds) } : {}),
      timeout: `${this.options.timeoutSeconds}s`,
    });
    const vector = data as Partial<VectorData>;
    if (vector.resultType !== 'vector' || !Array.isArray(vector.result)) {
      throw new PrometheusError(
        `query ${JSON.stringify(promql)} returned a ${String(vector.resultType)}, expected an instant vector (one series per entity)`,
        'client_error',
      );
    }
    return vector.result.map((sample) => ({
      metric: sample.metric,
      timestamp: sample.value[0],
      value: parseSampleValue(sample.value[1]),
    }));
  }

  /**
   * Range query in time chunks small enough for Prometheus's per-series limit and for
   * `maxPointsPerRequest / expectedSeries` points each; `onChunk` receives each chunk's series
   * (so that callers can copy them into their own arrays and let the chunk go).
   */
  async queryRangeChunks(
    promql: string,
    startSeconds: number,
    endSeconds: number,
    stepSeconds: number,
    expectedSeries: number,
    onChunk: (series: readonly RangeSeries[]) => void,
  ): Promise<void> {
    if (!(stepSeconds > 0)) throw new RangeError('step must be > 0');
    const total = Math.floor((endSeconds - startSeconds) / stepSeconds + 1e-9) + 1;
    if (total < 1) return;
    const byBudget = Math.floor(this.options.maxPointsPerRequest / Math.max(1, expectedSeries));
    const perChunk = Math.max(1, Math.min(MAX_POINTS_PER_SERIES, byBudget));
    for (let first = 0; first < total; first += perChunk) {
      const count = Math.min(perChunk, total - first);
      const chunkStart = startSeconds + first * stepSeconds;
      const chunkEnd = chunkStart + (count - 1) * stepSeconds;
      // The scanner's typed arrays when the answer has Prometheus's usual layout, else the generic path.
      const data = await this.request(
        'query_range',
        {
          query: promql,
          start: String(chunkStart),
          end: String(chunkEnd),
          step: String(stepSeconds),
          timeout: `${this.options.timeoutSeconds}s`,
        },
        parseMatrixFast,
        count,
      );
      if (Array.isArray(data)) {
        onChunk(data as RangeSeries[]);
        continue;
      }
      const matrix = data as Partial<MatrixData>;
      if (matrix.resultType !== 'matrix' || !Array.isArray(matrix.result)) {
        throw new PrometheusError(`query_range ${JSON.stringify(promql)} returned a ${String(matrix.resultType)}, expected a matrix`, 'client_error');
      }
      onChunk(
        matrix.result.map((series) => {
          // A native-histogram series has `histograms` and no float `values`: no feature value to read.
          const points = Array.isArray(series.values) ? series.values : [];
          const n = points.length;
          const timestamps = new Float64Array(n);
          const values = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            const point = points[i] as [number, string];
            timestamps[i] = point[0];
            values[i] = parseSampleValue(point[1]);
          }
          return { metric: series.metric, timestamps, values };
        }),
      );
    }
  }

  /** Range query, chunks merged per series (in first-seen order). */
  async queryRange(promql: string, startSeconds: number, endSeconds: number, stepSeconds: number, expectedSeries = 1): Promise<RangeSeries[]> {
    const merged = new Map<string, { metric: Labels; parts: RangeSeries[] }>();
    await this.queryRangeChunks(promql, startSeconds, endSeconds, stepSeconds, expectedSeries, (chunk) => {
      for (const series of chunk) {
        const key = JSON.stringify(Object.entries(series.metric).sort(([a], [b]) => (a < b ? -1 : 1)));
        const entry = merged.get(key) ?? { metric: series.metric, parts: [] };
        entry.parts.push(series);
        merged.set(key, entry);
      }
    });
    return [...merged.values()].map(({ metric, parts }) => {
      const n = parts.reduce((sum, part) => sum + part.values.length, 0);
      const timestamps = new Float64Array(n);
      const values = new Float64Array(n);
      let offset = 0;
      for (const part of parts) {
        timestamps.set(part.timestamps, offset);
        values.set(part.values, offset);
        offset += part.values.length;
      }
      return { metric, timestamps, values };
    });
  }
}
