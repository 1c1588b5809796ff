// @vitest-environment node
// The distributable zip (npm run package) checked the way Grafana's plugin validator checks a submission, offline:
// @grafana/plugin-validator downloads a binary at run time and some of its analyzers call grafana.com, neither of
// which can happen here, so scripts/validator/ carries the analyzers that matter (each check names the one it
// mirrors). The archive of the real build must pass; a deliberately broken copy must fail each check, with a
// message that names what is wrong.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packagePlugin, type PackagedPlugin } from '../scripts/packageArchive';
import { LIMITS } from '../scripts/validator/readArchive';
import { type Finding, formatFindings, validateArchive } from '../scripts/validator/validate';
import { buildPluginOnce } from './harness/buildOnce';
import { PLUGIN_DIR } from './paths';

const DIST = join(PLUGIN_DIR, 'dist');
let outDir: string;
let packaged: PackagedPlugin;
let zip: Uint8Array;

beforeAll(async () => {
  await buildPluginOnce();
  outDir = mkdtempSync(join(tmpdir(), 'selfheal-plugin-zip-'));
  packaged = packagePlugin(DIST, outDir);
  zip = new Uint8Array(readFileSync(packaged.zipPath));
});

afterAll(() => {
  if (outDir) {
    rmSync(outDir, { recursive: true, force: true });
  }
});

const validate = (bytes: Uint8Array, fileName = `${packaged.pluginId}-${packaged.version}.zip`, checksums?: { sha1?: string; md5?: string }) =>
  validateArchive(fileName, bytes, { pluginDir: PLUGIN_DIR, checksums });

describe('npm run package: the archive as create-plugin\'s release workflow makes it', () => {
  it('is <plugin-id>-<version>.zip whose single top-level folder is the plugin id, with the built files', () => {
    const pkg = JSON.parse(readFileSync(join(PLUGIN_DIR, 'package.json'), 'utf8')) as { version: string };
    const meta = JSON.parse(readFileSync(join(DIST, 'plugin.json'), 'utf8')) as { id: string };
    expect(packaged.pluginId).toBe(meta.id);
    expect(packaged.version).toBe(pkg.version);
    expect(packaged.zipPath.endsWith(`/${meta.id}-${pkg.version}.zip`)).toBe(true);
    const names = Object.keys(unzipSync(zip));
    expect(names.every((n) => n.startsWith(`${meta.id}/`))).toBe(true);
    for (const f of ['plugin.json', 'module.js', 'module.js.map', 'README.md', 'CHANGELOG.md', 'LICENSE', 'img/logo.svg']) {
      expect(names, f).toContain(`${meta.id}/${f}`);
    }
  });

  it('has its SHA-1 and MD5 beside it, and zips the same build to the same bytes', () => {
    expect(readFileSync(packaged.sha1Path, 'utf8').trim()).toBe(createHash('sha1').update(zip).digest('hex'));
    expect(readFileSync(packaged.md5Path, 'utf8').trim()).toBe(createHash('md5').update(zip).digest('hex'));
    const again = packagePlugin(DIST, join(outDir, 'again'));
    expect(again.sha1).toBe(packaged.sha1);
  });

  it.runIf(existsSync('/usr/bin/unzip'))('is read the same by Info-ZIP unzip (a reader other than the one that wrote it)', () => {
    const test = spawnSync('/usr/bin/unzip', ['-tq', packaged.zipPath], { encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    const list = spawnSync('/usr/bin/unzip', ['-Z1', packaged.zipPath], { encoding: 'utf8' });
    expect(list.stdout.trim().split('\n').sort()).toEqual([...packaged.entries].sort());
  });

  it('passes every offline check; the only finding is that it is unsigned', () => {
    const findings = validate(zip, undefined, { sha1: packaged.sha1, md5: packaged.md5 });
    expect(findings, formatFindings(findings)).toEqual([
      { analyzer: 'manifest', severity: 'warning', message: expect.stringContaining('unsigned plugin') as string },
    ]);
  });

  it('ships a README for the catalog that documents the queries, and the AMD module.js Grafana loads', () => {
    const files = unzipSync(zip);
    const readme = strFromU8(files[`${packaged.pluginId}/README.md`]!);
    expect(readme).toContain('selfheal_health_score');
    expect(strFromU8(files[`${packaged.pluginId}/module.js`]!)).toMatch(/^\/\* \[create-plugin\] version: [\d.]+ \*\/\n.*\ndefine\(\[/);
  });
});

// A broken copy: the real archive's entries, changed by `edit`, zipped again.
type Entries = Record<string, Uint8Array>;
function broken(edit: (files: Entries, id: string) => void): Uint8Array {
  const files = unzipSync(zip);
  edit(files, packaged.pluginId);
  // Stored, not deflated: quicker, and the reader is exercised on both kinds of entry.
  return zipSync(files, { level: 0 });
}
const editText = (files: Entries, path: string, fn: (t: string) => string) => {
  files[path] = strToU8(fn(strFromU8(files[path]!)));
};
const editMeta = (files: Entries, id: string, fn: (m: Record<string, unknown> & { info: Record<string, unknown>; dependencies: Record<string, unknown> }) => void) =>
  editText(files, `${id}/plugin.json`, (t) => {
    const m = JSON.parse(t) as Parameters<typeof fn>[0];
    fn(m);
    return JSON.stringify(m, null, 2);
  });
const moveRoot = (files: Entries, from: string, to: string) => {
  for (const name of Object.keys(files)) {
    files[name.replace(from, to)] = files[name]!;
    delete files[name];
  }
};

interface Case {
  what: string;
  edit?: (files: Entries, id: string) => void;
  bytes?: () => Uint8Array;
  fileName?: string;
  checksums?: { sha1?: string; md5?: string };
  expect: { analyzer: string; severity?: 'error' | 'warning'; message: RegExp };
}

const svg = (body: string) => strToU8(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">${body}</svg>`);

const CASES: Case[] = [
  // archive / archivename / archivetool
  { what: 'the root folder is not the plugin id', edit: (f, id) => moveRoot(f, `${id}/`, 'dist/'), expect: { analyzer: 'archivename', message: /archive should contain a directory named selfheal-healthtimeline-panel \(found dist\)/ } },
  { what: 'a second top-level entry', edit: (f) => (f['README.md'] = strToU8('# loose file')), expect: { analyzer: 'archive', message: /more than one directory.*Found 2: README\.md, selfheal-healthtimeline-panel/ } },
  { what: 'the legacy dist/ layout', edit: (f, id) => moveRoot(f, `${id}/`, `${id}/dist/`), expect: { analyzer: 'archive', message: /dist should be renamed to plugin id and moved to root/ } },
  { what: 'an entry that escapes the extraction folder', edit: (f, id) => (f[`${id}/../evil.js`] = strToU8('x')), expect: { analyzer: 'archive', message: /\.\.\/evil\.js: illegal file path/ } },
  { what: 'an archive inside the archive', edit: (f, id) => (f[`${id}/vendor/inner.zip`] = zipSync({ 'a.txt': strToU8('a') })), expect: { analyzer: 'selfheal-nested-archive', message: /vendor\/inner\.zip: archives must not contain other archives/ } },
  { what: 'bytes that are not a zip', bytes: () => strToU8('not a zip at all'), expect: { analyzer: 'archive', message: /is not a readable zip archive/ } },
  { what: 'an empty zip', bytes: () => zipSync({}), expect: { analyzer: 'archive', message: /Archive is empty/ } },
  {
    what: 'more entries than the limit',
    edit: (f, id) => {
      for (let i = 0; i <= LIMITS.entries; i++) {
        f[`${id}/many/${i}.txt`] = new Uint8Array(0);
      }
    },
    expect: { analyzer: 'selfheal-size', message: /entries.*limits: 2000 entries/ },
  },
  { what: 'a file name other than <id>-<version>.zip', fileName: 'plugin.zip', expect: { analyzer: 'selfheal-archivename', message: /named plugin\.zip, expected selfheal-healthtimeline-panel-0\.1\.0\.zip/ } },
  { what: 'a checksum that is not the archive\'s', checksums: { sha1: '0'.repeat(40) }, expect: { analyzer: 'checksum', message: /sha1 checksum 0{40} does not match the plugin archive/ } },
  // metadata / metadatavalid
  { what: 'no plugin.json', edit: (f, id) => delete f[`${id}/plugin.json`], expect: { analyzer: 'metadatavalid', message: /plugin\.json not found in the archive/ } },
  { what: 'plugin.json that is not JSON', edit: (f, id) => editText(f, `${id}/plugin.json`, (t) => t.replace('{', '{,')), expect: { analyzer: 'metadatavalid', message: /plugin\.json: \(root\): |not valid JSON/ } },
  { what: 'the version placeholder left in', edit: (f, id) => editMeta(f, id, (m) => (m.info.version = '%VERSION%')), expect: { analyzer: 'metadatavalid', message: /info\.version: must be a semantic version.*\(is "%VERSION%"\)/ } },
  { what: 'a placeholder left in the README', edit: (f, id) => editText(f, `${id}/README.md`, (t) => `${t}\nVersion %VERSION%\n`), expect: { analyzer: 'selfheal-placeholder', message: /README\.md: build placeholder %VERSION% was not replaced/ } },
  { what: 'an id without the <org>-<name>-<type> form', edit: (f, id) => editMeta(f, id, (m) => (m.id = 'Selfheal_Timeline')), expect: { analyzer: 'metadatavalid', message: /id: must be <org>-<name>-<type>.*\(is "Selfheal_Timeline"\)/ } },
  { what: 'a required field missing', edit: (f, id) => editMeta(f, id, (m) => delete m.info.logos), expect: { analyzer: 'metadatavalid', message: /info\.logos: / } },
  { what: 'no keywords', edit: (f, id) => editMeta(f, id, (m) => (m.info.keywords = [])), expect: { analyzer: 'metadatavalid', message: /info\.keywords: needs at least one keyword/ } },
  { what: 'a key the schema does not have', edit: (f, id) => editMeta(f, id, (m) => (m.homepage = 'x')), expect: { analyzer: 'metadatavalid', message: /\(root\): Unrecognized key: "homepage"/ } },
  { what: 'an impossible updated date', edit: (f, id) => editMeta(f, id, (m) => (m.info.updated = '2026-02-30')), expect: { analyzer: 'metadatavalid', message: /info\.updated: is not a calendar date \(is "2026-02-30"\)/ } },
  { what: 'a link that is not a URL', edit: (f, id) => editMeta(f, id, (m) => (m.info.links = [{ name: 'Docs', url: 'github.com/selfheal' }])), expect: { analyzer: 'metadatavalid', message: /info\.links\.0\.url: must be an absolute http\(s\) URL \(is "github\.com\/selfheal"\)/ } },
  { what: 'no grafanaDependency', edit: (f, id) => editMeta(f, id, (m) => delete m.dependencies.grafanaDependency), expect: { analyzer: 'metadatavalid', message: /dependencies\.grafanaDependency: / } },
  { what: 'a grafanaDependency that is not a range', edit: (f, id) => editMeta(f, id, (m) => (m.dependencies.grafanaDependency = 'latest')), expect: { analyzer: 'metadatavalid', message: /dependencies\.grafanaDependency: must be a version range.*\(is "latest"\)/ } },
  { what: 'a development build', edit: (f, id) => editMeta(f, id, (m) => (m.buildMode = 'development')), expect: { analyzer: 'selfheal-buildmode', message: /buildMode is "development"/ } },
  // typesuffix / pluginname / packagejson / grafanadependency / restrictivedep / discoverability
  { what: 'an id whose suffix is not the type', edit: (f, id) => editMeta(f, id, (m) => (m.type = 'app')), expect: { analyzer: 'typesuffix', message: /plugin id should end with plugin type: "selfheal-healthtimeline-panel" is a app/ } },
  { what: 'the id as the name', edit: (f, id) => editMeta(f, id, (m) => (m.name = id)), expect: { analyzer: 'pluginname', severity: 'warning', message: /plugin name should be human-friendly/ } },
  { what: 'a version other than package.json\'s', edit: (f, id) => editMeta(f, id, (m) => (m.info.version = '0.2.0')), expect: { analyzer: 'packagejson', message: /version in package\.json \(0\.1\.0\) doesn't match the version in plugin\.json \(0\.2\.0\)/ } },
  { what: 'a build date in the future', edit: (f, id) => editMeta(f, id, (m) => (m.info.updated = '2999-01-01')), expect: { analyzer: 'selfheal-updated', message: /info\.updated 2999-01-01 is in the future/ } },
  { what: 'one pinned Grafana release', edit: (f, id) => editMeta(f, id, (m) => (m.dependencies.grafanaDependency = '12.4.0')), expect: { analyzer: 'restrictivedep', severity: 'warning', message: /plugin only targets Grafana 12\.4\.0/ } },
  { what: 'a range that excludes the Grafana the panel is built against', edit: (f, id) => editMeta(f, id, (m) => (m.dependencies.grafanaDependency = '>=13.0.0')), expect: { analyzer: 'selfheal-grafanadependency', message: /">=13\.0\.0" excludes Grafana 12\.4\.10/ } },
  { what: 'no description', edit: (f, id) => editMeta(f, id, (m) => (m.info.description = '')), expect: { analyzer: 'discoverability', severity: 'warning', message: /description is empty/ } },
  // logos / screenshots / metadatapaths
  { what: 'a logo the archive lacks', edit: (f, id) => delete f[`${id}/img/logo.svg`], expect: { analyzer: 'metadatapaths', message: /small logo path doesn't exist: img\/logo\.svg/ } },
  { what: 'a logo path starting with ./', edit: (f, id) => editMeta(f, id, (m) => (m.info.logos = { small: './img/logo.svg', large: 'img/logo.svg' })), expect: { analyzer: 'metadatapaths', message: /relative small logo path should not start with '\.' or '\/': \.\/img\/logo\.svg/ } },
  { what: 'a logo given as a URL', edit: (f, id) => editMeta(f, id, (m) => (m.info.logos = { small: 'img/logo.svg', large: 'https://example.com/logo.svg' })), expect: { analyzer: 'metadatapaths', message: /large logo path should be relative to plugin\.json/ } },
  { what: 'an empty logo path', edit: (f, id) => editMeta(f, id, (m) => (m.info.logos = { small: ' ', large: 'img/logo.svg' })), expect: { analyzer: 'logos', message: /invalid empty small logo path/ } },
  { what: 'a screenshot path naming a folder', edit: (f, id) => editMeta(f, id, (m) => (m.info.screenshots = [{ name: 'Folder', path: 'img' }])), expect: { analyzer: 'metadatapaths', message: /screenshot path doesn't exist as a file \(it is a folder\): img/ } },
  { what: 'a screenshot that is not an image', edit: (f, id) => (f[`${id}/img/screenshot-dark.png`] = strToU8('just text, named .png')), expect: { analyzer: 'screenshots', message: /invalid screenshot image: "img\/screenshot-dark\.png"\. Accepted image types/ } },
  { what: 'no screenshots', edit: (f, id) => editMeta(f, id, (m) => (m.info.screenshots = [])), expect: { analyzer: 'screenshots', severity: 'warning', message: /should include screenshots/ } },
  // modulejs / legacyplatform / trackingscripts / jsMap / coderules
  { what: 'no module.js', edit: (f, id) => delete f[`${id}/module.js`], expect: { analyzer: 'modulejs', message: /missing module\.js/ } },
  { what: 'a module.js that is not AMD', edit: (f, id) => (f[`${id}/module.js`] = strToU8('export const plugin = {};\n//# sourceMappingURL=module.js.map')), expect: { analyzer: 'selfheal-modulejs', message: /not an AMD module/ } },
  { what: 'AngularJS in module.js', edit: (f, id) => editText(f, `${id}/module.js`, (t) => t.replace('define([', 'var x="PanelCtrl";define([')), expect: { analyzer: 'legacyplatform', message: /uses legacy plugin platform \(AngularJS\): found PanelCtrl/ } },
  { what: 'a tracking script in module.js', edit: (f, id) => editText(f, `${id}/module.js`, (t) => t.replace('define([', 'var u="https://www.google-analytics.com/g";define([')), expect: { analyzer: 'trackingscripts', message: /should not include tracking scripts/ } },
  { what: 'no source map', edit: (f, id) => delete f[`${id}/module.js.map`], expect: { analyzer: 'jsMap', message: /missing module\.js\.map in archive/ } },
  { what: 'a source map that is not one', edit: (f, id) => (f[`${id}/module.js.map`] = strToU8('{"version":2}')), expect: { analyzer: 'jsMap', message: /could not be validated: not a version 3 source map/ } },
  {
    what: 'a source map whose sources differ from src/',
    edit: (f, id) =>
      editText(f, `${id}/module.js.map`, (t) => {
        const m = JSON.parse(t) as { sources: string[]; sourcesContent: string[] };
        const i = m.sources.findIndex((s) => s.endsWith('components/Legend.tsx'));
        m.sourcesContent[i] = `${m.sourcesContent[i]}\n// edited after the build\n`;
        return JSON.stringify(m);
      }),
    expect: { analyzer: 'jsMap', message: /does not match your plugin archive assets \(module\.js\.map\): components\/Legend\.tsx differs/ },
  },
  {
    what: 'console logging in a shipped source',
    edit: (f, id) =>
      editText(f, `${id}/module.js.map`, (t) => {
        const m = JSON.parse(t) as { sources: string[]; sourcesContent: string[] };
        const i = m.sources.findIndex((s) => s.endsWith('/module.ts'));
        m.sourcesContent[i] = `console.log('plugin loaded');\n${m.sourcesContent[i]}`;
        return JSON.stringify(m);
      }),
    expect: { analyzer: 'coderules', severity: 'warning', message: /detect-console-logs: src\/module\.ts:1: Console logging detected/ },
  },
  // readme / templatereadme / jargon / brokenlinks / changelog / license
  { what: 'no README', edit: (f, id) => delete f[`${id}/README.md`], expect: { analyzer: 'readme', message: /missing README\.md/ } },
  { what: 'the create-plugin template README', edit: (f, id) => (f[`${id}/README.md`] = strToU8('# Grafana panel plugin template\n\nThis template is a starting point.\n')), expect: { analyzer: 'templatereadme', message: /README\.md: uses README from template/ } },
  { what: 'developer jargon in the README', edit: (f, id) => editText(f, `${id}/README.md`, (t) => `${t}\nRun yarn install.\n`), expect: { analyzer: 'jargon', severity: 'warning', message: /developer jargon: \(yarn\)/ } },
  { what: 'a relative link in the README', edit: (f, id) => editText(f, `${id}/README.md`, (t) => `${t}\nSee [the docs](../docs/README.md).\n`), expect: { analyzer: 'brokenlinks', message: /convert relative link to absolute: \.\.\/docs\/README\.md/ } },
  { what: 'no CHANGELOG', edit: (f, id) => delete f[`${id}/CHANGELOG.md`], expect: { analyzer: 'changelog', severity: 'warning', message: /missing CHANGELOG\.md/ } },
  { what: 'no LICENSE', edit: (f, id) => delete f[`${id}/LICENSE`], expect: { analyzer: 'license', message: /License not found/ } },
  { what: 'a license the catalog does not accept', edit: (f, id) => (f[`${id}/LICENSE`] = strToU8('MIT License\n\nPermission is hereby granted, free of charge...')), expect: { analyzer: 'license', message: /Valid license not found in LICENSE/ } },
  // unsafesvg
  { what: 'an SVG with a script', edit: (f, id) => (f[`${id}/img/logo.svg`] = svg('<script>alert(1)</script>')), expect: { analyzer: 'unsafesvg', message: /SVG file img\/logo\.svg is unsafe: Invalid element script/ } },
  { what: 'an SVG with an event handler', edit: (f, id) => (f[`${id}/img/logo.svg`] = svg('<rect width="8" height="8" onload="alert(1)"/>')), expect: { analyzer: 'unsafesvg', message: /Invalid attribute onload on <rect>/ } },
  { what: 'an SVG with a javascript: link', edit: (f, id) => (f[`${id}/img/logo.svg`] = svg('<a href="javascript:alert(1)"><rect width="8" height="8"/></a>')), expect: { analyzer: 'unsafesvg', message: /Invalid href on <a>: javascript:alert\(1\)/ } },
  // backendbinary / manifest
  { what: 'a backend executable in a frontend-only plugin', edit: (f, id) => (f[`${id}/gpx_selfheal_linux_amd64`] = new Uint8Array([0x7f, 0x45, 0x4c, 0x46])), expect: { analyzer: 'backendbinary', message: /declares no backend, but the archive has gpx_selfheal_linux_amd64/ } },
  { what: 'a MANIFEST.txt that is not signed', edit: (f, id) => (f[`${id}/MANIFEST.txt`] = strToU8('{"files":{}}')), expect: { analyzer: 'manifest', message: /MANIFEST\.txt is not a PGP signed message/ } },
  {
    what: 'a signed MANIFEST.txt that does not list a file',
    edit: (f, id) => (f[`${id}/MANIFEST.txt`] = strToU8('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{"plugin":"x","files":{}}\n-----BEGIN PGP SIGNATURE-----\n')),
    expect: { analyzer: 'manifest', message: /module\.js is not listed in MANIFEST\.txt/ },
  },
];

describe('each check fails on a deliberately broken copy of the archive, naming the problem', () => {
  for (const c of CASES) {
    it(c.what, () => {
      const bytes = c.bytes ? c.bytes() : c.edit ? broken(c.edit) : zip;
      const findings = validate(bytes, c.fileName, c.checksums);
      const want = { analyzer: c.expect.analyzer, severity: c.expect.severity ?? 'error' };
      const hit = findings.find((f: Finding) => f.analyzer === want.analyzer && f.severity === want.severity && c.expect.message.test(f.message));
      expect(hit, `no ${want.severity} from ${want.analyzer} matching ${c.expect.message}; got:\n${formatFindings(findings)}`).toBeDefined();
    });
  }

  it('the real archive has none of the findings the broken copies have', () => {
    const findings = validate(zip);
    expect(findings.filter((f) => f.analyzer !== 'manifest'), formatFindings(findings)).toEqual([]);
  });
});
