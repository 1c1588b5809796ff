export { startStack, type Stack, type StackOptions } from './stack.js';
export { freePort } from './ports.js';
export { waitFor, type WaitOptions } from './wait.js';
export { ManagedProcess, liveProcesses, stopAll, type ManagedProcessOptions, type ExitInfo } from './process.js';
export { BINARIES, MissingBinaryError, findBinary, requireBinary, type BinarySpec } from './binaries.js';
export { SHIPPED_DIR, alertmanagerConfig, prometheusConfig, ruleFileWithFor, shippedRuleFiles } from './config.js';
export { amAlerts, isReady, type AmAlert } from './api.js';
