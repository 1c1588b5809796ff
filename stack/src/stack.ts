// Starts the real Prometheus and Alertmanager (Debian binaries) on 127.0.0.1 with free ports, temporary data
// dirs and configs generated from the shipped ones; stops every process it started.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PrometheusClient } from '@selfheal/contracts';
import { isReady } from './api.js';
import { BINARIES, requireBinary } from './binaries.js';
import { alertmanagerConfig, prometheusConfig, ruleFileWithFor, shippedRuleFiles } from './config.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface StackOptions {
  /** job_name -> host:port targets; shipped jobs not named are dropped ("prometheus" scrapes itself). */
  scrapeTargets?: Record<string, readonly string[]>;
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Load the shipped rules from prometheus/rules (default true). */
  includeShippedRules?: boolean;
  /** Replace `for:` of every shipped alerting rule (time compression for tests and the demo). */
  alertFor?: string;
  /** More rule files (absolute paths). */
  ruleFiles?: readonly string[];
  /** Start Alertmanager too (default true). */
  withAlertmanager?: boolean;
  /** Where Alertmanager delivers SelfhealAnomaly alerts, and the bearer token it sends. */
  webhook?: { url: string; token?: string };
  alertmanager?: { groupWait?: string; groupInterval?: string; repeatInterval?: string };
  /** Use this TSDB directory (e.g. pre-seeded blocks) instead of a fresh temporary one; it is not deleted. */
  prometheusDataDir?: string;
  /** Extra Prometheus flags, e.g. ['--storage.tsdb.retention.time=30d']. */
  prometheusArgs?: readonly string[];
  /** Echo the servers' logs to stderr. */
  echoLogs?: boolean;
  /** Keep the temporary directory (configs, data, logs) after stop(). */
  keepWorkDir?: boolean;
}

export interface Stack {
  readonly prometheusUrl: string;
  /** Prometheus's HTTP API (queries, alerts, targets). */
  readonly prometheusClient: PrometheusClient;
  /** Undefined when started without Alertmanager. */
  readonly alertmanagerUrl: string | undefined;
  /** Temporary directory with configs, data and logs. */
  readonly workDir: string;
  readonly prometheus: ManagedProcess;
  readonly alertmanager: ManagedProcess | undefined;
  /** Resolves when every target of these jobs (default: all) is up. */
  waitForTargetsUp(jobs?: readonly string[], timeoutMs?: number): Promise<void>;
  /** Stops Prometheus only (for outage tests); startPrometheus() brings it back on the same port and data. */
  stopPrometheus(): Promise<void>;
  startPrometheus(): Promise<void>;
  /** Re-reads the generated configuration (POST /-/reload). */
  reloadPrometheus(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

async function waitReady(child: ManagedProcess, url: string, name: string): Promise<void> {
  const outcome = await waitFor(async () => (!child.running ? 'exited' : (await isReady(url)) && 'ready'), {
    what: `${name} at ${url} to be ready`,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 50,
  }).catch((error: unknown) => {
    const tail = child.logTail();
    throw new Error(`${(error as Error).message}${tail ? `\n${name} log:\n${tail}` : ''}`);
  });
  if (outcome === 'exited') {
    // Give the log stream a moment to flush the child's last words.
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw new Error(`${name} exited during start-up:\n${child.logTail()}`);
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const prometheusBin = requireBinary(BINARIES.prometheus);
  const withAlertmanager = options.withAlertmanager ?? true;
  const alertmanagerBin = withAlertmanager ? requireBinary(BINARIES.alertmanager) : undefined;

  const workDir = mkdtempSync(join(tmpdir(), 'selfheal-stack-'));
  const started: ManagedProcess[] = [];
  try {
    const promPort = await freePort();
    const prometheusUrl = `http://127.0.0.1:${promPort}`;

    let alertmanager: ManagedProcess | undefined;
    let alertmanagerUrl: string | undefined;
    if (alertmanagerBin) {
      const amPort = await freePort();
      alertmanagerUrl = `http://127.0.0.1:${amPort}`;
      let tokenFile: string | undefined;
      if (options.webhook?.token !== undefined) {
        tokenFile = join(workDir, 'webhook-token');
        writeFileSync(tokenFile, options.webhook.token, { mode: 0o600 });
      }
      const amConfigFile = join(workDir, 'alertmanager.yml');
      writeFileSync(
        amConfigFile,
        alertmanagerConfig({
          ...(options.webhook?.url ? { webhookUrl: options.webhook.url } : {}),
          ...(tokenFile ? { tokenFile } : {}),
          groupWait: options.alertmanager?.groupWait ?? '0s',
          groupInterval: options.alertmanager?.groupInterval ?? '1s',
          repeatInterval: options.alertmanager?.repeatInterval ?? '1h',
        }),
      );
      const amData = join(workDir, 'alertmanager-data');
      mkdirSync(amData);
      alertmanager = new ManagedProcess({
        name: 'alertmanager',
        command: alertmanagerBin,
        args: [
          `--config.file=${amConfigFile}`,
          `--storage.path=${amData}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          `--web.external-url=${alertmanagerUrl}`,
          // Without this Alertmanager binds every interface for HA gossip.
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        logFile: join(workDir, 'alertmanager.log'),
        echo: options.echoLogs ?? false,
      });
      started.push(alertmanager);
    }

    const ruleDir = join(workDir, 'rules');
    mkdirSync(ruleDir);
    const ruleFiles: string[] = [];
    if (options.includeShippedRules ?? true) {
      for (const file of shippedRuleFiles()) {
        if (options.alertFor === undefined) {
          ruleFiles.push(file);
        } else {
          const copy = join(ruleDir, basename(file));
          writeFileSync(copy, ruleFileWithFor(file, options.alertFor));
          ruleFiles.push(copy);
        }
      }
    }
    ruleFiles.push(...(options.ruleFiles ?? []));

    const promConfigFile = join(workDir, 'prometheus.yml');
    writeFileSync(
      promConfigFile,
      prometheusConfig({
        prometheusAddress: `127.0.0.1:${promPort}`,
        ...(alertmanagerUrl ? { alertmanagerAddress: alertmanagerUrl.replace('http://', '') } : {}),
        scrapeInterval: options.scrapeInterval ?? '1s',
        evaluationInterval: options.evaluationInterval ?? '1s',
        scrapeTargets: options.scrapeTargets ?? {},
        ruleFiles,
      }),
    );
    const promData = options.prometheusDataDir ?? join(workDir, 'prometheus-data');
    const startPrometheusProcess = (): ManagedProcess => {
      const child = new ManagedProcess({
        name: 'prometheus',
        command: prometheusBin,
        args: [
          `--config.file=${promConfigFile}`,
          `--storage.tsdb.path=${promData}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          `--web.external-url=${prometheusUrl}`,
          '--web.enable-lifecycle',
          '--log.level=warn',
          ...(options.prometheusArgs ?? []),
        ],
        logFile: join(workDir, 'prometheus.log'),
        echo: options.echoLogs ?? false,
      });
      started.push(child);
      return child;
    };
    let prometheus = startPrometheusProcess();

    await Promise.all([
      waitReady(prometheus, prometheusUrl, 'prometheus'),
      alertmanager && alertmanagerUrl ? waitReady(alertmanager, alertmanagerUrl, 'alertmanager') : undefined,
    ]);

    const prometheusClient = new PrometheusClient(prometheusUrl);
    const stack: Stack = {
      prometheusUrl,
      prometheusClient,
      alertmanagerUrl,
      workDir,
      get prometheus() {
        return prometheus;
      },
      alertmanager,
      async waitForTargetsUp(jobs, timeoutMs = 30_000) {
        await waitFor(
          async () => {
            const targets = (await prometheusClient.targets()).filter((t) => !jobs || jobs.includes(t.labels.job ?? ''));
            const wanted = jobs ?? [...new Set(targets.map((t) => t.labels.job ?? ''))];
            const allJobsPresent = wanted.every((job) => targets.some((t) => t.labels.job === job));
            return allJobsPresent && targets.length > 0 && targets.every((t) => t.health === 'up');
          },
          { what: `scrape targets ${jobs ? jobs.join(', ') : '(all)'} to be up`, timeoutMs, intervalMs: 100 },
        );
      },
      async stopPrometheus() {
        await prometheus.stop();
      },
      async startPrometheus() {
        if (prometheus.running) return;
        prometheus = startPrometheusProcess();
        await waitReady(prometheus, prometheusUrl, 'prometheus');
      },
      async reloadPrometheus() {
        const response = await fetch(`${prometheusUrl}/-/reload`, { method: 'POST' });
        if (!response.ok) throw new Error(`prometheus reload failed: HTTP ${response.status} ${await response.text()}`);
      },
      async stop() {
        await Promise.all(started.map((p) => p.stop()));
        if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}
