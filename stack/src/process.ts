// Child processes that the harness (tests, demo, benchmarks) starts, and the guarantee that every one of
// them is stopped: by stop(), when the parent exits, and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export interface ManagedProcessOptions {
  /** Short name used in messages, e.g. "prometheus". */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** File that receives the child's stdout and stderr (kept for diagnostics). */
  logFile?: string;
  /** Also echo the child's output to this process's stderr. */
  echo?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: synchronous kill of whatever is still running when this process exits.
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only take over the signal when nobody else handles it (a demo or test runner may have its own).
    process.once(signal, () => {
      for (const p of live) p.killNow();
      if (process.listenerCount(signal) === 0) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** A child process that is tracked by PID until it exits, and is stopped when its parent goes away. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string | undefined;
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private exitInfo: ExitInfo | undefined;
  private readonly log: WriteStream | undefined;

  constructor(options: ManagedProcessOptions) {
    installExitHooks();
    this.name = options.name;
    this.logFile = options.logFile;
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    this.child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.log?.write(chunk);
        if (options.echo) process.stderr.write(chunk);
      });
    }
    live.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        live.delete(this);
        this.log?.end();
        resolve(info);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      // Spawn failures (ENOENT, EACCES) are reported as an exit without a code.
      this.child.once('error', (error) => {
        this.log?.write(`spawn error: ${error.message}\n`);
        done({ code: null, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  async stop(graceMs = 5000): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal (e.g. SIGKILL to simulate a crash, SIGHUP to reload). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Synchronous SIGKILL, for exit hooks. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  /** The last lines of the log file, for error messages. */
  logTail(lines = 20): string {
    if (!this.logFile) return '';
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

/** Every managed process still running (for diagnostics and tests of the harness itself). */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

/** Stops every managed process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}
