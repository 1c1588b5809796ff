// Reading a YAML config file so that every problem can name its line: the parsed value plus a way to find
// where a key path is in the text.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type KeyPath } from './config-error.js';

export interface Position {
  line: number;
  column: number;
}

export interface YamlSyntaxError extends Position {
  /** The first line of the parser's message. */
  message: string;
}

export type ParsedYaml =
  | { ok: true; value: unknown; locate: (path: KeyPath, key?: string) => Position }
  | { ok: false; errors: YamlSyntaxError[] };

/**
 * Parses one YAML document (duplicate keys are errors). `locate(path, key?)` gives the position of the deepest
 * node of `path` present in the document, or of the key `key` inside the map at `path` (an unknown key); 1:1
 * when none is.
 */
export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        return { line: pos?.line ?? 1, column: pos?.col ?? 1, message: error.message.split('\n')[0] ?? error.message };
      }),
    };
  }
  return { ok: true, value: doc.toJS() as unknown, locate: (path, key) => locate(doc, lines, path, key) };
}

function locate(doc: Document, lines: LineCounter, path: KeyPath, key?: string): Position {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as unknown[], true);
    let offset: number | undefined;
    if (key !== undefined && length === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair && isScalar(pair.key)) offset = pair.key.range?.[0];
    }
    if (offset === undefined && node && typeof node === 'object' && 'range' in node) {
      offset = (node as { range?: [number, number, number] | null }).range?.[0];
    }
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

/** The text of a config file; a ConfigError saying `message` (default "cannot read the file: ...") when unreadable. */
export function readConfigText(file: string, kind = 'config', message = (reason: string) => `cannot read the file: ${reason}`): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [message((error as Error).message)], kind);
  }
}
