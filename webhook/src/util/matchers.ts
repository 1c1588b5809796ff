// Alertmanager-style label matchers (`service = checkout`, `feature =~ "cpu.*"`), anchored like Alertmanager's.
export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  regex?: RegExp;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses one matcher; throws an Error naming what is wrong. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`"${text}" is not a matcher; write NAME = VALUE, NAME != VALUE, NAME =~ REGEX or NAME !~ REGEX`);
  const [, name = '', op = '=', raw = ''] = m;
  let value = raw;
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) throw new Error(`matcher "${text}": unterminated quoted value`);
    try {
      value = JSON.parse(raw) as string;
    } catch {
      throw new Error(`matcher "${text}": the quoted value is not a valid string`);
    }
  }
  const matcher: Matcher = { name, op: op as MatchOp, value };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch (err) {
      throw new Error(`matcher "${text}": invalid regular expression: ${(err as Error).message}`);
    }
  }
  return matcher;
}

/** A missing label matches as the empty string, as in Alertmanager. */
export function matches(matcher: Matcher, labels: Record<string, string>): boolean {
  // Own labels only: `toString` or `constructor` must not find Object.prototype's functions.
  const value = Object.hasOwn(labels, matcher.name) ? (labels[matcher.name] ?? '') : '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return matcher.regex?.test(value) ?? false;
    case '!~':
      return !(matcher.regex?.test(value) ?? false);
  }
}

export function matchesAll(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((m) => matches(m, labels));
}
