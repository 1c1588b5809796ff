// Benchmark of the exporter service at scale: a real Prometheus seeded with N entities x 4 features of
// history (promtool tsdb create-blocks-from openmetrics), then the exporter's real cycles with the real
// detector: a full training from history, scoring cycles, the /metrics scrape, save and restore.
// Prints wall and CPU time per cycle, Prometheus query time, peak RSS, and the ratios to the targets;
// the reference measured in the same run is the raw read of the same data (the client alone), and the
// accept-encoding comparison (identity vs gzip) on the same query.
//
//   npx tsx exporter/bench/exporter-bench.ts [--entities 10000] [--history 6h] [--step 60s] [--cycles 5]
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startStack } from '@selfheal/stack';
import { pino } from 'pino';
import { parseDuration } from '@selfheal/contracts';
import { parseExporterConfig } from '../src/config/load.js';
import { PrometheusClient } from '../src/source/client.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import type { RangeBreakdown } from '../src/runner/types.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { FEATURES, ensureDataset, isPlanted, type DatasetSpec } from './exporter-data.js';

const TARGETS = { scoringCpuSeconds: 1, trainingCpuSeconds: 60, peakRssBytes: 1.5 * 2 ** 30 };
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: args } = parseArgs({
  options: {
    entities: { type: 'string', default: '10000' },
    history: { type: 'string', default: '6h' },
    step: { type: 'string', default: '60s' },
    cycles: { type: 'string', default: '5' },
  },
});

function seconds(text: string): number {
  const value = parseDuration(text);
  if (value === undefined) throw new Error(`not a duration: ${text}`);
  return value;
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

let peakSampledRss = 0;
/** Peak RSS per phase (sampled every 20 ms, and at each phase's start and end). */
const phasePeaks = new Map<string, number>();
let currentPhase = 'start-up';
const sampleRss = (): void => {
  const rss = process.memoryUsage().rss;
  peakSampledRss = Math.max(peakSampledRss, rss);
  phasePeaks.set(currentPhase, Math.max(phasePeaks.get(currentPhase) ?? 0, rss));
};
const rssSampler = setInterval(sampleRss, 20);
function phase(name: string): void {
  sampleRss();
  currentPhase = name;
  sampleRss();
}

/**
 * Bytes of typed arrays reachable from `value` (each ArrayBuffer once), by the path of own properties that leads to
 * them (depth 2: `forest.nodes`, `extractor.profileMean`...). The models' memory is almost all typed arrays; this
 * splits it by part without knowing the detector's layout.
 */
function typedArrayBytes(value: unknown, path: string, depth: number, seen: Set<ArrayBufferLike>, out: Map<string, number>): void {
  if (ArrayBuffer.isView(value)) {
    if (seen.has(value.buffer)) return;
    seen.add(value.buffer);
    out.set(path, (out.get(path) ?? 0) + value.buffer.byteLength);
    return;
  }
  if (value === null || typeof value !== 'object' || depth > 6) return;
  for (const [key, child] of Object.entries(value)) {
    typedArrayBytes(child, depth < 2 ? (path ? `${path}.${key}` : key) : path, depth + 1, seen, out);
  }
}

interface Measure {
  label: string;
  wallSeconds: number;
  cpuSeconds: number;
  queriesSeconds: number;
  queries: number;
}

/** Reads a range query's answer and throws it away as it arrives (no parsing, nothing kept). */
function discardRange(url: string, query: string, start: number, end: number, step: number): Promise<void> {
  const body = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }).toString();
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/api/v1/query_range`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (response) => {
      if ((response.statusCode ?? 500) >= 300) reject(new Error(`warm-up query: HTTP ${response.statusCode}`));
      response.on('end', () => resolve());
      response.on('error', reject);
      response.resume();
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function measure(label: string, promQueries: () => Promise<{ seconds: number; count: number }>, work: () => Promise<unknown>): Promise<Measure> {
  const q0 = await promQueries();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const q1 = await promQueries();
  return { label, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, queriesSeconds: q1.seconds - q0.seconds, queries: q1.count - q0.count };
}

function bar(value: number, max: number, width = 40): string {
  const n = max > 0 ? Math.round((value / max) * width) : 0;
  return '█'.repeat(n) + '·'.repeat(Math.max(0, width - n));
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const spec: DatasetSpec = {
    entities: Number(args.entities),
    historySeconds: seconds(args.history),
    stepSeconds: seconds(args.step),
    anomalyEvery: 100,
    anomalySteps: 3,
  };
  const cycles = Number(args.cycles);
  log(`== exporter service benchmark: ${spec.entities.toLocaleString('en')} entities x 4 features, ${args.history} of history at ${args.step}`);
  const dataset = await ensureDataset(join(ROOT, 'bench-results', '.cache', 'exporter'), spec, log);
  const stack = await startStack({
    withAlertmanager: false,
    includeShippedRules: false,
    prometheusDataDir: dataset.dataDir,
    prometheusArgs: ['--storage.tsdb.retention.time=3650d'],
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'selfheal-bench-state-'));
  try {
    const step = spec.stepSeconds;
    // The detector runs at the dataset's own times: training ends `cycles` steps before its end.
    let clock = dataset.end - cycles * step;
    const trainWindow = spec.historySeconds - (cycles + 1) * step;
    const features = Object.entries(FEATURES)
      .map(([name, metric]) => `      ${name}: 'sum by (service) (${metric})'`)
      .join('\n');
    const configText = `
prometheus:
  url: ${stack.prometheusUrl}
  timeout: 120s
  acceptEncoding: identity
stateDir: ${stateDir}
groups:
  - name: bench
    groupBy: [service]
    maxEntities: ${spec.entities + 10}
    features:
${features}
    schedule:
      interval: ${step}s
      step: ${step}s
      trainWindow: ${trainWindow}s
      maxScoreAge: ${10 * step}s
`;
    const factory = defaultDetectorFactory();
    const config = parseExporterConfig(configText, 'bench.yml', factory);
    let lastProgress = -1;
    const service = new ExporterService({
      config,
      factory,
      logger: pino({ level: 'warn' }),
      now: () => clock,
      onProgress: (_group, done, total) => {
        const percent = Math.floor((done / total) * 20) * 5;
        if (percent !== lastProgress) {
          lastProgress = percent;
          process.stderr.write(`\r  training ${String(percent).padStart(3)}% (${done}/${total} entities)`);
        }
      },
    });
    const promQueries = async (): Promise<{ seconds: number; count: number }> => {
      const values = (await service.metrics.prometheusRequestDuration.get()).values;
      return {
        seconds: values.filter((v) => v.metricName?.endsWith('_sum')).reduce((s, v) => s + v.value, 0),
        count: values.filter((v) => v.metricName?.endsWith('_count')).reduce((s, v) => s + v.value, 0),
      };
    };

    // Reference: the raw read of one feature's training range by the client alone, identity vs gzip.
    const rangeStart = clock - trainWindow;
    const rangeEnd = clock;
    const rawRead = async (encoding: 'identity' | 'gzip'): Promise<{ seconds: number; cpuSeconds: number }> => {
      const client = new PrometheusClient({ url: stack.prometheusUrl, timeoutSeconds: 120, retries: 0, retryBackoffSeconds: 0, acceptEncoding: encoding, maxPointsPerRequest: 2_000_000 });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let points = 0;
      await client.queryRangeChunks(`sum by (service) (${FEATURES.cpu})`, rangeStart, rangeEnd, step, spec.entities, (chunk) => {
        for (const s of chunk) points += s.values.length;
      });
      const cpu = process.cpuUsage(cpu0);
      if (points === 0) throw new Error('the seeded Prometheus returned no data');
      return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    };
    // Warm Prometheus's page cache with every feature's training range, the answers discarded as they arrive: the
    // exporter's own peak RSS is measured from here on, and the reference reads run after its phases.
    phase('warm-up (answers discarded)');
    for (const metric of Object.values(FEATURES)) await discardRange(stack.prometheusUrl, `sum by (service) (${metric})`, rangeStart, rangeEnd, step);

    const baseRss = process.memoryUsage().rss;
    const baseHeap = process.memoryUsage().heapUsed;
    phase('train');
    let trainBreakdown: RangeBreakdown | undefined;
    const train = await measure('train (all models from history)', promQueries, async () => {
      const [result] = await service.runCycles();
      process.stderr.write('\n');
      if (!result?.ok) throw new Error(`training failed: ${result?.error}`);
      trainBreakdown = result.breakdown;
    });
    phase('after training');
    const rssAfterTrain = process.memoryUsage().rss;
    const heapAfterTrain = process.memoryUsage().heapUsed;
    // Where the models' memory is: typed arrays by part, over every detector.
    const parts = new Map<string, number>();
    let detectorCount = 0;
    let trainedCount = 0;
    for (const group of service.groups) {
      for (const detector of group.detectors()) {
        detectorCount++;
        if (detector.state === 'ready') trainedCount++;
        typedArrayBytes(detector, '', 0, new Set(), parts);
      }
    }
    const modelBytes = [...parts.values()].reduce((a, b) => a + b, 0);
    phase('score');
    const scoring: Measure[] = [];
    for (let i = 0; i < cycles; i++) {
      clock += step;
      scoring.push(
        await measure(`score #${i + 1}`, promQueries, async () => {
          const [result] = await service.runCycles();
          if (!result?.ok || result.phase !== 'score') throw new Error(`scoring failed: ${result?.phase} ${result?.error}`);
        }),
      );
    }
    phase('scrape');
    const scrape = await measure('/metrics scrape', promQueries, () => service.metricsText());
    // Only figures are kept from the exposition and the entity report: the bench must not hold them through the
    // phases whose peak RSS it measures.
    const { expositionBytes, expositionLines } = await service.metricsText().then((text) => ({ expositionBytes: text.length, expositionLines: text.split('\n').length }));
    const detection = ((): { entities: number; ready: number; planted: number; plantedAbove: number; normal: number; normalAbove: number } => {
      const entities = service.entities();
      const planted = entities.filter((e) => isPlanted(Number((e.entity.service ?? '').slice(4)), spec));
      const normal = entities.filter((e) => !isPlanted(Number((e.entity.service ?? '').slice(4)), spec));
      const above = (list: typeof entities): number => list.filter((e) => (e.anomalyScore ?? 0) > 1).length;
      return {
        entities: entities.length,
        ready: entities.filter((e) => e.state === 'ready').length,
        planted: planted.length,
        plantedAbove: above(planted),
        normal: normal.length,
        normalAbove: above(normal),
      };
    })();
    phase('save');
    const save = await measure('save all models', promQueries, () => service.saveAll());
    // The service's own peak: training, scoring, scrapes and a save. The restore below builds a second set
    // of models in this same process (a restarted exporter holds only one), so it is reported apart.
    const servicePeakRss = Math.max(process.resourceUsage().maxRSS * 1024, peakSampledRss);
    phase('reference reads');
    await rawRead('identity'); // the client's code warmed up
    const identity = await rawRead('identity');
    const gzip = await rawRead('gzip');
    phase('restore (second model set)');
    const restoreService = new ExporterService({ config, factory, logger: pino({ level: 'warn' }), now: () => clock, processMetrics: false });
    let restored = 0;
    const restore = await measure('restore all models', promQueries, async () => {
      restored = (await Promise.all(restoreService.groups.map((g) => g.restore()))).reduce((a, b) => a + b, 0);
    });
    const stateBytes = readdirSync(stateDir).reduce((sum, f) => sum + statSync(join(stateDir, f)).size, 0);

    const peakRss = servicePeakRss;
    const rssAfterRestore = process.memoryUsage().rss;

    const scoreCpu = scoring.map((m) => m.cpuSeconds);
    const meanScoreCpu = scoreCpu.reduce((a, b) => a + b, 0) / Math.max(1, scoreCpu.length);
    const rows = [train, ...scoring, scrape, save, restore];
    log('');
    log(`${'phase'.padEnd(34)} ${'wall s'.padStart(8)} ${'CPU s'.padStart(8)} ${'Prom. queries s'.padStart(16)} ${'queries'.padStart(8)}`);
    for (const m of rows) {
      log(`${m.label.padEnd(34)} ${fmt(m.wallSeconds, 3).padStart(8)} ${fmt(m.cpuSeconds, 3).padStart(8)} ${fmt(m.queriesSeconds, 3).padStart(16)} ${String(m.queries).padStart(8)}`);
    }
    if (trainBreakdown) {
      const { read, feed } = trainBreakdown;
      log(`  of which read (queries, scanning, rows per entity) ${fmt(read.wallSeconds, 1)} s wall, ${fmt(read.cpuSeconds, 1)} s CPU;`);
      log(`  detectors fed (features, fits, scoring, calibration) ${fmt(feed.wallSeconds, 1)} s wall, ${fmt(feed.cpuSeconds, 1)} s CPU`);
    }
    log('');
    log('CPU seconds per cycle (scoring; the bar is the 1 s target):');
    for (const m of scoring) log(`  ${m.label.padEnd(10)} ${bar(m.cpuSeconds, TARGETS.scoringCpuSeconds)} ${fmt(m.cpuSeconds, 3)} s`);
    log('');
    log(`entities scored                    ${detection.entities.toLocaleString('en')} (ready: ${detection.ready.toLocaleString('en')})`);
    log(`planted anomalies above 1.0        ${detection.plantedAbove} of ${detection.planted}; normal entities above 1.0: ${detection.normalAbove} of ${detection.normal}`);
    log(`/metrics exposition                ${mib(expositionBytes)} (${expositionLines.toLocaleString('en')} lines), rendered in ${fmt(scrape.wallSeconds * 1000, 0)} ms`);
    log(`state on disk                      ${mib(stateBytes)} (${fmt(stateBytes / Math.max(1, restored) / 1024, 1)} KiB per model), ${restored.toLocaleString('en')} restored`);
    log(`peak RSS                           ${mib(peakRss)} (after training: ${mib(rssAfterTrain)}; models: ${fmt((rssAfterTrain - baseRss) / Math.max(1, detection.entities) / 1024, 0)} KiB each)`);
    log(`RSS after restore                  ${mib(rssAfterRestore)} (two model sets in this process)`);
    log('');
    log('peak RSS by phase (MiB; the bar is the 1.5 GiB target):');
    for (const [name, peak] of phasePeaks) log(`  ${name.padEnd(28)} ${bar(peak, TARGETS.peakRssBytes)} ${mib(peak)}`);
    log('');
    log(`model memory after training: ${detectorCount.toLocaleString('en')} detectors (${trainedCount.toLocaleString('en')} with a forest), typed arrays ${mib(modelBytes)}`);
    log(`  (+ JS heap ${fmt((heapAfterTrain - baseHeap) / Math.max(1, detectorCount) / 1024, 1)} KiB per entity: objects, labels, records)`);
    log(`  ${'part'.padEnd(30)} ${'KiB per detector'.padStart(16)} ${'MiB in all'.padStart(11)}`);
    for (const [name, bytes] of [...parts].sort((a, b) => b[1] - a[1])) {
      if (bytes / modelBytes < 0.002) continue;
      log(`  ${name.padEnd(30)} ${fmt(bytes / Math.max(1, detectorCount) / 1024, 1).padStart(16)} ${fmt(bytes / 2 ** 20, 0).padStart(11)}`);
    }
    log('');
    log('reference in the same run: the raw read of one feature over the training window (client alone)');
    log(`  accept-encoding identity          ${fmt(identity.seconds, 3)} s wall, ${fmt(identity.cpuSeconds, 3)} s CPU`);
    log(`  accept-encoding gzip              ${fmt(gzip.seconds, 3)} s wall, ${fmt(gzip.cpuSeconds, 3)} s CPU  (gzip/identity wall: ${fmt(gzip.seconds / identity.seconds)}x)`);
    log(`  training wall / 4 raw reads       ${fmt(train.wallSeconds / (4 * identity.seconds), 1)}x`);
    log('');
    const verdict = (ok: boolean): string => (ok ? 'meets target' : 'MISSES target');
    log(`targets: scoring cycle CPU ${fmt(meanScoreCpu, 3)} s / 1 s = ${fmt(meanScoreCpu / TARGETS.scoringCpuSeconds)} (${verdict(meanScoreCpu < TARGETS.scoringCpuSeconds)})`);
    log(`         full retrain CPU  ${fmt(train.cpuSeconds, 1)} s / 60 s = ${fmt(train.cpuSeconds / TARGETS.trainingCpuSeconds)} (${verdict(train.cpuSeconds < TARGETS.trainingCpuSeconds)})`);
    log(`         peak RSS          ${mib(peakRss)} / 1536 MiB = ${fmt(peakRss / TARGETS.peakRssBytes)} (${verdict(peakRss < TARGETS.peakRssBytes)})`);

    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench-results', 'exporter-service.json'),
      JSON.stringify(
        {
          spec,
          cycles: rows,
          entities: detection.entities,
          planted: { total: detection.planted, above: detection.plantedAbove },
          normalAbove: detection.normalAbove,
          expositionBytes,
          stateBytes,
          peakRssBytes: peakRss,
          peakRssByPhase: Object.fromEntries(phasePeaks),
          trainBreakdown,
          rssAfterTrainBytes: rssAfterTrain,
          baseRssBytes: baseRss,
          detectors: { count: detectorCount, trained: trainedCount, typedArrayBytes: Object.fromEntries(parts) },
          rawRead: { identity, gzip },
          targets: TARGETS,
        },
        null,
        2,
      ),
    );
    log(`(figures written to bench-results/exporter-service.json)`);
  } finally {
    clearInterval(rssSampler);
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
