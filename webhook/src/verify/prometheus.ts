// What verification and the preconditions ask Prometheus, through the contracts' one client: the samples of an
// instant query, and whether a condition holds. Failures read as they always have in the audit log.
import { createPrometheusAuthorizer, PrometheusClient, PrometheusError, type PrometheusAuth, type PrometheusAuthorizerOptions, type PromSample } from '@selfheal/contracts';

export type { PromSample };

export class PrometheusQueries {
  private readonly client: PrometheusClient;

  constructor(readonly baseUrl: string, timeoutSeconds = 5, auth?: PrometheusAuth, authOptions?: PrometheusAuthorizerOptions) {
    this.client = new PrometheusClient(baseUrl, { timeoutMs: timeoutSeconds * 1000, queryMethod: 'GET', authorizer: createPrometheusAuthorizer(auth, authOptions) });
  }

  /** Resolves the credential of `prometheus.auth` now (start-up): an error naming what to set when there is none. */
  checkCredentials(): Promise<void> {
    return this.client.checkAuth();
  }

  /**
   * Runs an instant query (at `time`, seconds since the epoch; default now); returns the vector (a scalar becomes one
   * sample). Throws with Prometheus's error text.
   */
  async query(promql: string, signal?: AbortSignal, time?: number): Promise<PromSample[]> {
    const result = await this.instant(promql, signal, time);
    return result.resultType === 'vector' ? result.samples : [{ metric: {}, value: result.value, timestamp: result.timestamp }];
  }

  /** True when the condition query returns at least one sample (PromQL comparisons filter); a scalar holds when non-zero. */
  async holds(promql: string, signal?: AbortSignal): Promise<boolean> {
    const result = await this.instant(promql, signal);
    return result.resultType === 'scalar' ? result.value !== 0 : result.samples.length > 0;
  }

  /** The names of Prometheus's external labels (on the alerts it sends, never on its stored series). */
  async externalLabelNames(signal?: AbortSignal): Promise<string[]> {
    return this.client.externalLabelNames(signal);
  }

  private async instant(promql: string, signal?: AbortSignal, time?: number) {
    try {
      return await this.client.instant(promql, { signal, time });
    } catch (error) {
      // Prometheus's own answer (e.g. a parse error) is what a person needs in the audit reason.
      if (error instanceof PrometheusError && error.status !== undefined && error.prometheusError !== undefined) {
        throw new Error(`Prometheus query failed (HTTP ${error.status}): ${error.prometheusError}`);
      }
      throw error;
    }
  }
}
