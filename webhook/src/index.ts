// @selfheal/webhook: the healing service (Alertmanager webhook in, guarded remediation actions out). Its vocabulary
// (actions, outcomes, the Alertmanager payload) is @selfheal/contracts'.
export { systemClock, type Clock } from './util/clock.js';
export { checkWebhookConfig, loadConfig, parseConfig, parseConfigText } from './config/load.js';
export { configSchema, listenProblem, type Config } from './config/schema.js';
export { checkConfigFiles, configFileProblems } from './config/files.js';
export { createHealer, buildActuators, type Healer, type HealerOptions } from './app.js';
export { HealingEngine } from './engine/engine.js';
export { HealingStore } from './audit/sqlite-db.js';
export { redact as redactStoreUrl } from './audit/postgres-store.js';
export { Policy } from './policy/policy.js';
export { LazyKubernetesActuator } from './actuators/kubernetes/lazy.js';
export { HttpActuator } from './actuators/http/http-actuator.js';
export { ExecActuator } from './actuators/exec/exec-actuator.js';
export type { Actuator, ActionRequest, ActionResult } from './actuators/types.js';
export { replay, formatReplay, type ReplayLine } from './replay/files.js';
export { backtest, NoHistoryError, type BacktestOptions, type BacktestReport, type RuleSummary } from './replay/backtest.js';
export { formatBacktest } from './replay/format-backtest.js';
export { describeReadError } from './replay/alert-history.js';
export { SHIPPED_ROUTE, type RouteTiming } from './replay/occurrences.js';
