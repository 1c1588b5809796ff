// Error catalogues in the manner of @fastify/error: each error a service can answer with is defined once, with a
// stable code, its message and its HTTP status; handlers throw or send the entry, tests assert by code.

/** An error from a catalogue: `code` is stable (tests and clients match on it), `statusCode` is the HTTP status. */
export class CatalogueError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = `CatalogueError [${code}]`;
  }
}

/** The class of one catalogue entry: `new Entry(...args)`, plus its code and status without an instance. */
export interface ErrorEntry<C extends string, A extends unknown[]> {
  new (...args: A): CatalogueError<C>;
  readonly code: C;
  readonly statusCode: number;
  /** Whether `error` is this entry. */
  is(error: unknown): error is CatalogueError<C>;
}

const CODE_RE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Defines one entry: `defineError('SELFHEAL_NOT_FOUND', () => 'not found', 404)`. The message is a function of
 * the entry's arguments (typed, unlike a printf format). Codes are upper case with _; the status is 4xx or 5xx.
 */
export function defineError<C extends string, A extends unknown[] = []>(code: C, message: (...args: A) => string, statusCode: number): ErrorEntry<C, A> {
  if (!CODE_RE.test(code)) throw new Error(`error code "${code}" must be upper case letters, digits and _`);
  if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) throw new Error(`error ${code}: HTTP status ${statusCode} is not 4xx or 5xx`);
  return class extends CatalogueError<C> {
    static readonly code = code;
    static readonly statusCode = statusCode;
    static is(error: unknown): error is CatalogueError<C> {
      return error instanceof CatalogueError && error.code === code;
    }
    constructor(...args: A) {
      super(code, message(...args), statusCode);
    }
  };
}

/** Builds a catalogue and checks that no two entries share a code. */
export function defineCatalogue<T extends Record<string, { readonly code: string; readonly statusCode: number }>>(entries: T): T {
  const seen = new Map<string, string>();
  for (const [name, entry] of Object.entries(entries)) {
    const other = seen.get(entry.code);
    if (other !== undefined) throw new Error(`error catalogue: ${other} and ${name} share the code ${entry.code}`);
    seen.set(entry.code, name);
  }
  return entries;
}
