// Benchmark of exporter sharding: the same seeded Prometheus (N entities x 4 features, as exporter-bench) read
// by 1, 2 and 4 shards. Every shard runs in its own process, one after the other (the figures are per shard,
// not contended by its siblings): training CPU and wall (split into the read from Prometheus and the detector
// work), scoring-cycle CPU, peak RSS, entities owned, and the series Prometheus's training answers held against
// those the shard owns. With the shard filter pushed into PromQL (src/shard/pushdown.ts) a shard reads nearly only
// its own series; `--no-pushdown` measures the old way (every shard reads every series) for comparison.
// The reference measured in the same run is the unsharded exporter (1 shard); ratios are to it.
//
//   npx tsx exporter/bench/shard-bench.ts [--entities 2000] [--history 6h] [--step 60s] [--cycles 3] [--shards 1,2,4] [--no-pushdown]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startStack } from '@selfheal/stack';
import { pino } from 'pino';
import { parseDuration } from '@selfheal/contracts';
import { parseExporterConfig } from '../src/config/load.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import type { RangeBreakdown } from '../src/runner/types.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { FEATURES, ensureDataset, type DatasetSpec } from './exporter-data.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    entities: { type: 'string', default: '2000' },
    history: { type: 'string', default: '6h' },
    step: { type: 'string', default: '60s' },
    cycles: { type: 'string', default: '3' },
    shards: { type: 'string', default: '1,2,4' },
    'no-pushdown': { type: 'boolean', default: false },
    // Child mode: one shard against a running Prometheus.
    child: { type: 'string' },
    prometheus: { type: 'string' },
    end: { type: 'string' },
  },
});

interface ShardFigures {
  index: number;
  count: number;
  entities: number;
  trainCpuSeconds: number;
  trainWallSeconds: number;
  /** The training cycle's read from Prometheus (queries, scanning, copy into rows), CPU and wall. */
  readCpuSeconds: number;
  readWallSeconds: number;
  /** Series in the training answers (summed over features) and those the shard owns. */
  seriesRead: number;
  seriesOwned: number;
  pushedDown: number;
  scoreCpuSeconds: number;
  scoreWallSeconds: number;
  peakRssBytes: number;
  saveCpuSeconds: number;
}

function seconds(text: string): number {
  const value = parseDuration(text);
  if (value === undefined) throw new Error(`not a duration: ${text}`);
  return value;
}

const spec: DatasetSpec = { entities: Number(args.entities), historySeconds: seconds(args.history), stepSeconds: seconds(args.step), anomalyEvery: 100, anomalySteps: 3 };
const cycles = Number(args.cycles);

async function timed(work: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

/** One shard: train from history, `cycles` scoring cycles, one save; prints its figures as JSON. */
async function child(shardText: string, prometheusUrl: string, end: number): Promise<void> {
  const [index, count] = shardText.split('/').map(Number) as [number, number];
  const step = spec.stepSeconds;
  let clock = end - cycles * step;
  const trainWindow = spec.historySeconds - (cycles + 1) * step;
  const stateDir = mkdtempSync(join(tmpdir(), 'selfheal-shard-bench-'));
  const text = `
prometheus: { url: ${prometheusUrl}, timeout: 120s }
stateDir: ${stateDir}
shard: { index: ${index}, count: ${count}, pushdown: ${!args['no-pushdown']} }
groups:
  - name: bench
    groupBy: [service]
    maxEntities: ${spec.entities + 10}
    features:
${Object.entries(FEATURES).map(([name, metric]) => `      ${name}: 'sum by (service) (${metric})'`).join('\n')}
    schedule: { interval: ${step}s, trainWindow: ${trainWindow}s, maxScoreAge: ${10 * step}s }
`;
  const factory = defaultDetectorFactory();
  const service = new ExporterService({ config: parseExporterConfig(text, 'bench.yml', factory), factory, logger: pino({ level: 'warn' }), processMetrics: false, now: () => clock });
  let breakdown: RangeBreakdown | undefined;
  const train = await timed(async () => {
    const [r] = await service.runCycles();
    if (!r?.ok) throw new Error(`training failed: ${r?.error}`);
    breakdown = r.breakdown;
  });
  let scoreCpu = 0;
  let scoreWall = 0;
  for (let i = 0; i < cycles; i++) {
    clock += step;
    const s = await timed(async () => {
      const [r] = await service.runCycles();
      if (!r?.ok || r.phase !== 'score') throw new Error(`scoring failed: ${r?.phase} ${r?.error}`);
    });
    scoreCpu += s.cpu;
    scoreWall += s.wall;
  }
  const save = await timed(() => service.saveAll());
  const figures: ShardFigures = {
    index,
    count,
    entities: service.entities().length,
    trainCpuSeconds: train.cpu,
    trainWallSeconds: train.wall,
    readCpuSeconds: breakdown?.read.cpuSeconds ?? Number.NaN,
    readWallSeconds: breakdown?.read.wallSeconds ?? Number.NaN,
    seriesRead: breakdown?.series.read ?? Number.NaN,
    seriesOwned: breakdown?.series.owned ?? Number.NaN,
    pushedDown: breakdown?.series.pushedDown ?? 0,
    scoreCpuSeconds: scoreCpu / cycles,
    scoreWallSeconds: scoreWall / cycles,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    saveCpuSeconds: save.cpu,
  };
  rmSync(stateDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const bar = (value: number, max: number, width = 30): string => '█'.repeat(Math.round((value / max) * width)).padEnd(width, '·');

async function parent(): Promise<void> {
  const counts = args.shards.split(',').map(Number);
  log(`== exporter sharding benchmark: ${spec.entities.toLocaleString('en')} entities x 4 features, ${args.history} at ${args.step}; shards ${counts.join(', ')}; shard filter ${args['no-pushdown'] ? 'NOT pushed into PromQL (--no-pushdown)' : 'pushed into PromQL'}`);
  const dataset = await ensureDataset(join(ROOT, 'bench-results', '.cache', 'exporter'), spec, log);
  const stack = await startStack({ withAlertmanager: false, includeShippedRules: false, prometheusDataDir: dataset.dataDir, prometheusArgs: ['--storage.tsdb.retention.time=3650d'] });
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const results: ShardFigures[] = [];
  try {
    for (const count of counts) {
      for (let index = 0; index < count; index++) {
        process.stderr.write(`  shard ${index}/${count} ...`);
        const run = spawnSync(
          process.execPath,
          [tsx, fileURLToPath(import.meta.url), '--child', `${index}/${count}`, '--prometheus', stack.prometheusUrl, '--end', String(dataset.end),
            '--entities', args.entities, '--history', args.history, '--step', args.step, '--cycles', args.cycles, ...(args['no-pushdown'] ? ['--no-pushdown'] : [])],
          { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 30 * 60_000 },
        );
        if (run.status !== 0) throw new Error(`shard ${index}/${count} failed: ${run.stderr}`);
        const figures = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as ShardFigures;
        process.stderr.write(` ${figures.entities} entities, ${figures.seriesRead} series read, train ${fmt(figures.trainCpuSeconds, 1)} s CPU\n`);
        results.push(figures);
      }
    }
  } finally {
    await stack.stop();
  }
  const reference = results.find((r) => r.count === 1);
  log('');
  log('train = the training cycle (read = its queries and parsing, part of train); series read/owned summed over the 4 features');
  log(`${'shard'.padEnd(7)} ${'entities'.padStart(8)} ${'series read'.padStart(12)} ${'owned'.padStart(7)} ${'train CPU s'.padStart(12)} ${'train wall s'.padStart(13)} ${'read CPU s'.padStart(11)} ${'read wall s'.padStart(12)} ${'score CPU s'.padStart(12)} ${'save CPU s'.padStart(11)} ${'peak RSS'.padStart(10)}`);
  for (const r of results) {
    log(
      `${`${r.index}/${r.count}`.padEnd(7)} ${String(r.entities).padStart(8)} ${String(r.seriesRead).padStart(12)} ${String(r.seriesOwned).padStart(7)} ${fmt(r.trainCpuSeconds, 2).padStart(12)} ${fmt(r.trainWallSeconds, 2).padStart(13)}` +
        ` ${fmt(r.readCpuSeconds, 2).padStart(11)} ${fmt(r.readWallSeconds, 2).padStart(12)} ${fmt(r.scoreCpuSeconds, 3).padStart(12)} ${fmt(r.saveCpuSeconds, 2).padStart(11)} ${mib(r.peakRssBytes).padStart(10)}`,
    );
  }
  log('');
  log('per N: the busiest shard (max) and the sum over shards, as ratios to the unsharded exporter in this run');
  const summary = counts.map((count) => {
    const group = results.filter((r) => r.count === count);
    const max = (key: keyof ShardFigures): number => Math.max(...group.map((r) => r[key]));
    const sum = (key: keyof ShardFigures): number => group.reduce((s, r) => s + r[key], 0);
    return {
      count,
      entitiesMax: max('entities'),
      entitiesSum: sum('entities'),
      seriesReadSum: sum('seriesRead'),
      seriesOwnedSum: sum('seriesOwned'),
      trainWallMax: max('trainWallSeconds'),
      readCpuSum: sum('readCpuSeconds'),
      trainCpuMax: max('trainCpuSeconds'),
      trainCpuSum: sum('trainCpuSeconds'),
      scoreCpuMax: max('scoreCpuSeconds'),
      scoreCpuSum: sum('scoreCpuSeconds'),
      peakRssMax: max('peakRssBytes'),
    };
  });
  const ref = summary.find((s) => s.count === 1) ?? summary[0];
  for (const s of summary) {
    log(
      `  N=${s.count}: entities ${s.entitiesSum} (max ${s.entitiesMax}/shard); series read ${s.seriesReadSum} for ${s.seriesOwnedSum} owned (${fmt(s.seriesReadSum / (ref?.seriesReadSum ?? 1))}x);` +
        ` read CPU sum ${fmt(s.readCpuSum, 1)} s (${fmt(s.readCpuSum / (ref?.readCpuSum ?? 1))}x); train wall max ${fmt(s.trainWallMax, 1)} s (${fmt(s.trainWallMax / (ref?.trainWallMax ?? 1))}x); train CPU max ${fmt(s.trainCpuMax, 1)} s (${fmt(s.trainCpuMax / (ref?.trainCpuMax ?? 1))}x), sum ${fmt(s.trainCpuSum, 1)} s (${fmt(s.trainCpuSum / (ref?.trainCpuSum ?? 1))}x);` +
        ` score CPU max ${fmt(s.scoreCpuMax, 3)} s (${fmt(s.scoreCpuMax / (ref?.scoreCpuMax ?? 1))}x), sum ${fmt(s.scoreCpuSum, 3)} s (${fmt(s.scoreCpuSum / (ref?.scoreCpuSum ?? 1))}x); peak RSS max ${mib(s.peakRssMax)} (${fmt(s.peakRssMax / (ref?.peakRssMax ?? 1))}x)`,
    );
  }
  log('');
  log('training CPU of the busiest shard (bar = the unsharded exporter):');
  for (const s of summary) log(`  N=${s.count} ${bar(s.trainCpuMax, ref?.trainCpuMax ?? 1)} ${fmt(s.trainCpuMax, 1)} s`);
  log('peak RSS of the busiest shard:');
  for (const s of summary) log(`  N=${s.count} ${bar(s.peakRssMax, ref?.peakRssMax ?? 1)} ${mib(s.peakRssMax)}`);
  if (!reference) log('(no 1-shard reference in --shards)');
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const out = args['no-pushdown'] ? 'exporter-shards-no-pushdown.json' : 'exporter-shards.json';
  writeFileSync(join(ROOT, 'bench-results', out), JSON.stringify({ spec, cycles, pushdown: !args['no-pushdown'], shards: results, summary }, null, 2));
  log(`(figures written to bench-results/${out})`);
}

if (args.child) await child(args.child, args.prometheus ?? '', Number(args.end));
else await parent();
