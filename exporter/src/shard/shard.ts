// Sharding: N exporters split the entities between them, each scoring only those that hash to its shard.
// The hash is Prometheus's `hashmod` relabelling (md5 of the joined values, the low 8 bytes as a big-endian
// unsigned 64-bit integer, mod N), applied to the entity's group name and its groupBy label values in label
// name order, joined with ";":
//
//   shard = uint64_be(md5("<group>;<value of the 1st groupBy label in sorted order>;<2nd>...")[8:16]) mod N
//
// so a user can reproduce the assignment with a `hashmod` relabel rule on the exporter's own series
// (source_labels: [group, <groupBy labels, sorted>], separator ";", modulus N).
import { createHash } from 'node:crypto';

export interface Shard {
  /** 0-based index of this shard. */
  readonly index: number;
  /** Number of shards; 1 = no sharding. */
  readonly count: number;
  /** Whether training reads name this shard's entities in PromQL where safe (src/shard/pushdown.ts); default true. */
  readonly pushdown?: boolean;
}

export const NO_SHARD: Shard = { index: 0, count: 1 };

export class ShardError extends Error {}

/** Why `index`/`count` is not a valid shard, or undefined when it is. */
export function shardProblem(index: number, count: number): string | undefined {
  if (!Number.isInteger(count) || count < 1) return `shard count ${count} must be a whole number of at least 1`;
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    return `shard index ${index} must be a whole number with 0 <= index < count (${count}), i.e. 0..${count - 1}`;
  }
  return undefined;
}

/** Parses "I/N" (the `--shard` flag), e.g. "2/3". Throws ShardError naming the value. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new ShardError(`--shard "${text}": expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/3`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  const problem = shardProblem(index, count);
  if (problem) throw new ShardError(`--shard "${text}": ${problem}`);
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The string that is hashed: the group name and the entity's groupBy label values, in label name order, joined with ";". */
export function shardKey(group: string, groupBy: readonly string[], labels: Readonly<Record<string, string | undefined>>): string {
  return [group, ...[...groupBy].sort().map((label) => labels[label] ?? '')].join(';');
}

/** Prometheus `hashmod`: md5, its last 8 bytes as a big-endian uint64, modulo `count`. */
export function hashmod(value: string, count: number): number {
  const digest = createHash('md5').update(value).digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(count));
}

/** The shard (0..count-1) that owns the entity. */
export function shardOf(group: string, groupBy: readonly string[], labels: Readonly<Record<string, string | undefined>>, count: number): number {
  return count <= 1 ? 0 : hashmod(shardKey(group, groupBy, labels), count);
}

export function sameShard(a: Shard | undefined, b: Shard | undefined): boolean {
  const x = a ?? NO_SHARD;
  const y = b ?? NO_SHARD;
  return x.index === y.index && x.count === y.count;
}
