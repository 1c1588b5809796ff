// The one error of an invalid config file: every problem at once, each naming the key (and, when known, the line).

/** A key inside a config file: ["groups", 0, "schedule", "interval"] is written groups[0].schedule.interval. */
export type KeyPath = readonly PropertyKey[];

export interface ConfigIssue {
  /** The key the problem is about; undefined for problems of the whole file (unreadable, YAML syntax). */
  path?: KeyPath;
  message: string;
  /** Where in the file (1-based), when the file was YAML and the key is in it. */
  line?: number;
  column?: number;
}

/** groups[0].schedule.interval; "(top level)" for the empty path. */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || '(top level)';
}

/** `file:line:column: key: message`; the location only when the issue has a line, the key only when it has a path. */
export function formatConfigIssue(issue: ConfigIssue, file = '<config>'): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}:${issue.column ?? 1}: ` : '';
  const key = issue.path !== undefined ? `${formatKeyPath(issue.path)}: ` : '';
  return `${where}${key}${issue.message}`;
}

export class ConfigError extends Error {
  /** Every problem, structured: the key path and the line of each when known. */
  readonly issues: readonly ConfigIssue[];
  /** Every problem as a line a person can act on (what `selfheal check-config` prints). */
  readonly problems: readonly string[];

  /**
   * `problems`: issues, or lines already worded (kept as they are). `kind` names the file in the message:
   * "invalid exporter config exporter.yml: ...".
   */
  constructor(
    readonly file: string,
    problems: readonly (ConfigIssue | string)[],
    readonly kind = 'config',
  ) {
    const issues = problems.map((p) => (typeof p === 'string' ? { message: p } : p));
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatConfigIssue(p, file)));
    super(`invalid ${kind} ${file}:\n${lines.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
    this.problems = lines;
  }

  /** The same lines as `problems` (the healing service's name for them). */
  get errors(): string[] {
    return [...this.problems];
  }
}
