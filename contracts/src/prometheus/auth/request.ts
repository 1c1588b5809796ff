// What an authorizer sees of a request to Prometheus, and what it gives back: the headers to add.

/** One HTTP request as it will be sent: `url` absolute with its query string, `body` exactly the bytes sent. */
export interface OutgoingRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string | undefined;
}

/** A missing or unusable credential: names the config key, what was tried, and what to set. */
export class PrometheusCredentialsError extends Error {
  constructor(
    /** The config key, e.g. prometheus.auth.sigv4. */
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${key}: ${message}`, options);
    this.name = 'PrometheusCredentialsError';
  }
}

/** Adds authentication to requests to Prometheus: headers per request, and a start-up check of the credential. */
export interface PrometheusAuthorizer {
  /** bearerTokenFile, basic, sigv4 or azure. */
  readonly kind: string;
  /** The headers to add to `request` (Authorization and, for SigV4, X-Amz-Date and X-Amz-Security-Token). */
  headers(request: OutgoingRequest): Promise<Record<string, string>>;
  /**
   * Resolves the credential now (files read, AWS credentials found, an Entra token obtained): a
   * PrometheusCredentialsError naming what was tried and what to set when there is none.
   */
  check(): Promise<void>;
}
