// The Debian binaries the harness runs, and one clear message with the install command when one is missing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface BinarySpec {
  /** Executable name on PATH. */
  command: string;
  /** Debian package that ships it. */
  debianPackage: string;
}

export const BINARIES = {
  prometheus: { command: 'prometheus', debianPackage: 'prometheus' },
  promtool: { command: 'promtool', debianPackage: 'prometheus' },
  alertmanager: { command: 'prometheus-alertmanager', debianPackage: 'prometheus-alertmanager' },
  amtool: { command: 'amtool', debianPackage: 'prometheus-alertmanager' },
} as const satisfies Record<string, BinarySpec>;

export class MissingBinaryError extends Error {
  constructor(readonly spec: BinarySpec) {
    super(
      `${spec.command} is not installed. Install it with: ` +
        `sudo apt-get install -y --no-install-recommends ${spec.debianPackage}  (or run \`npm run setup\`)`,
    );
    this.name = 'MissingBinaryError';
  }
}

/** Absolute path of the binary on PATH, or undefined. */
export function findBinary(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Absolute path of the binary, or a MissingBinaryError naming the package to install. */
export function requireBinary(spec: BinarySpec): string {
  const path = findBinary(spec.command);
  if (!path) throw new MissingBinaryError(spec);
  return path;
}
