// The checks of Grafana's plugin validator that can run offline, one function per analyzer
// (github.com/grafana/plugin-validator, pkg/analysis/passes/<analyzer>), with the validator's severities and
// messages where it has them. Checks named selfheal-* are ours (the validator does not have them). What needs the
// network (org, version, published, brokenlinks' HTTP requests, safelinks, osv-scanner, virusscan, signature
// verification, the LLM reviews) is not here: see grafana-plugin/README.md.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import semver from 'semver';

import { ACCEPTED_IMAGES, sniffImage, unsafeSvgProblems } from './content';
import { parsePluginJson, type PluginJson } from './metadata';
import { diffAgainstSource, mappedSources } from './sourceMap';
import type { Check, Finding, PluginArchive, Severity, SourceContext } from './types';

const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const text = (a: PluginArchive, path: string) => {
  const b = a.files.get(path);
  return b === undefined ? undefined : utf8(b);
};
const finding = (analyzer: string, severity: Severity, message: string): Finding => ({ analyzer, severity, message });
const TEXT_FILE = /\.(js|json|map|md|txt|svg|html|css)$|(^|\/)(LICENSE|CHANGELOG)$/;

/** The root plugin.json, parsed and schema-checked; undefined when missing or invalid (metadatavalid reports why). */
export function rootMetadata(a: PluginArchive): PluginJson | undefined {
  const t = text(a, 'plugin.json');
  return t === undefined ? undefined : parsePluginJson(t).meta;
}

function packageJson(source: SourceContext): { version?: string; license?: string } | undefined {
  const file = join(source.pluginDir, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version?: string; license?: string }) : undefined;
}

// metadata + metadatavalid + nestedmetadata: every plugin.json exists, parses and follows the schema.
const metadataValid: Check = {
  analyzer: 'metadatavalid',
  run: (a) => {
    if (!a.files.has('plugin.json')) {
      return [finding('metadatavalid', 'error', 'plugin.json not found in the archive')];
    }
    const out: Finding[] = [];
    for (const path of [...a.files.keys()].filter((p) => p === 'plugin.json' || p.endsWith('/plugin.json'))) {
      for (const problem of parsePluginJson(text(a, path)!).problems) {
        out.push(finding(path === 'plugin.json' ? 'metadatavalid' : 'nestedmetadata', 'error', `${path}: ${problem}`));
      }
    }
    return out;
  },
};

// archivename: the root folder is the plugin id. The file name <id>-<version>.zip is plugin-actions' convention
// (package-plugin/action.yml), checked as selfheal-archivename.
const archiveName: Check = {
  analyzer: 'archivename',
  run: (a) => {
    const meta = rootMetadata(a);
    if (!meta || a.root === undefined) {
      return [];
    }
    const out: Finding[] = [];
    if (a.root !== meta.id) {
      out.push(finding('archivename', 'error', `archive should contain a directory named ${meta.id} (found ${a.root})`));
    }
    const expected = `${meta.id}-${meta.info.version}.zip`;
    if (a.fileName !== expected) {
      out.push(finding('selfheal-archivename', 'error', `archive file is named ${a.fileName}, expected ${expected}`));
    }
    return out;
  },
};

// selfheal-nested-archive: archives inside the archive (the catalog scans only the top level; they hide content).
const nestedArchives: Check = {
  analyzer: 'selfheal-nested-archive',
  run: (a) =>
    [...a.files.keys()]
      .filter((p) => /\.(zip|jar|tar|tgz|gz|bz2|xz|7z|rar)$/i.test(p))
      .map((p) => finding('selfheal-nested-archive', 'error', `${p}: archives must not contain other archives`)),
};

// selfheal-junk: files that are build or OS leftovers, not plugin assets.
const junkFiles: Check = {
  analyzer: 'selfheal-junk',
  run: (a) =>
    [...a.files.keys()]
      .filter((p) => /(^|\/)(\.DS_Store|Thumbs\.db|__MACOSX|node_modules|\.git)(\/|$)|\.(log|tsbuildinfo)$/.test(p))
      .map((p) => finding('selfheal-junk', 'warning', `${p}: not a plugin asset`)),
};

// typesuffix, pluginname, circulardependencies (own id), discoverability.
const identity: Check = {
  analyzer: 'typesuffix',
  run: (a) => {
    const meta = rootMetadata(a);
    if (!meta) {
      return [];
    }
    const out: Finding[] = [];
    if (meta.id.split('-').at(-1) !== meta.type) {
      out.push(finding('typesuffix', 'error', `plugin id should end with plugin type: "${meta.id}" is a ${meta.type}`));
    }
    if (meta.name === meta.id) {
      out.push(finding('pluginname', 'warning', 'plugin.json: plugin name should be human-friendly'));
    }
    if ((meta.dependencies.plugins ?? []).some((p) => p.id === meta.id)) {
      out.push(finding('circulardependencies', 'error', `plugin.json: ${meta.id} depends on itself`));
    }
    if (!meta.info.description?.trim()) {
      out.push(finding('discoverability', 'warning', 'plugin.json: description is empty'));
    }
    if (meta.info.keywords.every((k) => !k.trim())) {
      out.push(finding('discoverability', 'warning', 'plugin.json: keywords are empty'));
    }
    if (meta.buildMode !== undefined && meta.buildMode !== 'production') {
      out.push(finding('selfheal-buildmode', 'error', `plugin.json: buildMode is "${meta.buildMode}": package a production build`));
    }
    return out;
  },
};

// version (offline part) + packagejson + selfheal-updated: a real semver equal to package.json's, a build date that
// is not in the future, no build placeholder left in any text file.
const version: Check = {
  analyzer: 'packagejson',
  run: (a, source) => {
    const meta = rootMetadata(a);
    const out: Finding[] = [];
    for (const [path, bytes] of a.files) {
      const left = TEXT_FILE.test(path) ? utf8(bytes).match(/%(VERSION|TODAY|PLUGIN_ID)%/) : null;
      if (left) {
        out.push(finding('selfheal-placeholder', 'error', `${path}: build placeholder ${left[0]} was not replaced`));
      }
    }
    if (!meta) {
      return out;
    }
    const pkg = packageJson(source);
    if (!pkg) {
      out.push(finding('packagejson', 'error', `Could not find or parse package.json in ${source.pluginDir}`));
    } else if (pkg.version !== meta.info.version) {
      out.push(finding('packagejson', 'error', `The version in package.json (${pkg.version}) doesn't match the version in plugin.json (${meta.info.version})`));
    }
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    if (meta.info.updated > tomorrow) {
      out.push(finding('selfheal-updated', 'error', `plugin.json: info.updated ${meta.info.updated} is in the future`));
    }
    return out;
  },
};

// grafanadependency + restrictivedep: a valid range that does not pin one release; ours: it admits the Grafana
// release whose @grafana/data the plugin is built against.
const grafanaDependency: Check = {
  analyzer: 'grafanadependency',
  run: (a, source) => {
    const meta = rootMetadata(a);
    if (!meta) {
      return [];
    }
    const dep = meta.dependencies.grafanaDependency;
    const out: Finding[] = [];
    if (semver.validRange(dep) === null) {
      return [finding('grafanadependency', 'error', `plugin.json: grafanaDependency "${dep}" is not a valid version range`)];
    }
    if (/^[0-9]+.[0-9]+.x$/.test(dep)) {
      out.push(finding('restrictivedep', 'warning', `plugin only targets patch releases of Grafana ${dep.replace(/\.x$/, '')}`));
    } else if (/^[0-9]+.[0-9]+.[0-9]+$/.test(dep)) {
      out.push(finding('restrictivedep', 'warning', `plugin only targets Grafana ${dep}`));
    }
    const isGrafanaLabs = meta.info.author?.name?.toLowerCase() === 'grafana labs' || meta.id.split('-')[0] === 'grafana';
    if (isGrafanaLabs && !/-\S+$/.test(dep)) {
      out.push(finding('grafanadependency', 'warning', `Grafana dependency "${dep}" has no pre-release value`));
    }
    const dataPkg = join(source.pluginDir, 'package.json');
    const built = existsSync(dataPkg)
      ? (JSON.parse(readFileSync(dataPkg, 'utf8')) as { dependencies?: Record<string, string> }).dependencies?.['@grafana/data']
      : undefined;
    const builtVersion = built === undefined ? null : semver.minVersion(built);
    if (builtVersion && !semver.satisfies(builtVersion, dep)) {
      out.push(finding('selfheal-grafanadependency', 'error', `grafanaDependency "${dep}" excludes Grafana ${builtVersion.version}, whose @grafana/data the plugin is built with`));
    }
    return out;
  },
};

// logos + screenshots + metadatapaths: paths relative to plugin.json, without a leading "." or "/", naming files in
// the archive whose bytes are an accepted image type.
const metadataPaths: Check = {
  analyzer: 'metadatapaths',
  run: (a) => {
    const meta = rootMetadata(a);
    if (!meta) {
      return [];
    }
    const out: Finding[] = [];
    const paths: Array<{ kind: string; path: string }> = [];
    for (const [kind, path] of [['small logo', meta.info.logos.small], ['large logo', meta.info.logos.large]] as const) {
      if (!path.trim()) {
        out.push(finding('logos', 'error', `plugin.json: invalid empty ${kind} path`));
      } else {
        paths.push({ kind, path });
      }
    }
    const shots = meta.info.screenshots ?? [];
    if (shots.length === 0) {
      out.push(finding('screenshots', 'warning', 'plugin.json: should include screenshots for the Plugin catalog'));
    }
    for (const s of shots) {
      if (!s.path?.trim()) {
        out.push(finding('screenshots', 'error', `plugin.json: invalid empty screenshot path: "${s.name ?? ''}"`));
      } else {
        paths.push({ kind: 'screenshot', path: s.path });
      }
    }
    for (const { kind, path } of paths) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
        out.push(finding('metadatapaths', 'error', `plugin.json: ${kind} path should be relative to plugin.json: ${path}`));
        continue;
      }
      if (path.startsWith('.') || path.startsWith('/')) {
        out.push(finding('metadatapaths', 'error', `plugin.json: relative ${kind} path should not start with '.' or '/': ${path}`));
        continue;
      }
      const bytes = a.files.get(path);
      if (bytes === undefined) {
        const isDir = [...a.files.keys()].some((p) => p.startsWith(`${path.replace(/\/$/, '')}/`));
        out.push(finding('metadatapaths', 'error', `plugin.json: ${kind} path doesn't exist${isDir ? ' as a file (it is a folder)' : ''}: ${path}`));
        continue;
      }
      const kindOf = sniffImage(bytes);
      if (kindOf === undefined || !ACCEPTED_IMAGES.includes(kindOf)) {
        out.push(finding(kind === 'screenshot' ? 'screenshots' : 'logos', 'error', `invalid ${kind} image: "${path}". Accepted image types: ${ACCEPTED_IMAGES.join(', ')}`));
      }
    }
    return out;
  },
};

// modulejs + legacyplatform + trackingscripts, and ours: module.js is the AMD module Grafana's loader expects.
const moduleJs: Check = {
  analyzer: 'modulejs',
  run: (a) => {
    const js = text(a, 'module.js');
    if (js === undefined) {
      return [finding('modulejs', 'error', 'missing module.js')];
    }
    const out: Finding[] = [];
    if (!/(^|[\s;)])define\(\[/.test(js)) {
      out.push(finding('selfheal-modulejs', 'error', 'module.js is not an AMD module (no define([...]) call): Grafana cannot load it'));
    }
    const legacy = ['PanelCtrl', 'QueryCtrl', 'app/plugins/sdk', 'angular.isNumber(', 'editor.html', 'ctrl.annotation', 'getLegacyAngularInjector', 'System.register('];
    const hit = legacy.find((p) => js.includes(p)) ?? (/['"](app\/core\/utils\/promiseToDigest|app\/plugins\/.*?|app\/core\/core_module)['"]|from\s+['"]grafana\/app\//.exec(js)?.[0]);
    if (hit !== undefined) {
      out.push(finding('legacyplatform', 'error', `module.js: uses legacy plugin platform (AngularJS): found ${hit}`));
    }
    const tracker = ['https://www.google-analytics.com', 'https://api-js.mixpanel.com', 'https://mixpanel.com'].find((u) => js.includes(u));
    if (tracker) {
      out.push(finding('trackingscripts', 'error', `module.js: should not include tracking scripts (${tracker})`));
    }
    return out;
  },
};

// jsMap (jssourcemap) + sourcecode: a map beside every module.js, referenced by it, whose embedded sources are the
// files in src/; coderules (its JS/TS rules, run here on those same shipped sources instead of through semgrep).
const sourceMaps: Check = {
  analyzer: 'jsMap',
  run: (a, source) => {
    const meta = rootMetadata(a);
    const out: Finding[] = [];
    for (const js of [...a.files.keys()].filter((p) => p === 'module.js' || p.endsWith('/module.js'))) {
      const mapPath = `${js}.map`;
      const mapText = text(a, mapPath);
      if (mapText === undefined) {
        out.push(finding('jsMap', 'error', `missing ${mapPath} in archive`));
        continue;
      }
      if (!text(a, js)!.trimEnd().endsWith(`//# sourceMappingURL=${mapPath.split('/').pop()}`)) {
        out.push(finding('selfheal-jsmap', 'warning', `${js} does not end with a sourceMappingURL comment naming ${mapPath}`));
      }
      const { sources, problem } = mappedSources(mapText, meta?.id ?? a.root ?? '');
      if (problem) {
        out.push(finding('jsMap', 'error', `the sourcemap file ${mapPath} could not be validated: ${problem}`));
        continue;
      }
      if (sources.length === 0) {
        out.push(finding('jsMap', 'error', `${mapPath} embeds none of the plugin's own sources`));
        continue;
      }
      const diffs = diffAgainstSource(sources, join(source.pluginDir, 'src'));
      if (diffs.length > 0) {
        out.push(
          finding(
            'jsMap',
            'error',
            `The provided javascript/typescript source code does not match your plugin archive assets (${mapPath}): ${diffs.map((d) => `${d.path} ${d.problem}`).join(', ')}`
          )
        );
      }
      out.push(...codeRules(sources.filter((s) => /\.(ts|tsx)$/.test(s.path) && !/\.(test|spec)\.tsx?$/.test(s.path))));
    }
    return out;
  },
};

/** coderules' JavaScript/TypeScript semgrep rules as patterns over code with comments removed. */
function codeRules(sources: Array<{ path: string; content: string }>): Finding[] {
  const rules: Array<{ id: string; severity: Severity; pattern: RegExp; message: string }> = [
    {
      id: 'detect-console-logs',
      severity: 'warning',
      pattern: /\bconsole\.(log|info|table|debug|clear|count|countReset|dir|dirxml|group|groupEnd|time|timeEnd|timeLog|trace)\s*\(/,
      message: 'Console logging detected. Plugins should not log to the console.',
    },
    { id: 'detect-topnav-toggle', severity: 'error', pattern: /featureToggles\.topnav/, message: 'The `topnav` toggle is deprecated.' },
    { id: 'detect-invalid-window-properties', severity: 'error', pattern: /window\.(grafanaBootData|grafanaRuntime|__grafanaSceneContext)/, message: 'Access to a restricted window property.' },
    { id: 'detect-old-react-internals', severity: 'warning', pattern: /__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED/, message: "Usage of React's internal API." },
    {
      id: 'no-direct-css-imports',
      severity: 'error',
      pattern: /import\s+['"].*\.(css|scss|less)['"]|import\s*\{[^}]*\bGlobal\b[^}]*\}\s*from\s*['"]@emotion\/react['"]/,
      message: 'Direct CSS imports and Emotion Global components are not permitted.',
    },
  ];
  const out: Finding[] = [];
  for (const s of sources) {
    const code = s.content.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
    const lines = code.split('\n');
    for (const rule of rules) {
      const line = lines.findIndex((l) => rule.pattern.test(l));
      if (line >= 0) {
        out.push(finding('coderules', rule.severity, `${rule.id}: src/${s.path}:${line + 1}: ${rule.message}`));
      }
    }
  }
  return out;
}

// readme + templatereadme + jargon + brokenlinks (the offline part: links must be absolute, and well-formed).
const readme: Check = {
  analyzer: 'readme',
  run: (a) => {
    const md = text(a, 'README.md');
    if (md === undefined) {
      return [finding('readme', 'error', 'missing README.md')];
    }
    const out: Finding[] = [];
    if (/Grafana (Panel|Data Source|Datasource|App|Data Source Backend) Plugin Template/i.test(md)) {
      out.push(finding('templatereadme', 'error', 'README.md: uses README from template'));
    }
    const jargon = ['yarn', 'nodejs'].filter((w) => md.includes(w));
    if (jargon.length > 0) {
      out.push(finding('jargon', 'warning', `README.md contains developer jargon: (${jargon.join(', ')})`));
    }
    for (const m of md.matchAll(/\[.+?\]\((.+?)\)/g)) {
      const path = (m[1] ?? '').trim().split(/\s+/)[0] ?? '';
      if (path.startsWith('#') || path.startsWith('mailto:')) {
        continue;
      }
      if (!/^https?:\/\//.test(path)) {
        out.push(finding('brokenlinks', 'error', `README.md: convert relative link to absolute: ${path}`));
        continue;
      }
      try {
        new URL(path);
      } catch {
        out.push(finding('brokenlinks', 'error', `README.md: malformed link: ${path}`));
      }
    }
    return out;
  },
};

// changelog + license (the license detector needs Apache-2.0 or AGPL-3.0 text; ours: it agrees with package.json).
const changelogAndLicense: Check = {
  analyzer: 'changelog',
  run: (a, source) => {
    const out: Finding[] = [];
    const changelog = text(a, 'CHANGELOG.md');
    if (changelog === undefined) {
      out.push(finding('changelog', 'warning', 'missing CHANGELOG.md'));
    } else if (!changelog.trim()) {
      out.push(finding('changelog', 'warning', 'CHANGELOG.md is empty'));
    }
    const licensePath = [...a.files.keys()].find((p) => /^LICEN[SC]E(\.md|\.txt)?$/i.test(p));
    const license = licensePath === undefined ? undefined : text(a, licensePath)!;
    const detected =
      license === undefined
        ? undefined
        : /Apache License/.test(license) && /Version 2\.0/.test(license)
          ? 'Apache-2.0'
          : /GNU AFFERO GENERAL PUBLIC LICENSE/.test(license) && /Version 3/.test(license)
            ? 'AGPL-3.0'
            : undefined;
    if (license === undefined) {
      out.push(finding('license', 'error', 'License not found: include a LICENSE file in the archive'));
    } else if (detected === undefined) {
      out.push(finding('license', 'error', `Valid license not found in ${licensePath}: Apache-2.0 or AGPL-3.0 expected`));
    } else {
      const declared = packageJson(source)?.license;
      if (declared !== undefined && !declared.startsWith(detected)) {
        out.push(finding('selfheal-license', 'error', `${licensePath} is ${detected} but package.json declares ${declared}`));
      }
    }
    return out;
  },
};

// unsafesvg: every .svg in the archive.
const unsafeSvg: Check = {
  analyzer: 'unsafesvg',
  run: (a) =>
    [...a.files.entries()]
      .filter(([p]) => p.toLowerCase().endsWith('.svg'))
      .flatMap(([p, bytes]) => unsafeSvgProblems(utf8(bytes)).map((why) => finding('unsafesvg', 'error', `SVG file ${p} is unsafe: ${why}`))),
};

// backendbinary: a frontend-only plugin declares no backend and ships no executable.
const backend: Check = {
  analyzer: 'backendbinary',
  run: (a) => {
    const meta = rootMetadata(a);
    const binaries = [...a.files.keys()].filter((p) => /(^|\/)gpx_[^/]*$/.test(p));
    if (!meta) {
      return [];
    }
    if (!meta.backend && (binaries.length > 0 || meta.executable)) {
      return [finding('backendbinary', 'error', `plugin.json declares no backend, but the archive has ${binaries.join(', ') || `executable "${meta.executable}"`}`)];
    }
    if (meta.backend && binaries.length === 0) {
      return [finding('backendbinary', 'error', 'plugin.json declares a backend, but the archive has no gpx_ executable')];
    }
    return [];
  },
};

// manifest (signature): the signature itself cannot be verified offline (Grafana's key, the catalog's records).
// Unsigned: a warning, since Grafana loads it only with allow_loading_unsigned_plugins. Signed: every file is listed
// in MANIFEST.txt with its SHA-256, and nothing else changed.
const manifest: Check = {
  analyzer: 'manifest',
  run: (a) => {
    const m = text(a, 'MANIFEST.txt');
    if (m === undefined) {
      return [finding('manifest', 'warning', 'unsigned plugin: no MANIFEST.txt (sign it with @grafana/sign-plugin before submitting to the catalog)')];
    }
    if (!m.includes('-----BEGIN PGP SIGNED MESSAGE-----')) {
      return [finding('manifest', 'error', 'MANIFEST.txt is not a PGP signed message')];
    }
    const body = m.slice(m.indexOf('{'), m.lastIndexOf('}') + 1);
    let files: Record<string, string>;
    try {
      files = (JSON.parse(body) as { files: Record<string, string> }).files;
    } catch {
      return [finding('manifest', 'error', 'MANIFEST.txt: the signed body is not the expected JSON')];
    }
    const out: Finding[] = [];
    for (const [path, bytes] of a.files) {
      if (path === 'MANIFEST.txt') {
        continue;
      }
      const want = files[path];
      const got = createHash('sha256').update(bytes).digest('hex');
      if (want === undefined) {
        out.push(finding('manifest', 'error', `${path} is not listed in MANIFEST.txt`));
      } else if (want !== got) {
        out.push(finding('manifest', 'error', `${path} does not match its SHA-256 in MANIFEST.txt`));
      }
    }
    return out;
  },
};

export const CHECKS: Check[] = [
  metadataValid,
  archiveName,
  nestedArchives,
  junkFiles,
  identity,
  version,
  grafanaDependency,
  metadataPaths,
  moduleJs,
  sourceMaps,
  readme,
  changelogAndLicense,
  unsafeSvg,
  backend,
  manifest,
];
