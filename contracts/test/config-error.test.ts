import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue, formatKeyPath } from '../src/config/config-error.js';
import { parseYaml, readConfigText } from '../src/config/yaml.js';

describe('ConfigError', () => {
  it('formats key paths as people write them', () => {
    expect(formatKeyPath(['groups', 0, 'schedule', 'interval'])).toBe('groups[0].schedule.interval');
    expect(formatKeyPath([])).toBe('(top level)');
  });

  it('carries every issue with its key path, and lines that name the file, line and key', () => {
    const error = new ConfigError('a.yml', [
      { path: ['listen'], message: 'must be HOST:PORT', line: 3, column: 9 },
      { path: ['auth', 'tokenFile'], message: 'is required' },
      'a line worded elsewhere',
    ], 'exporter config');
    expect(error.issues[0]?.path).toEqual(['listen']);
    expect(error.problems).toEqual(['a.yml:3:9: listen: must be HOST:PORT', 'auth.tokenFile: is required', 'a line worded elsewhere']);
    expect(error.errors).toEqual(error.problems);
    expect(error.message).toBe('invalid exporter config a.yml:\n  - a.yml:3:9: listen: must be HOST:PORT\n  - auth.tokenFile: is required\n  - a line worded elsewhere');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(formatConfigIssue({ message: 'the file is empty' }, 'f')).toBe('the file is empty');
  });
});

describe('parseYaml', () => {
  it('finds the line of a key path, and of an unknown key', () => {
    const parsed = parseYaml('prometheus:\n  url: http://x\n  timout: 5s\ngroups:\n  - name: a\n    every: 1m\n');
    if (!parsed.ok) throw new Error('expected valid YAML');
    expect(parsed.value).toEqual({ prometheus: { url: 'http://x', timout: '5s' }, groups: [{ name: 'a', every: '1m' }] });
    expect(parsed.locate(['prometheus', 'url'])).toEqual({ line: 2, column: 8 });
    expect(parsed.locate(['prometheus'], 'timout')).toEqual({ line: 3, column: 3 });
    expect(parsed.locate(['groups', 0, 'every'])).toEqual({ line: 6, column: 12 });
    // A key that is not there: its deepest present parent.
    expect(parsed.locate(['groups', 0, 'missing'])).toEqual({ line: 5, column: 5 });
  });

  it('reports syntax errors and duplicate keys with their line', () => {
    const broken = parseYaml('a: [1\n');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.errors[0]).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
    const duplicate = parseYaml('a: 1\nb: 2\na: 3\n');
    expect(duplicate.ok).toBe(false);
    if (!duplicate.ok) expect(duplicate.errors[0]).toMatchObject({ line: expect.any(Number), message: expect.stringMatching(/unique/) });
  });

  it('reads a file, or says why it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-yaml-'));
    writeFileSync(join(dir, 'c.yml'), 'a: 1\n');
    expect(readConfigText(join(dir, 'c.yml'))).toBe('a: 1\n');
    expect(() => readConfigText(join(dir, 'missing.yml'))).toThrow(ConfigError);
    expect(() => readConfigText(join(dir, 'missing.yml'))).toThrow(/cannot read the file: ENOENT/);
  });
});
