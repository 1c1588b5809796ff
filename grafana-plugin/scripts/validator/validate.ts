// Runs the offline checks on one plugin zip and returns every finding (errors and warnings), like the validator's
// plain output. The archive layout comes first: when it is unusable, the per-file checks do not run.
import { createHash } from 'node:crypto';

import { CHECKS } from './checks';
import { readArchive } from './readArchive';
import type { Finding, SourceContext } from './types';

export type { Finding, Severity } from './types';

export function validateArchive(fileName: string, bytes: Uint8Array, source: SourceContext): Finding[] {
  const { archive, findings } = readArchive(fileName, bytes);
  if (archive.root === undefined || findings.some((f) => f.analyzer === 'selfheal-size')) {
    return findings;
  }
  // checksum: the published checksums are the archive's (MD5 and SHA-1 are what the catalog accepts).
  for (const [algorithm, expected] of Object.entries(source.checksums ?? {})) {
    const actual = createHash(algorithm).update(bytes).digest('hex');
    if (expected !== undefined && expected.trim().split(/\s+/)[0]!.toLowerCase() !== actual) {
      findings.push({ analyzer: 'checksum', severity: 'error', message: `The provided ${algorithm} checksum ${expected.trim()} does not match the plugin archive (${actual})` });
    }
  }
  for (const check of CHECKS) {
    findings.push(...check.run(archive, source));
  }
  return findings;
}

export function formatFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.severity}: [${f.analyzer}] ${f.message}`).join('\n');
}
