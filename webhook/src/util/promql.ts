// Alert values in PromQL templates (verification, preconditions, the worst-instance query): `{{ entity }}` is
// already label matchers; every other value lands inside a double-quoted string literal and is escaped for one.

/** A PromQL double-quoted string literal. */
export function promqlString(value: string): string {
  return JSON.stringify(value);
}

/** The template escaper of PromQL templates (render's `escape`). */
export const promqlEscape = (value: string, ref: string): string => (ref === 'entity' ? value : promqlString(value).slice(1, -1));
