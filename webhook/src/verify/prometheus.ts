// Instant queries against Prometheus's HTTP API (GET /api/v1/query), used by verification and preconditions.
import axios, { type AxiosInstance } from 'axios';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export class PrometheusClient {
  private readonly http: AxiosInstance;

  constructor(readonly baseUrl: string, timeoutSeconds = 5) {
    this.http = axios.create({ baseURL: baseUrl.replace(/\/$/, ''), timeout: timeoutSeconds * 1000, validateStatus: () => true });
  }

  /** Runs an instant query; returns the vector (a scalar becomes one sample). Throws with Prometheus's error text. */
  async query(promql: string, signal?: AbortSignal): Promise<PromSample[]> {
    const res = await this.http.get('/api/v1/query', { params: { query: promql }, signal });
    const body = res.data as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    if (res.status !== 200 || body?.status !== 'success' || !body.data) {
      throw new Error(`Prometheus query failed (HTTP ${res.status}): ${body?.error ?? 'unexpected response'}`);
    }
    const { resultType, result } = body.data;
    if (resultType === 'vector') return result as PromSample[];
    if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
    throw new Error(`Prometheus query returned a ${resultType}, expected an instant vector`);
  }

  /** True when the condition query returns at least one sample (PromQL comparisons filter); a scalar holds when non-zero. */
  async holds(promql: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.http.get('/api/v1/query', { params: { query: promql }, signal });
    const body = res.data as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    if (res.status !== 200 || body?.status !== 'success' || !body.data) {
      throw new Error(`Prometheus query failed (HTTP ${res.status}): ${body?.error ?? 'unexpected response'}`);
    }
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return Number((result as [number, string])[1]) !== 0;
    if (resultType === 'vector') return (result as unknown[]).length > 0;
    throw new Error(`Prometheus query returned a ${resultType}, expected an instant vector`);
  }
}
