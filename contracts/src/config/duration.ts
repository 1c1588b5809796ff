// Durations as Prometheus writes them (prometheus/common model.ParseDuration): "1h30m", "500ms", "15s", "7d".
// Units y w d h m s ms, each at most once and in that order, whole numbers only; "0" alone is zero.
// The one grammar of every config file, flag and query parameter that takes a duration.

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** Seconds per unit, in the order of the capture groups above. */
const UNIT_SECONDS = [31_536_000, 604_800, 86_400, 3600, 60, 1, 0.001] as const;
const UNIT_NAMES = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/** Seconds in a Prometheus duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const match = DURATION_RE.exec(text);
  if (!match) return undefined;
  let milliseconds = 0;
  UNIT_SECONDS.forEach((seconds, i) => {
    const count = match[i + 1];
    if (count !== undefined) milliseconds += Number(count) * seconds * 1000;
  });
  return Number.isSafeInteger(milliseconds) ? milliseconds / 1000 : undefined;
}

/** The Prometheus duration string of a number of seconds (whole milliseconds), as Prometheus prints one: 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
  let rest = Math.round(seconds * 1000);
  if (rest <= 0) return '0s';
  const parts: string[] = [];
  UNIT_SECONDS.forEach((unit, i) => {
    const size = Math.round(unit * 1000);
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${UNIT_NAMES[i]}`);
      rest %= size;
    }
  });
  return parts.join('');
}

/**
 * A duration rounded to one unit for reasons people read ("90s", "5m", "24.0h"): the audit log's wording.
 * Not for config: it does not round-trip through parseDuration.
 */
export function roughDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}
