// The healing service, composed: the store that remembers everything, the engine that acts on incidents, the
// receiver that records Alertmanager's notifications, the HTTP API in front, and the timers. Nothing is decided
// here; each part lives in its folder (audit/, engine/, receiver/, api/, actuators/, scheduling.ts).
import type { Server } from 'node:http';
import { ConfigError, type PrometheusAuthorizerOptions } from '@selfheal/contracts';
import type express from 'express';
import { pino, type Logger } from 'pino';
import { createActuators } from './actuators/registry.js';
import { createChangeSource } from './changes/index.js';
import type { Actuator } from './actuators/types.js';
import { createStore } from './audit/create.js';
import type { HealingStore } from './audit/sqlite-db.js';
import { SqliteStore } from './audit/sqlite-store.js';
import type { Store } from './audit/types.js';
import { checkConfigFiles } from './config/files.js';
import type { Config } from './config/schema.js';
import { HealingEngine } from './engine/engine.js';
import { GrafanaAnnotator } from './escalation/grafana.js';
import { Notifier } from './escalation/notify.js';
import { PauseSwitch } from './guardrails/pause.js';
import { HealingMetrics } from './metrics.js';
import { Policy } from './policy/policy.js';
import { makeAuthenticator } from './receiver/auth.js';
import { makeAcceptAlerts } from './receiver/accept.js';
import { IngestQueue } from './receiver/ingest-queue.js';
import { makeAcceptSns } from './receiver/sns/accept-sns.js';
import { AWS_SNS_ENDPOINTS, type TestOnlySnsEndpoints } from './receiver/sns/endpoints.js';
import { makeFastAlerts } from './api/fast-alerts.js';
import { createApiApp } from './api/http-app.js';
import { baseUrl, closeHttp, listenAddress, listenHttp } from './api/listen.js';
import { startLeases, startRetention, type Scheduled } from './scheduling.js';
import { parseByteSize } from './util/bytes.js';
import { systemClock, type Clock } from './util/clock.js';
import { learnExternalLabels } from './verify/external-labels.js';
import { PrometheusQueries } from './verify/prometheus.js';

export interface HealerOptions {
  logger?: Logger;
  /** Start paused (the `--paused` flag). */
  paused?: boolean;
  /** Replace actuators by name (tests inject a KubeConfig-bound Kubernetes actuator this way). */
  actuators?: Map<string, Actuator>;
  /** The config file's name, for error messages. */
  configFile?: string;
  /** Register Node's default process metrics (off in tests that start many instances). */
  defaultMetrics?: boolean;
  /** The engine's clock (cooldowns, rate windows, deferrals, verification); tests inject one they move. */
  clock?: Clock;
  /**
   * Tests only (there is no config key for it): where the SNS receiver may fetch signing certificates and confirm
   * subscriptions instead of Amazon SNS's hosts, e.g. a local HTTPS server and its certificate.
   */
  testOnlySnsEndpoints?: TestOnlySnsEndpoints;
  /** Credential sources of prometheus.auth's sigv4 / azure (tests; default: the AWS and Azure SDKs' chains). */
  prometheusAuth?: PrometheusAuthorizerOptions;
}

export interface Healer {
  app: express.Express;
  store: Store;
  /** The SQLite database underneath (tests, tools); undefined with PostgreSQL. */
  sqlite?: HealingStore;
  engine: HealingEngine;
  metrics: HealingMetrics;
  pause: PauseSwitch;
  logger: Logger;
  /** Listens on config.listen (or the given port); returns the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** The configured actuators by name (an override replaces the one of that name). */
export function buildActuators(config: Config, overrides?: Map<string, Actuator>): Map<string, Actuator> {
  return createActuators(config.actuators, overrides);
}

export function createHealer(config: Config, opts: HealerOptions = {}): Healer {
  const logger = opts.logger ?? pino({ name: 'selfheal-webhook' });
  // Every secret file and kubeconfig the config names must be there now, not when the first action runs.
  checkConfigFiles(config, opts.configFile);
  // In bytes: express's own parser reads some forms the config accepts (" 1mb") differently.
  const bodyLimit = parseByteSize(config.bodyLimit);
  if (bodyLimit === undefined) throw new ConfigError(opts.configFile ?? '<config>', [{ path: ['bodyLimit'], message: `${JSON.stringify(config.bodyLimit)} is not a size` }]);
  const authenticate = makeAuthenticator(config.auth);
  if (config.auth.type === 'none') {
    logger.warn('AUTHENTICATION IS OFF (auth: none): anyone who can reach this port can trigger remediation actions. Use it only on a trusted loopback.');
  }
  const clock = opts.clock ?? systemClock;
  let store: Store;
  try {
    store = createStore(config.store, logger, () => clock.now());
  } catch (err) {
    // SQLite opens its file here (PostgreSQL connects in listen()): say which key and which file.
    throw new Error(`store.path: cannot open the SQLite database ${config.store.path}: ${(err as Error).message}`, { cause: err });
  }
  const metrics = new HealingMetrics(store, { defaultMetrics: opts.defaultMetrics, now: () => clock.now(), efficacy: config.efficacy });
  const pause = new PauseSwitch(store, config.pauseFile, opts.paused);
  const prometheus = config.prometheus ? new PrometheusQueries(config.prometheus.url, config.prometheus.timeout, config.prometheus.auth, opts.prometheusAuth) : undefined;
  const notifier = config.escalation.notify ? new Notifier(config.escalation.notify) : undefined;
  const grafana = config.grafana ? new GrafanaAnnotator(config.grafana) : undefined;
  const actuators = buildActuators(config, opts.actuators);
  const changes = createChangeSource(config, actuators, prometheus);
  const engine = new HealingEngine({
    config, store, policy: new Policy(config), actuators, metrics, pause, logger, prometheus, changes, notifier, grafana, clock,
  });
  // SQLite: one writer, so one transaction at a time (batches grow under load). PostgreSQL: a commit waits
  // on the network and the server's WAL flush, so a few batches overlap.
  const queue = new IngestQueue(store, (alert, id) => engine.decideAtIngest(alert, id), 512, store.kind === 'postgres' ? 4 : 1);
  const acceptAlerts = makeAcceptAlerts(queue, engine, metrics, logger);
  const acceptSns = config.sns
    ? makeAcceptSns({ config: config.sns, endpoints: opts.testOnlySnsEndpoints ?? AWS_SNS_ENDPOINTS, acceptAlerts, metrics, logger, now: () => clock.now() })
    : undefined;
  if (opts.testOnlySnsEndpoints) logger.warn('SNS receiver: trusting the test-only endpoints given by the caller, not Amazon SNS');
  let ready = false;
  const app = createApiApp({
    auth: config.auth, authenticate, bodyLimit, bodyLimitText: config.bodyLimit, store, metrics, pause, logger, acceptAlerts, acceptSns, started: () => ready,
    now: () => clock.now(), onApprovalDecided: (id) => engine.onApprovalDecided(id), efficacy: config.efficacy,
  });
  const fast = makeFastAlerts({ bodyLimit, authenticate, acceptAlerts, metrics, logger });

  let server: Server | undefined;
  const timers: Scheduled[] = [];
  return {
    app, store, sqlite: store instanceof SqliteStore ? store.sqlite : undefined, engine, metrics, pause, logger,
    async listen(port?: number, host?: string) {
      // A missing credential of prometheus.auth (sigv4, azure, token files) is named before anything starts.
      await prometheus?.checkCredentials();
      // Schema and migrations first (PostgreSQL: waits for the server up to store.connectTimeout).
      await store.open();
      await metrics.restore();
      const configured = listenAddress(config.listen);
      server = await listenHttp(fast, app, host ?? configured.host, port ?? configured.port);
      timers.push(startRetention(store, config.store.retention, logger));
      if (prometheus) timers.push(learnExternalLabels(prometheus, config.verify.nonEntityLabels, logger));
      await store.heartbeat();
      const resumed = await engine.recover();
      if (resumed > 0) logger.info({ resumed }, 'resuming unfinished incidents after restart');
      if (store.kind === 'postgres') timers.push(startLeases(store, config.store.lease, () => engine.recover(), logger));
      ready = true;
      return baseUrl(server);
    },
    async close() {
      ready = false;
      for (const t of timers.splice(0)) t.stop();
      if (server) await closeHttp(server);
      await engine.stop();
      await store.close();
    },
  };
}
