// Timestamps as Alertmanager and Prometheus write them: RFC 3339 with seconds and an explicit offset
// (`2026-11-23T22:00:00Z`, `...00.123456789Z`, `...00+01:00`). Date.parse alone is far looser: it takes "0"
// (the year 2000), "12345" (the year 12345), impossible dates (Feb 30 rolls over) and zone-less times, which it
// reads in the host's time zone.
import { z } from 'zod';

export const RFC3339_HINT = 'an RFC 3339 timestamp with an offset, e.g. 2026-11-23T22:00:00Z';

/** zod's ISO date-time check (calendar-aware) with the offset required. */
export const rfc3339 = z.iso.datetime({ offset: true, error: `must be ${RFC3339_HINT}` });

/** Milliseconds since the epoch, or undefined when `text` is not such a timestamp. */
export function parseRfc3339(text: string): number | undefined {
  return text.length <= 64 && rfc3339.safeParse(text).success ? Date.parse(text) : undefined;
}
