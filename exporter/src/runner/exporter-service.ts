// The exporter service: groups scored on their schedules, models saved and restored, metrics served from
// memory, config reloads that keep the old configuration when the new one is invalid.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { parseListenAddress } from '@selfheal/contracts';
import { LISTEN_OPTIONS, type ExporterConfig, type GroupConfig, type PrometheusConfig } from '../config/schema.js';
import { createApp } from '../http/app.js';
import { ExporterMetrics, ScoreMetrics, exposition } from '../metrics/registry.js';
import { PrometheusClient } from '../source/client.js';
import { formatShard, sameShard } from '../shard/shard.js';
import type { DetectorFactory, DetectorScheduleSettings } from '../detector/factory.js';
import type { EntityReport } from '../http/types.js';
import { GroupRunner } from './group-runner.js';
import type { CycleResult } from './types.js';

export interface ExporterServiceOptions<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  config: ExporterConfig<O>;
  factory: DetectorFactory<O>;
  logger?: Logger;
  /** Wall clock in seconds (tests). */
  now?: () => number;
  /** Collect Node.js process metrics (default true). */
  processMetrics?: boolean;
  /** Progress of long training / catch-up cycles (e.g. a progress bar). */
  onProgress?: (group: string, done: number, total: number) => void;
}

export function prometheusClient(config: PrometheusConfig, metrics: ExporterMetrics): PrometheusClient {
  return new PrometheusClient({
    url: config.url,
    timeoutSeconds: config.timeout,
    retries: config.retries,
    retryBackoffSeconds: config.retryBackoff,
    acceptEncoding: config.acceptEncoding,
    maxPointsPerRequest: config.maxPointsPerRequest,
    headers: config.headers,
    auth: config.auth,
    tls: config.tls,
    onRequest: metrics.onPrometheusRequest,
  });
}

export class ExporterService<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  private config: ExporterConfig<O>;
  private client: PrometheusClient;
  private runners: GroupRunner<O>[] = [];
  private scoreMetrics: ScoreMetrics | undefined;
  private readonly timers = new Map<GroupRunner<O>, NodeJS.Timeout>();
  private saveTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private started = false;
  private stopping = false;

  constructor(private readonly options: ExporterServiceOptions<O>) {
    this.config = options.config;
    this.logger = options.logger ?? pino({ level: options.config.logLevel });
    this.metrics = new ExporterMetrics({ processMetrics: options.processMetrics ?? true });
    this.client = prometheusClient(this.config.prometheus, this.metrics);
    this.runners = this.config.groups.map((group) => this.newRunner(group));
    this.scoreMetrics = this.newScoreMetrics();
    this.metrics.configReloadSuccessful.set(1);
    this.metrics.configReloadTimestamp.set(Date.now() / 1000);
    this.metrics.setShard(this.config.shard);
    this.metrics.setShardPushdown(this.runners.flatMap((runner) => runner.pushdownStates()));
  }

  get currentConfig(): ExporterConfig<O> {
    return this.config;
  }

  /** Ready when every group has completed a cycle. */
  get ready(): boolean {
    return this.runners.length > 0 && this.runners.every((runner) => runner.hasCompletedCycle);
  }

  get groups(): readonly GroupRunner<O>[] {
    return this.runners;
  }

  private newRunner(group: GroupConfig<O>): GroupRunner<O> {
    return new GroupRunner(group, {
      client: this.client,
      factory: this.options.factory,
      metrics: this.metrics,
      logger: this.logger,
      stateDir: this.config.stateDir,
      shard: this.config.shard,
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(this.options.onProgress ? { onProgress: this.options.onProgress } : {}),
    });
  }

  private newScoreMetrics(): ScoreMetrics {
    return new ScoreMetrics(() => this.runners.map((runner) => runner.snapshot()));
  }

  /** The text of GET /metrics. */
  metricsText(): Promise<string> {
    return exposition(this.metrics, this.scoreMetrics);
  }

  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  entities(group?: string): EntityReport[] {
    return this.runners.filter((runner) => group === undefined || runner.name === group).flatMap((runner) => runner.report());
  }

  /** Runs one cycle of every group now (used by the scheduler's first tick, tests and the benchmark). */
  runCycles(): Promise<CycleResult[]> {
    return Promise.all(this.runners.map((runner) => runner.runCycle()));
  }

  /** Restores models, serves HTTP, starts the schedules. Resolves with the listening URL. */
  async start(): Promise<string> {
    if (this.started) throw new Error('already started');
    // A missing credential (prometheus.auth: sigv4, azure, token files) is named now, not as a failed first cycle.
    await this.client.checkAuth();
    this.started = true;
    // Listen first: /-/healthy answers while a large state is being restored (/-/ready waits for a cycle).
    const url = await this.listen();
    await Promise.all(this.runners.map((runner) => runner.restore()));
    for (const runner of this.runners) this.schedule(runner, 0);
    if (this.config.stateDir) {
      this.saveTimer = setInterval(() => void this.saveAll(), this.config.saveEvery * 1000);
    }
    this.logger.info(
      { url, groups: this.runners.map((r) => r.name), prometheus: this.config.prometheus.url, shard: formatShard(this.config.shard) },
      'selfheal exporter started',
    );
    return url;
  }

  private listen(): Promise<string> {
    const { host, port } = parseListenAddress(this.config.listen, LISTEN_OPTIONS);
    const app = createApp(this);
    return new Promise((resolve, reject) => {
      const server = app.listen(port, host, (error?: Error) => {
        if (error) {
          reject(new Error(`cannot listen on ${this.config.listen}: ${error.message}`));
          return;
        }
        const address = server.address() as AddressInfo;
        const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shownHost}:${address.port}`);
      });
      server.once('error', (error) => reject(new Error(`cannot listen on ${this.config.listen}: ${error.message}`)));
      this.server = server;
    });
  }

  /** Next run at the next multiple of the interval (wall clock), so that cycles do not drift. */
  private schedule(runner: GroupRunner<O>, delayMs?: number): void {
    if (this.stopping) return;
    const intervalMs = runner.config.schedule.interval * 1000;
    const delay = delayMs ?? intervalMs - (Date.now() % intervalMs) + 5;
    const timer = setTimeout(() => {
      void runner.runCycle().finally(() => {
        if (this.runners.includes(runner)) this.schedule(runner);
      });
    }, delay);
    this.timers.set(runner, timer);
  }

  async saveAll(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.save()));
  }

  /**
   * Applies a validated configuration. Groups whose entities, features, detector settings and step are
   * unchanged keep their models in memory; others start from their saved state (if it matches) or train.
   */
  async reload(next: ExporterConfig<O>): Promise<void> {
    // The new credential first: when it is missing, the old configuration stays (reloadRejected).
    const client = prometheusClient(next.prometheus, this.metrics);
    await client.checkAuth();
    if (next.listen !== this.config.listen) this.logger.warn({ listen: this.config.listen }, 'listen address changes take effect after a restart');
    const previous = this.runners;
    for (const runner of previous) {
      clearTimeout(this.timers.get(runner));
      this.timers.delete(runner);
    }
    // Let cycles in flight finish before their entities change hands.
    await Promise.all(previous.map((runner) => runner.idle()));
    const shardChanged = !sameShard(this.config.shard, next.shard);
    if (shardChanged) this.logger.warn({ from: formatShard(this.config.shard), to: formatShard(next.shard) }, 'shard changed: models are re-partitioned');
    this.config = { ...next, listen: this.config.listen };
    this.client = client;
    const runners: GroupRunner<O>[] = [];
    for (const group of this.config.groups) {
      const runner = this.newRunner(group);
      // A changed shard goes through save and restore, which re-partitions the models.
      const old = shardChanged ? undefined : previous.find((r) => r.name === group.name && r.fingerprint === runner.fingerprint);
      if (old) runner.adopt(old);
      else {
        const before = previous.find((r) => r.name === group.name);
        if (before) await before.save();
        await runner.restore();
      }
      runners.push(runner);
    }
    this.runners = runners;
    this.scoreMetrics = this.newScoreMetrics();
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.saveTimer = this.config.stateDir ? setInterval(() => void this.saveAll(), this.config.saveEvery * 1000) : undefined;
    if (this.started) for (const runner of runners) this.schedule(runner, 0);
    this.metrics.configReloadSuccessful.set(1);
    this.metrics.configReloadTimestamp.set(Date.now() / 1000);
    this.metrics.setShard(this.config.shard);
    this.metrics.setShardPushdown(this.runners.flatMap((runner) => runner.pushdownStates()));
    this.logger.info({ groups: runners.map((r) => r.name) }, 'configuration reloaded');
  }

  /** Records a rejected reload (the old configuration stays). */
  reloadRejected(error: Error): void {
    this.metrics.configReloadSuccessful.set(0);
    this.logger.error({ error: error.message }, 'configuration reload rejected; keeping the running configuration');
  }

  /** Stops the schedules and the server, waits for cycles in flight, saves the models. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.saveTimer) clearInterval(this.saveTimer);
    await Promise.all(this.runners.map((runner) => runner.idle()));
    await this.saveAll();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.logger.info('selfheal exporter stopped');
  }
}
