import { describe, expect, it } from 'vitest';
import { CatalogueError, defineCatalogue, defineError } from '../src/errors/catalogue.js';

describe('defineError', () => {
  const NotFound = defineError('SELFHEAL_NOT_FOUND', (path: string) => `not found: ${path}`, 404);

  it('makes errors with a stable code, a message from typed arguments and an HTTP status', () => {
    const error = new NotFound('/x');
    expect(error).toBeInstanceOf(CatalogueError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('SELFHEAL_NOT_FOUND');
    expect(error.message).toBe('not found: /x');
    expect(error.statusCode).toBe(404);
    expect(NotFound.code).toBe('SELFHEAL_NOT_FOUND');
    expect(NotFound.statusCode).toBe(404);
    expect(NotFound.is(error)).toBe(true);
    expect(NotFound.is(new Error('not found: /x'))).toBe(false);
  });

  it('refuses malformed codes and statuses that are not errors', () => {
    expect(() => defineError('not-a-code', () => 'x', 400)).toThrow(/upper case/);
    expect(() => defineError('SELFHEAL_OK', () => 'x', 200)).toThrow(/not 4xx or 5xx/);
  });

  it('refuses two entries with one code in a catalogue', () => {
    expect(() => defineCatalogue({ A: defineError('SAME', () => 'a', 400), B: defineError('SAME', () => 'b', 404) })).toThrow(/A and B share the code SAME/);
  });
});
