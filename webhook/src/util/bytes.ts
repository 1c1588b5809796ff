// Sizes in config files ("1mb", "512kb", "100000"): 1024 multiples, as express's body limit counts them.
const UNIT_BYTES = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** Bytes (at least 1), or undefined when the text is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNIT_BYTES[(m[2] ?? 'b').toLowerCase() as keyof typeof UNIT_BYTES]);
  return bytes >= 1 ? bytes : undefined;
}
