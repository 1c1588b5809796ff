// Runs a configured program with an argv array (execFile, never a shell). Alert values reach it only through
// templates whose every substituted value must match `allowedValue` and may neither start with `-` (an option)
// nor hold a `..` segment (unless allowed), and through SELFHEAL_* variables.
import { execFile } from 'node:child_process';
import { render } from '../../util/template.js';
import type { ActionCall } from '../calls.js';
import { errorMessage, type ActionRequest, type ActionResult, type Actuator, type DescribeRequest } from '../types.js';
import type { ExecActuatorConfig, ExecCall } from './config.js';

type ExecRequest = DescribeRequest<ActionCall<ExecCall>>;

export class ExecActuator implements Actuator<ActionCall<ExecCall>> {
  readonly type = 'exec' as const;
  private readonly allowed: RegExp;

  constructor(private readonly config: ExecActuatorConfig) {
    this.allowed = new RegExp(`^(?:${config.allowedValue})$`);
  }

  /** Why `value` may not reach the program, or undefined when it may. */
  private refusal(value: string): string | undefined {
    if (!this.allowed.test(value)) return `does not match the allowed pattern ${this.config.allowedValue}`;
    if (!this.config.allowLeadingDash && value.startsWith('-')) return 'starts with "-" and would be read as an option (allowLeadingDash: false)';
    if (!this.config.allowDotDot && value.split(/[/\\]/).includes('..')) return 'holds a ".." path segment (allowDotDot: false)';
    return undefined;
  }

  private prepare(req: ExecRequest) {
    const call = req.params;
    const check = (value: string, ref: string): string => {
      const why = this.refusal(value);
      if (why) throw new Error(`the value of ${ref} (${JSON.stringify(value.slice(0, 80))}) ${why}`);
      return value;
    };
    const argv = call.argv.map((a) => render(a, req.vars, check));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      SELFHEAL_ACTION: req.action,
      SELFHEAL_TARGET: req.targetName,
      SELFHEAL_FINGERPRINT: req.vars.fingerprint,
    };
    for (const [k, v] of Object.entries(req.vars.labels)) if (this.refusal(v) === undefined) env[`SELFHEAL_LABEL_${k.toUpperCase()}`] = v;
    for (const [k, v] of Object.entries(call.env)) env[k] = render(v, req.vars, check);
    return { argv, env, cwd: call.cwd ?? this.config.cwd };
  }

  describe(req: ExecRequest): string {
    try {
      return `exec ${JSON.stringify(this.prepare(req).argv)}`;
    } catch (err) {
      return `cannot prepare the command: ${errorMessage(err)}`;
    }
  }

  execute(req: ActionRequest<ActionCall<ExecCall>>): Promise<ActionResult> {
    let prepared;
    try {
      prepared = this.prepare(req);
    } catch (err) {
      return Promise.resolve({ outcome: 'failed', reason: `refused: ${errorMessage(err)}` });
    }
    const { argv, env, cwd } = prepared;
    const [file, ...args] = argv as [string, ...string[]];
    const max = this.config.maxOutputBytes;
    return new Promise((resolve) => {
      const started = Date.now();
      execFile(file, args, { env, cwd, shell: false, timeout: this.config.timeout * 1000, killSignal: 'SIGTERM', maxBuffer: 16 * 1024 * 1024, signal: req.signal, windowsHide: true },
        (err, stdout, stderr) => {
          const detail = { argv, exitCode: err ? ((err as NodeJS.ErrnoException & { code?: unknown }).code ?? null) : 0, stdout: String(stdout).slice(0, max), stderr: String(stderr).slice(0, max), durationSeconds: (Date.now() - started) / 1000 };
          if (!err) return resolve({ outcome: 'succeeded', reason: `${file} exited 0`, detail });
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          const why = e.killed ? `timed out after ${this.config.timeout}s` : typeof e.code === 'number' ? `exited ${e.code}` : e.signal ? `killed by ${e.signal}` : errorMessage(err);
          resolve({ outcome: 'failed', reason: `${file} ${why}`, detail });
        });
    });
  }
}
