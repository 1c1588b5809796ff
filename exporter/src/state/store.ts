// Model persistence: one file per group in the state directory, so that a restarted exporter scores
// at once instead of warming up blind. Versioned binary format, written atomically (temp file + rename);
// each entry carries a CRC so that one damaged entry is skipped without losing the others.
//
//   "SHXSTATE"  u32 version  u32 headerLength  header JSON {group, fingerprint, featureNames, savedAt}
//   entries:    u32 metaLength  meta JSON {labels, lastTimestamp}  u32 blobLength  blob  u32 crc32(meta, blob)
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export const STATE_MAGIC = 'SHXSTATE';
export const STATE_VERSION = 1;

export interface StateHeader {
  group: string;
  fingerprint: string;
  featureNames: string[];
  savedAt: number;
}

export interface StoredEntity {
  labels: Record<string, string>;
  /** Timestamp (seconds) of the last sample the model saw; scoring resumes after it. */
  lastTimestamp: number;
  blob: Uint8Array;
}

export interface LoadedState {
  header: StateHeader | undefined;
  entities: StoredEntity[];
  /** What was wrong (a missing file is not a problem), for the log. */
  problems: string[];
}

/** Identifies what a saved model means: the same features, queries, entity labels and detector settings. */
export function groupFingerprint(parts: { groupBy: readonly string[]; features: Readonly<Record<string, string>>; detector: unknown; step: number }): string {
  return createHash('sha256').update(JSON.stringify([parts.groupBy, Object.entries(parts.features), parts.detector ?? null, parts.step])).digest('hex').slice(0, 32);
}

export function stateFile(dir: string, group: string): string {
  const safe = group.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 8);
  return join(dir, `group-${safe}-${hash}.state`);
}

function u32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32LE(value >>> 0, 0);
  return buffer;
}

/** Writes the group's state atomically; returns bytes written. */
export async function saveGroupState(dir: string, header: StateHeader, entities: Iterable<StoredEntity>): Promise<number> {
  await mkdir(dir, { recursive: true });
  const file = stateFile(dir, header.group);
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  let written = 0;
  try {
    const headerBytes = Buffer.from(JSON.stringify(header));
    let pending: Buffer[] = [Buffer.from(STATE_MAGIC, 'latin1'), u32(STATE_VERSION), u32(headerBytes.length), headerBytes];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(pending);
      await handle.write(chunk);
      written += chunk.length;
      pending = [];
      pendingBytes = 0;
    };
    for (const entity of entities) {
      const meta = Buffer.from(JSON.stringify({ labels: entity.labels, lastTimestamp: entity.lastTimestamp }));
      const blob = Buffer.from(entity.blob.buffer, entity.blob.byteOffset, entity.blob.byteLength);
      const crc = crc32(blob, crc32(meta));
      pending.push(u32(meta.length), meta, u32(blob.length), blob, u32(crc));
      pendingBytes += meta.length + blob.length + 12;
      if (pendingBytes > 4 << 20) await flush();
    }
    await flush();
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  return written;
}

/**
 * Reads the group's state. Never throws for bad content: a missing file is an empty state, a foreign,
 * corrupt, old-format or other-configuration file is reported in `problems` and ignored, a damaged
 * entry is skipped and the rest are kept.
 */
export async function loadGroupState(dir: string, group: string, fingerprint: string): Promise<LoadedState> {
  const file = stateFile(dir, group);
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { header: undefined, entities: [], problems: [] };
    return { header: undefined, entities: [], problems: [`${file}: cannot read: ${(error as Error).message}`] };
  }
  const fail = (why: string): LoadedState => ({ header: undefined, entities: [], problems: [`${file}: ${why}; ignored (models of group "${group}" start fresh)`] });
  if (data.length < 16 || data.toString('latin1', 0, 8) !== STATE_MAGIC) return fail('not a Selfheal exporter state file');
  const version = data.readUInt32LE(8);
  if (version !== STATE_VERSION) return fail(`state format version ${version}, this exporter reads version ${STATE_VERSION}`);
  const headerLength = data.readUInt32LE(12);
  if (16 + headerLength > data.length) return fail('truncated header');
  let header: StateHeader;
  try {
    header = JSON.parse(data.toString('utf8', 16, 16 + headerLength)) as StateHeader;
  } catch {
    return fail('corrupt header');
  }
  if (header.group !== group) return fail(`holds group "${String(header.group)}"`);
  if (header.fingerprint !== fingerprint) {
    return fail('saved for another configuration of the group (features, queries, entity labels or detector settings changed)');
  }
  const entities: StoredEntity[] = [];
  const problems: string[] = [];
  let offset = 16 + headerLength;
  let index = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) {
      problems.push(`${file}: truncated after entry ${index}; the rest is lost`);
      break;
    }
    const metaLength = data.readUInt32LE(offset);
    const metaStart = offset + 4;
    const blobLengthAt = metaStart + metaLength;
    if (blobLengthAt + 4 > data.length) {
      problems.push(`${file}: truncated after entry ${index}; the rest is lost`);
      break;
    }
    const blobLength = data.readUInt32LE(blobLengthAt);
    const blobStart = blobLengthAt + 4;
    const crcAt = blobStart + blobLength;
    if (crcAt + 4 > data.length) {
      problems.push(`${file}: truncated after entry ${index}; the rest is lost`);
      break;
    }
    const meta = data.subarray(metaStart, blobLengthAt);
    const blob = data.subarray(blobStart, crcAt);
    offset = crcAt + 4;
    if (crc32(blob, crc32(meta)) !== data.readUInt32LE(crcAt)) {
      problems.push(`${file}: entry ${index} is damaged (checksum); skipped`);
      index++;
      continue;
    }
    try {
      const parsed = JSON.parse(meta.toString('utf8')) as { labels: Record<string, string>; lastTimestamp: number };
      entities.push({ labels: parsed.labels, lastTimestamp: parsed.lastTimestamp, blob: new Uint8Array(blob) });
    } catch {
      problems.push(`${file}: entry ${index} has corrupt metadata; skipped`);
    }
    index++;
  }
  return { header, entities, problems };
}
