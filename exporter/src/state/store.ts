// Model persistence: one file per group in the state directory, so that a restarted exporter scores
// at once instead of warming up blind. Versioned binary format, written atomically (temp file + rename);
// each entry carries a CRC so that one damaged entry is skipped without losing the others.
//
//   "SHXSTATE"  u32 version  u32 headerLength  header JSON {group, fingerprint, featureNames, savedAt, shard}
//   entries:    u32 metaLength  meta JSON {labels, lastTimestamp}  u32 blobLength  blob  u32 crc32(meta, blob)
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export const STATE_MAGIC = 'SHXSTATE';
export const STATE_VERSION = 1;

export interface StateHeader {
  group: string;
  fingerprint: string;
  featureNames: string[];
  savedAt: number;
  /** The shard that saved the file (absent in files of unsharded exporters before sharding existed = 0/1). */
  shard?: { index: number; count: number };
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
    // Each entry's pieces are written as they are (one writev per few MiB), never copied into one buffer.
    const flush = async (): Promise<void> => {
      for (let i = 0; i < pending.length; i += 1024) {
        const part = pending.slice(i, i + 1024);
        const expected = part.reduce((sum, b) => sum + b.length, 0);
        const { bytesWritten } = await handle.writev(part);
        if (bytesWritten !== expected) throw new Error(`short write to ${temp}: ${bytesWritten} of ${expected} bytes`);
        written += bytesWritten;
      }
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

/** Sequential reads of a file through a buffer (the state file can exceed what should be held at once). */
class BufferedFile {
  private buffer = Buffer.alloc(0);
  private position = 0;
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<BufferedFile> {
    const handle = await open(path, 'r');
    return new BufferedFile(handle, (await handle.stat()).size);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.position - this.buffer.length;
  }

  /** The next n bytes, or undefined at (or past) the end of the file. */
  async take(n: number): Promise<Buffer | undefined> {
    if (this.buffer.length < n) {
      const want = Math.max(n - this.buffer.length, 1 << 20);
      const chunk = Buffer.allocUnsafe(Math.min(want, Math.max(0, this.size - this.position)));
      const { bytesRead } = chunk.length > 0 ? await this.handle.read(chunk, 0, chunk.length, this.position) : { bytesRead: 0 };
      this.position += bytesRead;
      this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, bytesRead)]);
      if (this.buffer.length < n) return undefined;
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Reads the group's state, entry by entry (`onEntity` receives each one; without it they are collected).
 * Never throws for bad content: a missing file is an empty state, a foreign, corrupt, old-format or
 * other-configuration file is reported in `problems` and ignored, a damaged entry is skipped and the
 * rest are kept.
 */
export async function loadGroupState(
  dir: string,
  group: string,
  fingerprint: string,
  onEntity?: (entity: StoredEntity) => void,
): Promise<LoadedState> {
  const file = stateFile(dir, group);
  let reader: BufferedFile;
  try {
    reader = await BufferedFile.open(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { header: undefined, entities: [], problems: [] };
    return { header: undefined, entities: [], problems: [`${file}: cannot read: ${(error as Error).message}`] };
  }
  try {
    return await readState(reader, file, group, fingerprint, onEntity);
  } catch (error) {
    return { header: undefined, entities: [], problems: [`${file}: cannot read: ${(error as Error).message}`] };
  } finally {
    await reader.close();
  }
}

async function readState(
  reader: BufferedFile,
  file: string,
  group: string,
  fingerprint: string,
  onEntity: ((entity: StoredEntity) => void) | undefined,
): Promise<LoadedState> {
  const fail = (why: string): LoadedState => ({ header: undefined, entities: [], problems: [`${file}: ${why}; ignored (models of group "${group}" start fresh)`] });
  const start = await reader.take(16);
  if (!start || start.toString('latin1', 0, 8) !== STATE_MAGIC) return fail('not a Selfheal exporter state file');
  const version = start.readUInt32LE(8);
  if (version !== STATE_VERSION) return fail(`state format version ${version}, this exporter reads version ${STATE_VERSION}`);
  const headerLength = start.readUInt32LE(12);
  const headerBytes = headerLength <= reader.size ? await reader.take(headerLength) : undefined;
  if (!headerBytes) return fail('truncated header');
  let header: StateHeader;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as StateHeader;
  } catch {
    return fail('corrupt header');
  }
  if (header.group !== group) return fail(`holds group "${String(header.group)}"`);
  if (header.fingerprint !== fingerprint) {
    return fail('saved for another configuration of the group (features, queries, entity labels or detector settings changed)');
  }
  const entities: StoredEntity[] = [];
  const problems: string[] = [];
  let index = 0;
  while (reader.offset < reader.size) {
    const truncated = (): void => {
      problems.push(`${file}: truncated after entry ${index}; the rest is lost`);
    };
    const metaLength = await reader.take(4);
    const meta = metaLength && metaLength.readUInt32LE(0) <= reader.size ? await reader.take(metaLength.readUInt32LE(0)) : undefined;
    const blobLength = meta ? await reader.take(4) : undefined;
    const blob = blobLength && blobLength.readUInt32LE(0) <= reader.size ? await reader.take(blobLength.readUInt32LE(0)) : undefined;
    const crc = blob ? await reader.take(4) : undefined;
    if (!meta || !blob || !crc) {
      truncated();
      break;
    }
    if (crc32(blob, crc32(meta)) !== crc.readUInt32LE(0)) {
      problems.push(`${file}: entry ${index} is damaged (checksum); skipped`);
      index++;
      continue;
    }
    try {
      const parsed = JSON.parse(meta.toString('utf8')) as { labels: Record<string, string>; lastTimestamp: number };
      const entity = { labels: parsed.labels, lastTimestamp: parsed.lastTimestamp, blob: new Uint8Array(blob) };
      if (onEntity) onEntity(entity);
      else entities.push(entity);
    } catch {
      problems.push(`${file}: entry ${index} has corrupt metadata; skipped`);
    }
    index++;
  }
  return { header, entities, problems };
}
