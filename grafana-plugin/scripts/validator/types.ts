// What the offline plugin-archive checks report: one finding per problem, named after the Grafana plugin-validator
// analyzer it mirrors (github.com/grafana/plugin-validator, pkg/analysis/passes/<analyzer>), so a finding here reads
// like the validator's own output and can be looked up there.

export type Severity = 'error' | 'warning';

export interface Finding {
  /** The validator analyzer this check mirrors (its folder name), or `selfheal-*` for checks of our own. */
  analyzer: string;
  severity: Severity;
  message: string;
}

/** A plugin archive as read from its zip: raw entry names, and files keyed by their path below the root folder. */
export interface PluginArchive {
  /** The zip's file name (no folder). */
  fileName: string;
  sizeBytes: number;
  /** Every entry name as stored in the zip, directories included (ending in "/"). */
  entries: string[];
  /** The single top-level folder, when there is exactly one. */
  root: string | undefined;
  /** Files below the root folder (no directory entries), by path relative to it ("img/logo.svg"). */
  files: Map<string, Uint8Array>;
}

/** What the checks need besides the archive: the plugin's source, for the checks the validator runs with -sourceCodeUri. */
export interface SourceContext {
  /** The plugin's package folder (holds package.json and src/). */
  pluginDir: string;
  /** Checksums published beside the zip (`<zip>.sha1`, `<zip>.md5`), hex, when given. */
  checksums?: { sha1?: string; md5?: string };
}

export interface Check {
  analyzer: string;
  run: (archive: PluginArchive, source: SourceContext) => Finding[];
}
