// Small figures helpers for the quality benches: seed mean and spread, and a text bar chart.

export interface Spread {
  readonly mean: number;
  /** Sample standard deviation (0 for one value). */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function spread(values: readonly number[]): Spread {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return { mean: NaN, sd: NaN, min: NaN, max: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** "65.3 ± 1.2 (63.9–66.4)", or just the value for one seed. */
export function formatSpread(s: Spread, digits = 1): string {
  if (s.n === 0) return '-';
  if (s.n === 1) return s.mean.toFixed(digits);
  return `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * One text bar per row, scaled to [lo, hi] (values outside are clipped; negative NAB scores are common on hard
 * categories, so lo may be below 0, drawn as a left-side bar from the zero line).
 */
export function barChart(rows: ReadonlyArray<{ label: string; value: number }>, lo = 0, hi = 100, width = 40): string[] {
  const labelWidth = Math.max(...rows.map((r) => r.label.length), 1);
  const scale = width / (hi - lo);
  const zero = Math.round((0 - lo) * scale);
  return rows.map(({ label, value }) => {
    if (!Number.isFinite(value)) return `${label.padEnd(labelWidth)} |${' '.repeat(width)}| -`;
    const v = Math.min(hi, Math.max(lo, value));
    const pos = Math.round((v - lo) * scale);
    const cells = Array.from({ length: width }, (_, i) => (v >= 0 ? i >= zero && i < pos : i >= pos && i < zero) ? '#' : i === zero && zero > 0 ? '|' : ' ');
    return `${label.padEnd(labelWidth)} |${cells.join('')}| ${value.toFixed(1)}`;
  });
}
