// Reading time series CSV files for the backtest: `timestamp,value[,more columns]` with a header row.
// Timestamps: RFC 3339 / `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC unless an offset is given) or Unix seconds.

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

export interface SeriesTable {
  /** Column names after the timestamp column. */
  readonly columns: string[];
  /** Timestamps (Unix seconds), in file order. */
  readonly timestamps: Float64Array;
  /** The timestamp cells as written (outputs reuse them verbatim). */
  readonly timestampText: string[];
  /** Row-major values; empty or non-numeric cells are NaN (missing). */
  readonly values: Float64Array;
  /** Line numbers whose timestamp is not after the previous row's (e.g. a DST repeat): scored as the previous row. */
  readonly notIncreasing: number[];
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Unix seconds of a timestamp cell, or NaN. */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const v = Number(s);
    // Milliseconds are common in exports: anything past year 5000 in seconds is taken as ms.
    return v > 1e11 ? v / 1000 : v;
  }
  const m = DATE_TIME.exec(s);
  if (m === null) return NaN;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec ?? 0)) / 1000;
  if (frac !== undefined) t += Number(frac);
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  return t;
}

function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/** Parses CSV text; `name` is used in error messages (file name). */
export function parseSeriesCsv(text: string, name: string): SeriesTable {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && (lines[lines.length - 1] as string).trim() === '') lines.pop();
  if (lines.length === 0) throw new CsvFormatError(`${name}: empty file (expected a header such as "timestamp,value")`);
  const header = splitLine(lines[0] as string).map((h) => h.trim());
  if (header.length < 2) {
    throw new CsvFormatError(`${name}:1: expected a header "timestamp,value[,more columns]", got "${lines[0] as string}"`);
  }
  if (!Number.isNaN(parseTimestamp(header[0] as string)) && header.slice(1).every((h) => h !== '' && !Number.isNaN(Number(h)))) {
    throw new CsvFormatError(`${name}:1: the first line looks like data; add a header such as "timestamp,value"`);
  }
  const columns = header.slice(1);
  const d = columns.length;
  const n = lines.length - 1;
  const timestamps = new Float64Array(n);
  const timestampText: string[] = new Array<string>(n);
  const values = new Float64Array(n * d);
  let rows = 0;
  const notIncreasing: number[] = [];
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li] as string;
    if (line.trim() === '') continue;
    const cells = splitLine(line);
    if (cells.length !== d + 1) {
      throw new CsvFormatError(`${name}:${li + 1}: expected ${d + 1} cells (${header.join(',')}), got ${cells.length}`);
    }
    const tsText = (cells[0] as string).trim();
    const t = parseTimestamp(tsText);
    if (!Number.isFinite(t)) throw new CsvFormatError(`${name}:${li + 1}: cannot read timestamp "${tsText}"`);
    if (rows > 0 && !(t > (timestamps[rows - 1] as number))) {
      // Kept (every input row gets an output row); the detector ignores a sample that is not newer.
      notIncreasing.push(li + 1);
    }
    timestamps[rows] = t;
    timestampText[rows] = tsText;
    for (let c = 0; c < d; c++) {
      const cell = (cells[c + 1] as string).trim();
      values[rows * d + c] = cell === '' || /^nan$/i.test(cell) ? NaN : Number(cell);
    }
    rows++;
  }
  return {
    columns,
    timestamps: timestamps.slice(0, rows),
    timestampText: timestampText.slice(0, rows),
    values: values.slice(0, rows * d),
    notIncreasing,
  };
}
