// Alert values in PromQL templates (verification, preconditions, the worst-instance query): `{{ entity }}` is
// already label matchers (policy's entityMatchers); every other value lands inside a double-quoted string literal
// and is escaped for one by the contracts' escaper.
import { escapePromqlString } from '@selfheal/contracts';

/** The template escaper of PromQL templates (render's `escape`). */
export const promqlEscape = (value: string, ref: string): string => (ref === 'entity' ? value : escapePromqlString(value));
