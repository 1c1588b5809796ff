// Starts the whole loop on 127.0.0.1 with free ports: the demo workload (with its load), real Prometheus and
// Alertmanager (@selfheal/stack), the anomaly exporter and the healing service (the `selfheal` CLI, as users
// run them). stop() ends every process it started.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManagedProcess, freePort, startStack, waitFor, type Stack } from '@selfheal/stack';
import type { AdminEvent } from '../workload/admin-api.js';
import type { Ramp } from '../workload/load-generator.js';
import type { ServiceSpec } from '../workload/spec.js';
import { startWorkload, type Workload } from '../workload/workload.js';
import { CONFIG_DIR, exporterConfig, policyConfig } from './configs.js';

export const REPO_ROOT = resolve(CONFIG_DIR, '..', '..');
/** The `selfheal` entry the loop runs the exporter and the healing service with (SELFHEAL_CLI overrides it). */
export const CLI_BIN = process.env.SELFHEAL_CLI ?? join(REPO_ROOT, 'cli', 'bin', 'selfheal.js');

export interface ClosedLoopOptions {
  services?: readonly ServiceSpec[];
  /** How long the load generator runs at most (it stops by itself). */
  loadDurationMs: number;
  ramps?: readonly Ramp[];
  /**
   * `for:` of the shipped alert rules (time compression); default 0s: at a 1 s scrape the demo's detector already
   * asks for persistence (3-sample smoothing, episodes that hold while abnormal), and a `for:` on top only adds
   * its own length to every detection. Production keeps the shipped `for: 1m` (exporter/src/detector/README.md).
   */
  alertFor?: string;
  detector?: Record<string, unknown>;
  guardrails?: Record<string, unknown>;
  verify?: Record<string, unknown>;
  alertmanager?: { groupWait?: string; groupInterval?: string; repeatInterval?: string };
  /** Start the exporter only after this many ms of normal load (it backfills its models from Prometheus). */
  exporterDelayMs?: number;
  /** Called while starting, for a progress display. */
  onProgress?(message: string): void;
  echoLogs?: boolean;
  /** Keep the work directory (configs, logs, databases) after stop(). */
  keepWorkDir?: boolean;
}

export interface ClosedLoop {
  workload: Workload;
  stack: Stack;
  exporterUrl: string;
  webhookUrl: string;
  webhookToken: string;
  workDir: string;
  /** Every admin call the workload received (the healing service's actions, the demo's injections). */
  adminEvents: AdminEvent[];
  exporter: ManagedProcess;
  webhook: ManagedProcess;
  stop(): Promise<void>;
}

async function httpOk(url: string, token?: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function waitService(child: ManagedProcess, url: string, what: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (!child.running) throw new Error(`${what} exited during start-up:\n${child.logTail()}`);
      return httpOk(url);
    },
    { what: `${what} at ${url}`, timeoutMs, intervalMs: 200 },
  );
}

export async function startClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoop> {
  const progress = options.onProgress ?? (() => undefined);
  const workDir = mkdtempSync(join(tmpdir(), 'selfheal-demo-'));
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const adminEvents: AdminEvent[] = [];
    progress('starting the demo workload');
    const workload = await startWorkload({
      ...(options.services ? { services: options.services } : {}),
      onAdminAction: (event) => adminEvents.push(event),
    });
    cleanups.push(() => workload.stop());
    workload.startLoad(options.loadDurationMs, options.ramps);

    const [exporterPort, webhookPort] = [await freePort(), await freePort()];
    const exporterUrl = `http://127.0.0.1:${exporterPort}`;
    const webhookUrl = `http://127.0.0.1:${webhookPort}`;
    const webhookToken = randomBytes(24).toString('hex');
    const tokenFile = join(workDir, 'webhook-token');
    writeFileSync(tokenFile, webhookToken, { mode: 0o600 });

    progress('starting Prometheus and Alertmanager');
    const stack = await startStack({
      scrapeTargets: {
        demo: [workload.address],
        'selfheal-exporter': [`127.0.0.1:${exporterPort}`],
        'selfheal-webhook': [`127.0.0.1:${webhookPort}`],
      },
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      alertFor: options.alertFor ?? '0s',
      webhook: { url: `${webhookUrl}/api/v1/alerts`, token: webhookToken },
      alertmanager: { groupWait: '0s', groupInterval: '1s', repeatInterval: '1h', ...options.alertmanager },
      ...(options.echoLogs ? { echoLogs: true } : {}),
    });
    cleanups.push(() => stack.stop());

    const exporterFile = join(workDir, 'exporter.yml');
    writeFileSync(
      exporterFile,
      exporterConfig({
        prometheusUrl: stack.prometheusUrl,
        listen: `127.0.0.1:${exporterPort}`,
        stateDir: join(workDir, 'exporter-state'),
        ...(options.detector ? { detector: options.detector } : {}),
      }),
    );
    const policyFile = join(workDir, 'policy.yml');
    writeFileSync(
      policyFile,
      policyConfig({
        workloadUrl: workload.url,
        prometheusUrl: stack.prometheusUrl,
        listen: `127.0.0.1:${webhookPort}`,
        tokenFile,
        storePath: join(workDir, 'webhook.db'),
        ...(options.guardrails ? { guardrails: options.guardrails } : {}),
        ...(options.verify ? { verify: options.verify } : {}),
      }),
    );

    progress('starting the healing service');
    const webhook = new ManagedProcess({
      name: 'selfheal-webhook',
      command: process.execPath,
      args: [CLI_BIN, 'webhook', '--config', policyFile],
      logFile: join(workDir, 'webhook.log'),
      cwd: workDir,
      echo: options.echoLogs ?? false,
    });
    cleanups.push(async () => void (await webhook.stop()));
    await waitService(webhook, `${webhookUrl}/-/ready`, 'the healing service', 30_000);

    if (options.exporterDelayMs) {
      const until = Date.now() + options.exporterDelayMs;
      while (Date.now() < until) {
        progress(`normal load for ${Math.ceil((until - Date.now()) / 1000)} s more before the exporter starts`);
        await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      }
    }
    progress('starting the anomaly exporter');
    const exporter = new ManagedProcess({
      name: 'selfheal-exporter',
      command: process.execPath,
      args: [CLI_BIN, 'exporter', '--config', exporterFile],
      logFile: join(workDir, 'exporter.log'),
      cwd: workDir,
      echo: options.echoLogs ?? false,
    });
    cleanups.push(async () => void (await exporter.stop()));
    await waitService(exporter, `${exporterUrl}/-/ready`, 'the anomaly exporter', 60_000);

    return {
      workload,
      stack,
      exporterUrl,
      webhookUrl,
      webhookToken,
      workDir,
      adminEvents,
      exporter,
      webhook,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
