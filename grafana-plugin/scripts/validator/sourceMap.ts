// The jsMap analyzer's comparison (pkg/sourcemap + pkg/difftool): every source a module.js.map embeds, less
// webpack's runtime, externals, node_modules and CSS, must exist in the plugin's src/ with the same content, so
// what ships is what the repository holds.
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';

export interface MappedSource {
  /** Path below src/ ("components/Legend.tsx"). */
  path: string;
  content: string;
}

const IGNORED_PREFIXES = ['external ', 'webpack/', '../node_modules', './node_modules/', 'node_modules/'];

/** The plugin's own sources embedded in a source map, or a message saying why the map is unusable. */
export function mappedSources(mapText: string, pluginId: string): { sources: MappedSource[]; problem?: string } {
  let map: { version?: unknown; sources?: unknown; sourcesContent?: unknown };
  try {
    map = JSON.parse(mapText) as typeof map;
  } catch (e) {
    return { sources: [], problem: `not JSON: ${String(e)}` };
  }
  if (map.version !== 3 || !Array.isArray(map.sources) || !Array.isArray(map.sourcesContent)) {
    return { sources: [], problem: 'not a version 3 source map with sources and sourcesContent' };
  }
  const contents = map.sourcesContent as unknown[];
  const sources: MappedSource[] = [];
  (map.sources as unknown[]).forEach((s, i) => {
    let name = String(s).replace(/^webpack:\/*/, '');
    if (name.startsWith(`${pluginId}/`)) {
      name = name.slice(pluginId.length + 1);
    }
    const bare = name.split('?')[0]!;
    if (IGNORED_PREFIXES.some((p) => bare.startsWith(p)) || bare.endsWith('.css')) {
      return;
    }
    sources.push({ path: bare.replace(/^\.\//, ''), content: typeof contents[i] === 'string' ? contents[i] : '' });
  });
  return { sources };
}

/** Sources of the map that are missing from src/ or differ from it (line endings normalised, as difftool does). */
export function diffAgainstSource(sources: MappedSource[], srcDir: string): Array<{ path: string; problem: 'missing' | 'differs' }> {
  const out: Array<{ path: string; problem: 'missing' | 'differs' }> = [];
  for (const s of sources) {
    const file = normalize(join(srcDir, s.path));
    if (!file.startsWith(normalize(srcDir) + sep) || !existsSync(file)) {
      out.push({ path: s.path, problem: 'missing' });
      continue;
    }
    const lf = (t: string) => t.replace(/\r\n/g, '\n');
    if (lf(readFileSync(file, 'utf8')) !== lf(s.content)) {
      out.push({ path: s.path, problem: 'differs' });
    }
  }
  return out;
}
