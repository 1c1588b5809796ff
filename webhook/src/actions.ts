// The fixed vocabulary shared with the rules, the panel and the docs (docs/contracts.md).
export const ACTIONS = ['scale_up', 'quarantine', 'restart', 'enable_cache', 'open_circuit_breaker'] as const;
export type ActionName = (typeof ACTIONS)[number];

export const OUTCOMES = ['succeeded', 'failed', 'dry_run', 'skipped'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Default action by the feature that drove the anomaly (prefix match), overridable in the policy. */
export const DEFAULT_FEATURE_ACTIONS: ReadonlyArray<readonly [prefix: string, action: ActionName]> = [
  ['cpu', 'scale_up'],
  ['mem', 'restart'],
  ['latency', 'enable_cache'],
  ['error', 'open_circuit_breaker'],
  ['instance', 'quarantine'],
  ['outlier', 'quarantine'],
];
