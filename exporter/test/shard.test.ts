// The shard assignment (Prometheus hashmod of the group and groupBy values), `--shard I/N` parsing, and the
// `shard:` config section's validation.
import { describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { hashmod, parseShard, shardKey, shardOf } from '../src/shard/shard.js';
import { configProblems } from './helpers.js';

const DEFAULTS = defaultDetectorFactory();
const config = (shard: string): string => `
prometheus: { url: http://127.0.0.1:9090 }
${shard}
groups:
  - name: services
    groupBy: [service]
    features:
      cpu: sum by (service) (rate(process_cpu_seconds_total[1m]))
`;

describe('shard assignment', () => {
  it('is md5 of the joined values, last 8 bytes big-endian, mod N (Prometheus hashmod)', () => {
    // Reference values computed independently with Python: int.from_bytes(md5(v).digest()[8:], 'big') % n
    expect(hashmod('services;checkout', 3)).toBe(1);
    expect(hashmod('services;cart', 3)).toBe(2);
    expect(hashmod('services;search', 3)).toBe(2);
    expect(hashmod('services;payments', 3)).toBe(2);
    expect(hashmod('g;a;b', 4)).toBe(1);
  });

  it('hashes the group and the groupBy values in label name order', () => {
    expect(shardKey('g', ['zone', 'app'], { app: 'a', zone: 'b', other: 'x' })).toBe('g;a;b');
    expect(shardOf('g', ['zone', 'app'], { zone: 'b', app: 'a' }, 4)).toBe(1);
    expect(shardKey('g', ['service'], {})).toBe('g;');
    expect(shardOf('services', ['service'], { service: 'checkout' }, 1)).toBe(0);
  });

  it('spreads entities evenly and keeps every entity in exactly one shard', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const owners = [0, 1, 2, 3].filter((index) => shardOf('services', ['service'], { service: `svc-${i}` }, 4) === index);
      expect(owners).toHaveLength(1);
      counts[owners[0] as number]!++;
    }
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
  });
});

describe('--shard I/N', () => {
  it('parses I/N', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard(' 2 / 3 ')).toEqual({ index: 2, count: 3 });
  });

  it('names the bad value and the rule', () => {
    expect(() => parseShard('3/3')).toThrow('--shard "3/3": shard index 3 must be a whole number with 0 <= index < count (3), i.e. 0..2');
    expect(() => parseShard('1/0')).toThrow('--shard "1/0": shard count 0 must be a whole number of at least 1');
    expect(() => parseShard('-1/3')).toThrow('--shard "-1/3": expected INDEX/COUNT');
    expect(() => parseShard('2')).toThrow('--shard "2": expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/3');
  });
});

describe('shard: in the config', () => {
  it('defaults to 0/1 (no sharding) with the filter pushed into PromQL, and accepts index/count/pushdown', () => {
    expect(parseExporterConfig(config(''), 'exporter.yml', DEFAULTS).shard).toEqual({ index: 0, count: 1, pushdown: true });
    expect(parseExporterConfig(config('shard: { index: 2, count: 4 }'), 'exporter.yml', DEFAULTS).shard).toEqual({ index: 2, count: 4, pushdown: true });
    expect(parseExporterConfig(config('shard: { index: 2, count: 4, pushdown: false }'), 'exporter.yml', DEFAULTS).shard).toEqual({ index: 2, count: 4, pushdown: false });
  });

  it('rejects an index outside 0..count-1 and unknown keys with the location', () => {
    const problems = (text: string): string[] => configProblems(text, DEFAULTS);
    expect(problems(config('shard: { index: 3, count: 3 }')).join('\n')).toMatch(/exporter\.yml:3:\d+: shard\.index: shard index 3 must be a whole number with 0 <= index < count \(3\), i\.e\. 0\.\.2/);
    expect(problems(config('shard: { index: 0, count: 0 }')).join('\n')).toMatch(/shard\.count: the shard count is at least 1/);
    expect(problems(config('shard: { index: 0, count: 2, of: 3 }')).join('\n')).toMatch(/shard/);
    expect(problems(config('shard: { index: 0, count: 2, pushdown: maybe }')).join('\n')).toMatch(/shard\.pushdown: expected true or false/);
  });
});
