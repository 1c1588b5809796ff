// Packages dist/ the way create-plugin's release workflow does (grafana/plugin-actions, package-plugin): a zip named
// <plugin-id>-<version>.zip whose single top-level folder is the plugin id, and <zip>.sha1 holding the archive's
// SHA-1 (the catalog's submission form asks for it); <zip>.md5 too, the other checksum the catalog accepts.
// Entries are sorted, dated by plugin.json's info.updated and carry Unix permissions, so one build zips to the same
// bytes every time.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

import { type Zippable, zipSync } from 'fflate';

export interface PackagedPlugin {
  pluginId: string;
  version: string;
  zipPath: string;
  sha1Path: string;
  md5Path: string;
  sha1: string;
  md5: string;
  /** Entry names in the zip, directories included. */
  entries: string[];
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? filesBelow(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []))
    .sort();
}

export function packagePlugin(distDir: string, outDir: string): PackagedPlugin {
  let meta: { id?: unknown; info?: { version?: unknown; updated?: unknown } };
  try {
    meta = JSON.parse(readFileSync(join(distDir, 'plugin.json'), 'utf8')) as typeof meta;
  } catch (e) {
    throw new Error(`${join(distDir, 'plugin.json')}: cannot read it (${String(e)}); build the plugin first (npm run build -w grafana-plugin)`);
  }
  const pluginId = String(meta.id ?? '');
  const version = String(meta.info?.version ?? '');
  if (!/^[0-9a-z-]+$/.test(pluginId) || !/^\d+\.\d+\.\d+/.test(version)) {
    throw new Error(`${join(distDir, 'plugin.json')}: id "${pluginId}" or info.version "${version}" is not filled in: build the plugin first`);
  }
  const updated = String(meta.info?.updated ?? '');
  const mtime = /^\d{4}-\d{2}-\d{2}$/.test(updated) ? new Date(`${updated}T00:00:00Z`) : new Date(0);

  const dirAttrs = { attrs: (0o40755 << 16) >>> 0, os: 3, level: 0 as const };
  const fileAttrs = { attrs: (0o100644 << 16) >>> 0, os: 3 };
  const zippable: Zippable = { [`${pluginId}/`]: [new Uint8Array(0), dirAttrs] };
  for (const file of filesBelow(distDir)) {
    const rel = relative(distDir, file).split(sep).join(posix.sep);
    // Directory entries first, as `zip -r` writes them.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${pluginId}/${parts.slice(0, i).join('/')}/`;
      zippable[dir] ??= [new Uint8Array(0), dirAttrs];
    }
    zippable[`${pluginId}/${rel}`] = [new Uint8Array(readFileSync(file)), fileAttrs];
  }
  const zip = zipSync(zippable, { level: 9, mtime });

  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, `${pluginId}-${version}.zip`);
  const sha1 = createHash('sha1').update(zip).digest('hex');
  const md5 = createHash('md5').update(zip).digest('hex');
  writeFileSync(zipPath, zip);
  writeFileSync(`${zipPath}.sha1`, `${sha1}\n`);
  writeFileSync(`${zipPath}.md5`, `${md5}\n`);
  return { pluginId, version, zipPath, sha1Path: `${zipPath}.sha1`, md5Path: `${zipPath}.md5`, sha1, md5, entries: Object.keys(zippable) };
}
