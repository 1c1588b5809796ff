// The Prometheus text exposition format (what a /metrics endpoint answers, version 0.0.4), read into flat
// samples: one per line, histogram and summary series (`_bucket`, `_sum`, `_count`) kept as the lines they are.
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestamp?: number;
}

/** A line that is not in the text format: names the line number and shows the line. */
export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    problem: string,
    /** Where the text came from (a URL), when known. */
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}exposition line ${line}: ${problem}: ${text.slice(0, 200)}`);
    this.name = 'ExpositionError';
  }
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };

/**
 * The float as Prometheus reads it (Go's strconv.ParseFloat): decimal numbers, and NaN and infinities in any
 * case (prom-client writes `Nan` for an empty gauge); undefined otherwise.
 */
function parseValue(raw: string): number | undefined {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
  if (special) {
    if ((special[2] ?? '').toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return undefined;
  return Number(raw);
}

function parseLine(line: string, lineNo: number, source: string | undefined): ExposedSample {
  const fail = (problem: string): never => {
    throw new ExpositionError(lineNo, line, problem, source);
  };
  let i = 0;
  const skipSpace = (): void => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  const word = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(line);
    if (!m) return undefined;
    i = re.lastIndex;
    return m[0];
  };
  skipSpace();
  const name = word(NAME) ?? fail('no metric name');
  const labels: Record<string, string> = {};
  skipSpace();
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipSpace();
      if (line[i] === '}') break;
      const label = word(LABEL_NAME) ?? fail('no label name');
      skipSpace();
      if (line[i++] !== '=') fail(`no "=" after label ${label}`);
      skipSpace();
      if (line[i++] !== '"') fail(`label ${label}: value not quoted`);
      let value = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) fail(`label ${label}: unterminated value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++] ?? '';
          value += ESCAPES[e] ?? fail(`label ${label}: unknown escape \\${e}`);
        } else value += c;
      }
      if (label in labels) fail(`label ${label} twice`);
      labels[label] = value;
      skipSpace();
      if (line[i] === ',') i++;
      else if (line[i] !== '}') fail('expected "," or "}" after a label');
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length > 2 || rest[0] === '') fail('expected a value and an optional timestamp');
  const value = parseValue(rest[0] ?? '') ?? fail(`value ${rest[0]} is not a number`);
  const sample: ExposedSample = { name, labels, value };
  if (rest[1] !== undefined) {
    if (!/^-?\d+$/.test(rest[1])) fail(`timestamp ${rest[1]} is not an integer`);
    sample.timestamp = Number(rest[1]);
  }
  return sample;
}

/**
 * Every sample of a text exposition, in order; comments (# HELP, # TYPE) and blank lines skipped. A line that is
 * not in the format is an ExpositionError naming `source` (e.g. the URL), the line number and the line.
 */
export function parseExposition(text: string, source?: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] ?? '';
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    samples.push(parseLine(line, n + 1, source));
  }
  return samples;
}

/** The samples named `name` whose labels include every one of `labels`. */
export function matchingSamples(samples: readonly ExposedSample[], name: string, labels: Readonly<Record<string, string>> = {}): ExposedSample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the first sample matching `name` and `labels`; undefined when there is none. */
export function sampleValue(samples: readonly ExposedSample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  return matchingSamples(samples, name, labels)[0]?.value;
}
