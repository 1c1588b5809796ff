// The source's domain types: what the Prometheus client returns and the parsers build (series, samples,
// labels), and the bounded outcomes of its requests. Kept apart from the client so that the client and its
// parsers all import them and none imports another for a type.
export type Labels = Record<string, string>;

export interface InstantSample {
  metric: Labels;
  /** Seconds since the epoch. */
  timestamp: number;
  value: number;
}

/** One series of a range answer; timestamps in seconds, values as numbers (NaN, ±Inf kept). */
export interface RangeSeries {
  metric: Labels;
  timestamps: Float64Array;
  values: Float64Array;
}

/** Bounded set of request outcomes (the `outcome` label of selfheal_prometheus_requests_total). */
export type RequestOutcome =
  | 'success'
  | 'timeout'
  | 'connection_error'
  | 'server_error'
  | 'client_error'
  | 'invalid_response';

export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  'success',
  'timeout',
  'connection_error',
  'server_error',
  'client_error',
  'invalid_response',
];

export type Endpoint = 'query' | 'query_range';
