// `npm run validate -w grafana-plugin -- <plugin.zip>`: the offline plugin-validator checks on any plugin zip
// (checked against this package's src/ and package.json; <zip>.sha1 / <zip>.md5 beside it are verified when present).
// Prints one line per finding; exits 1 when there is an error.
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { formatFindings, validateArchive } from './validator/validate';

const zip = process.argv[2];
if (zip === undefined || !existsSync(zip)) {
  console.error(`usage: npm run validate -w grafana-plugin -- <plugin.zip>${zip === undefined ? '' : `\n${zip}: no such file`}`);
  process.exit(2);
}
const checksum = (ext: string) => (existsSync(`${zip}.${ext}`) ? readFileSync(`${zip}.${ext}`, 'utf8') : undefined);
const findings = validateArchive(basename(zip), new Uint8Array(readFileSync(resolve(zip))), {
  pluginDir: fileURLToPath(new URL('..', import.meta.url)),
  checksums: { sha1: checksum('sha1'), md5: checksum('md5') },
});
const errors = findings.filter((f) => f.severity === 'error').length;
console.log(`${basename(zip)}: ${errors} error(s), ${findings.length - errors} warning(s)`);
if (findings.length > 0) {
  console.log(formatFindings(findings));
}
process.exitCode = errors > 0 ? 1 : 0;
