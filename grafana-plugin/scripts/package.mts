// `npm run package -w grafana-plugin` (after the production build): zips dist/ into
// release/<plugin-id>-<version>.zip with its .sha1 and .md5, then runs the offline plugin-validator checks on the
// zip, as create-plugin's release workflow runs the validator after packaging. Exits 1 when a check fails.
import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { packagePlugin } from './packageArchive';
import { formatFindings, validateArchive } from './validator/validate';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
const outDir = process.argv[2] ?? join(pluginDir, 'release');

const packaged = packagePlugin(join(pluginDir, 'dist'), outDir);
const rel = (p: string) => relative(process.cwd(), p);
console.log(`packaged ${packaged.pluginId} ${packaged.version}: ${rel(packaged.zipPath)} (${packaged.entries.length} entries)`);
console.log(`  sha1 ${packaged.sha1}  ${rel(packaged.sha1Path)}`);
console.log(`  md5  ${packaged.md5}  ${rel(packaged.md5Path)}`);

const findings = validateArchive(basename(packaged.zipPath), new Uint8Array(readFileSync(packaged.zipPath)), {
  pluginDir,
  checksums: { sha1: readFileSync(packaged.sha1Path, 'utf8'), md5: readFileSync(packaged.md5Path, 'utf8') },
});
const errors = findings.filter((f) => f.severity === 'error');
console.log(`offline plugin-validator checks: ${errors.length} error(s), ${findings.length - errors.length} warning(s)`);
if (findings.length > 0) {
  console.log(formatFindings(findings));
}
process.exitCode = errors.length > 0 ? 1 : 0;
