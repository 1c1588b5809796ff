import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { durationSchema, listenAddressSchema } from '../src/config/schema.js';

const messages = (schema: z.ZodType, value: unknown): string[] => {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('durationSchema', () => {
  it('parses to seconds and keeps defaults', () => {
    expect(durationSchema().parse('1h30m')).toBe(5400);
    expect(z.object({ t: durationSchema().default(30) }).parse({})).toEqual({ t: 30 });
  });

  it('says what is wrong, naming what the duration is for', () => {
    expect(messages(durationSchema({ what: 'per-request timeout' }), '15 seconds')).toEqual([
      '"15 seconds" is not a duration; write e.g. 500ms, 15s, 5m, 1h30m, 7d (per-request timeout)',
    ]);
    expect(messages(durationSchema(), 15)).toEqual(['15 is not a duration; write e.g. 500ms, 15s, 5m, 1h30m, 7d']);
    expect(messages(durationSchema(), undefined)).toEqual(['nothing is not a duration; write e.g. 500ms, 15s, 5m, 1h30m, 7d']);
    expect(messages(durationSchema({ min: 1 }), '500ms')).toEqual(['"500ms" is too short: at least 1s']);
    expect(messages(durationSchema({ max: 60 }), '2m')).toEqual(['"2m" is too long: at most 60s']);
  });

  it('takes a number of seconds only when asked to', () => {
    expect(durationSchema({ numbers: true }).parse(30)).toBe(30);
    expect(messages(durationSchema({ numbers: true }), -1)).toEqual(['-1 is not a duration; write e.g. 500ms, 15s, 5m, 1h30m, 7d (or seconds as a number)']);
  });
});

describe('listenAddressSchema', () => {
  it('checks the address and keeps the text', () => {
    expect(listenAddressSchema().parse(':9189')).toBe(':9189');
    expect(messages(listenAddressSchema({ example: '127.0.0.1:9188' }), 'localhost')).toEqual(['must be HOST:PORT, e.g. 127.0.0.1:9188']);
    expect(messages(listenAddressSchema(), 9188)[0]).toMatch(/expected string/);
  });
});
