// Opens a plugin zip the way the validator's archivetool does (one pass over the entries, zip-slip refused), with
// limits on size first so a broken or hostile archive cannot exhaust memory: archive layout problems are findings,
// an unreadable zip is one finding too.
import { unzipSync } from 'fflate';

import type { Finding, PluginArchive } from './types';

/** Our own guards (the validator has none documented): a panel plugin is well under a megabyte. */
export const LIMITS = { archiveBytes: 20 * 1024 * 1024, uncompressedBytes: 100 * 1024 * 1024, entries: 2000 };

export function readArchive(fileName: string, bytes: Uint8Array): { archive: PluginArchive; findings: Finding[] } {
  const findings: Finding[] = [];
  const archive: PluginArchive = { fileName, sizeBytes: bytes.length, entries: [], root: undefined, files: new Map() };
  if (bytes.length > LIMITS.archiveBytes) {
    findings.push({ analyzer: 'selfheal-size', severity: 'error', message: `${fileName}: ${bytes.length} bytes, more than the ${LIMITS.archiveBytes} allowed` });
    return { archive, findings };
  }
  let total = 0;
  let count = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, {
      filter: (f) => {
        total += f.originalSize;
        count += 1;
        return total <= LIMITS.uncompressedBytes && count <= LIMITS.entries;
      },
    });
  } catch (e) {
    findings.push({ analyzer: 'archive', severity: 'error', message: `${fileName} is not a readable zip archive: ${String(e)}` });
    return { archive, findings };
  }
  if (total > LIMITS.uncompressedBytes || count > LIMITS.entries) {
    findings.push({
      analyzer: 'selfheal-size',
      severity: 'error',
      message: `${fileName}: ${count} entries, ${total} bytes uncompressed (limits: ${LIMITS.entries} entries, ${LIMITS.uncompressedBytes} bytes)`,
    });
    return { archive, findings };
  }
  archive.entries = Object.keys(raw);

  // archivetool.Unzip: an entry that would land outside the extraction folder is an error ("illegal file path").
  const unsafe = archive.entries.filter((n) => n.startsWith('/') || n.includes('\\') || /^[A-Za-z]:/.test(n) || n.split('/').includes('..'));
  for (const name of unsafe) {
    findings.push({ analyzer: 'archive', severity: 'error', message: `${name}: illegal file path (absolute, drive letter, backslash or "..")` });
  }
  if (archive.entries.length === 0) {
    findings.push({ analyzer: 'archive', severity: 'error', message: 'Archive is empty' });
    return { archive, findings };
  }

  // archive: exactly one top-level entry, and it is a folder (named after the plugin id: archivename, checked later).
  const tops = new Set(archive.entries.map((n) => n.split('/')[0]!));
  if (tops.size !== 1) {
    findings.push({
      analyzer: 'archive',
      severity: 'error',
      message: `Archive contains more than one directory: should contain only one directory named after plugin id. Found ${tops.size}: ${[...tops].sort().join(', ')}`,
    });
    return { archive, findings };
  }
  const [root] = [...tops] as [string];
  if (!archive.entries.some((n) => n.startsWith(`${root}/`))) {
    findings.push({ analyzer: 'archive', severity: 'error', message: `archive does not contain a root directory: found the file "${root}" instead` });
    return { archive, findings };
  }
  archive.root = root;
  for (const [name, data] of Object.entries(raw)) {
    if (!name.endsWith('/') && name.startsWith(`${root}/`)) {
      archive.files.set(name.slice(root.length + 1), data);
    }
  }
  // archive (rule "dist"): the legacy layout keeps the build in <root>/dist/.
  if ([...archive.files.keys()].some((p) => p.startsWith('dist/'))) {
    findings.push({ analyzer: 'archive', severity: 'error', message: `${root}/dist/: dist should be renamed to plugin id and moved to root` });
  }
  return { archive, findings };
}
