// The supervisor's handle on one instance child process: start, IPC (settings, faults, metrics), graceful stop.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type {
  InstanceFaults,
  InstanceMessage,
  InstanceSettings,
  InstanceStartConfig,
  SupervisorMessage,
} from '../instance/protocol.js';

// Under vitest/tsx this module is TypeScript source: run the child from source through tsx as well.
const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
const ENTRY = join(dirname(here), '..', 'instance', fromSource ? 'main.ts' : 'main.js');
// Small heaps: an instance needs little, and a demo runs a dozen of them on a laptop.
const EXEC_ARGV = [...(fromSource ? ['--import', 'tsx'] : []), '--max-semi-space-size=2', '--max-old-space-size=96'];

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Children also exit on IPC disconnect; this covers a parent that dies without closing the channel.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export class InstanceProcess {
  readonly service: string;
  readonly instance: string;
  port = 0;
  /** Requests the load balancer has sent and not yet seen answered. */
  inFlight = 0;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private nextRequestId = 1;
  private readonly pending = new Map<number, (metrics: MetricsJson) => void>();
  private exitedFlag = false;

  private constructor(config: InstanceStartConfig) {
    installExitHook();
    this.service = config.service;
    this.instance = config.instance;
    this.child = fork(ENTRY, [], {
      execArgv: EXEC_ARGV,
      env: { ...process.env, SELFHEAL_DEMO_INSTANCE: JSON.stringify(config) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exitedFlag = true;
        live.delete(this.child);
        resolve();
      });
    });
    this.child.on('message', (message: InstanceMessage) => {
      if (message.type === 'metrics') {
        this.pending.get(message.requestId)?.(message.metrics);
        this.pending.delete(message.requestId);
      }
    });
  }

  /** Forks the child and resolves once it listens. */
  static async start(config: InstanceStartConfig, timeoutMs = 45_000): Promise<InstanceProcess> {
    const handle = new InstanceProcess(config);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        handle.child.kill('SIGKILL');
        reject(new Error(`instance ${config.instance} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      handle.child.on('message', (message: InstanceMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          handle.port = message.port;
          resolve();
        }
      });
      handle.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`instance ${config.instance} exited during start-up (code ${code}, signal ${signal})`));
      });
    });
    return handle;
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(message: SupervisorMessage): void {
    if (this.running && this.child.connected) this.child.send(message);
  }

  setSettings(settings: InstanceSettings): void {
    this.send({ type: 'settings', settings });
  }

  setFaults(faults: InstanceFaults): void {
    this.send({ type: 'faults', faults });
  }

  /** The child's metrics as prom-client JSON, or undefined when it does not answer in time. */
  async metrics(timeoutMs = 1000): Promise<MetricsJson | undefined> {
    if (!this.running) return undefined;
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(requestId, (metrics) => {
        clearTimeout(timer);
        resolve(metrics);
      });
      this.send({ type: 'metrics', requestId });
    });
  }

  /** Graceful stop: the child closes its server; killed if it takes longer than graceMs. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
