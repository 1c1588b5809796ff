import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupFingerprint, loadGroupState, saveGroupState, stateFile, type StoredEntity } from '../src/state/store.js';

const fingerprint = groupFingerprint({ groupBy: ['service'], features: { cpu: 'x' }, detector: {}, step: 15 });
const header = { group: 'services', fingerprint, featureNames: ['cpu'], savedAt: 1_700_000_000 };

function entities(n: number): StoredEntity[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: { service: `svc-${i}` },
    lastTimestamp: 1_700_000_000 + i,
    blob: Uint8Array.from({ length: 100 + i }, (_, j) => (i * 31 + j) & 0xff),
  }));
}

describe('model state files', () => {
  it('round-trips every entity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-state-'));
    const saved = entities(50);
    await saveGroupState(dir, header, saved);
    const loaded = await loadGroupState(dir, 'services', fingerprint);
    expect(loaded.problems).toEqual([]);
    expect(loaded.header).toEqual(header);
    expect(loaded.entities).toEqual(saved);
  });

  it('treats a missing file as an empty state, silently', async () => {
    const loaded = await loadGroupState(mkdtempSync(join(tmpdir(), 'selfheal-state-')), 'services', fingerprint);
    expect(loaded).toEqual({ header: undefined, entities: [], problems: [] });
  });

  it('skips a damaged entry and keeps the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-state-'));
    await saveGroupState(dir, header, entities(3));
    const file = stateFile(dir, 'services');
    const bytes = readFileSync(file);
    // Flip a byte in the middle of the last entry's blob.
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const loaded = await loadGroupState(dir, 'services', fingerprint);
    expect(loaded.entities.map((e) => e.labels.service)).toEqual(['svc-0', 'svc-1']);
    expect(loaded.problems).toEqual([expect.stringMatching(/entry 2 is damaged \(checksum\); skipped/)]);
  });

  it('keeps the entries before a truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-state-'));
    await saveGroupState(dir, header, entities(3));
    const file = stateFile(dir, 'services');
    writeFileSync(file, readFileSync(file).subarray(0, -50));
    const loaded = await loadGroupState(dir, 'services', fingerprint);
    expect(loaded.entities.length).toBe(2);
    expect(loaded.problems).toEqual([expect.stringMatching(/truncated after entry 2/)]);
  });

  it.each([
    ['a foreign file', () => Buffer.from('hello world, not a state file'), /not a Selfheal exporter state file; ignored/],
    ['an old format version', (b: Buffer) => (b.writeUInt32LE(0, 8), b), /state format version 0, this exporter reads version 1; ignored/],
    ['a corrupt header', (b: Buffer) => (b.fill(0x7b, 16, 24), b), /corrupt header; ignored/],
    ['an empty file', () => Buffer.alloc(0), /not a Selfheal exporter state file/],
  ])('reports %s and ignores it, never throws', async (_what, damage, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-state-'));
    await saveGroupState(dir, header, entities(2));
    const file = stateFile(dir, 'services');
    writeFileSync(file, damage(readFileSync(file)));
    const loaded = await loadGroupState(dir, 'services', fingerprint);
    expect(loaded.entities).toEqual([]);
    expect(loaded.problems.join('\n')).toMatch(expected);
  });

  it('ignores models saved for another configuration of the group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-state-'));
    await saveGroupState(dir, header, entities(2));
    const other = groupFingerprint({ groupBy: ['service'], features: { cpu: 'y' }, detector: {}, step: 15 });
    const loaded = await loadGroupState(dir, 'services', other);
    expect(loaded.entities).toEqual([]);
    expect(loaded.problems.join('\n')).toMatch(/saved for another configuration/);
  });
});
