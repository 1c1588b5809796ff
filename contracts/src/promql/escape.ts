// Label values inside PromQL: string literals and literal text inside regular expressions. Alert labels and entity
// names are data; escaped here, they cannot end a string or add a matcher.

/**
 * A PromQL double-quoted string literal: `"checkout"`, `"a\"b"`. PromQL strings take Go's escapes, and JSON's
 * escapes (\" \\ \n \uXXXX ...) are valid Go escapes.
 */
export function promqlString(value: string): string {
  return JSON.stringify(value);
}

/** The inside of a double-quoted PromQL string literal, for values substituted into `"..."` written by someone else. */
export function escapePromqlString(value: string): string {
  return promqlString(value).slice(1, -1);
}

/** Go's regexp.QuoteMeta (RE2): a label value as literal text inside a `=~` regular expression. */
export function quoteRegexLiteral(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** `name="value"` matchers, sorted by label name (deterministic queries): `group="shop",service="checkout"`. */
export function labelMatchers(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${promqlString(labels[name] ?? '')}`)
    .join(',');
}
