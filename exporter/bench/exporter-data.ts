// Synthetic history for the exporter benchmark: N services x 4 gauges (cpu, memory, latency, errors) with
// daily-ish seasonality and noise, written as OpenMetrics and turned into TSDB blocks with promtool, so
// that a real Prometheus serves it. A few services get a planted anomaly in the last `anomalySteps` steps.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DatasetSpec {
  entities: number;
  /** Seconds of history. */
  historySeconds: number;
  stepSeconds: number;
  /** Services with a planted anomaly (every k-th service). */
  anomalyEvery: number;
  anomalySteps: number;
}

export interface Dataset {
  dataDir: string;
  spec: DatasetSpec;
  /** Timestamp (s) of the last sample. */
  end: number;
  samples: number;
  generatedSeconds: number;
}

export const FEATURES = {
  cpu: 'bench_cpu_usage_ratio',
  memory: 'bench_memory_bytes',
  latency_p95: 'bench_latency_p95_seconds',
  error_ratio: 'bench_error_ratio',
} as const;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

export function isPlanted(i: number, spec: DatasetSpec): boolean {
  return i % spec.anomalyEvery === 7 % spec.anomalyEvery;
}

async function writeOpenMetrics(file: string, spec: DatasetSpec, end: number, progress: (fraction: number) => void): Promise<number> {
  const out = createWriteStream(file);
  const write = (text: string): Promise<void> =>
    out.write(text) ? Promise.resolve() : new Promise((resolve) => out.once('drain', () => resolve()));
  const points = Math.floor(spec.historySeconds / spec.stepSeconds) + 1;
  const start = end - (points - 1) * spec.stepSeconds;
  let samples = 0;
  const names = Object.values(FEATURES);
  for (let f = 0; f < names.length; f++) {
    const name = names[f] ?? '';
    await write(`# TYPE ${name} gauge\n`);
    for (let i = 0; i < spec.entities; i++) {
      const random = mulberry32(i * 7919 + f * 104_729 + 1);
      const base = [0.2 + 0.5 * random(), 2e8 + 6e8 * random(), 0.02 + 0.2 * random(), 0.001 + 0.01 * random()][f] ?? 1;
      const noise = [0.03, 0.01, 0.08, 0.3][f] ?? 0.05;
      const phase = random() * 2 * Math.PI;
      const planted = isPlanted(i, spec);
      const labels = `{service="${serviceName(i)}"}`;
      let chunk = '';
      for (let p = 0; p < points; p++) {
        const t = start + p * spec.stepSeconds;
        let value = base * (1 + 0.15 * Math.sin((2 * Math.PI * t) / 86_400 + phase) + noise * (random() - 0.5) * 2);
        // Planted incident: CPU of the planted services jumps far outside its history at the end.
        if (planted && f === 0 && p >= points - spec.anomalySteps) value = base * 4;
        chunk += `${name}${labels} ${value.toPrecision(6)} ${t}\n`;
      }
      samples += points;
      await write(chunk);
      if (i % 500 === 0) progress((f + i / spec.entities) / names.length);
    }
  }
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  progress(1);
  return samples;
}

/**
 * Returns TSDB blocks for `spec`, generating them once (cached under cacheDir; the blocks keep their
 * absolute timestamps, so the benchmark queries at the dataset's own `end`).
 */
export async function ensureDataset(cacheDir: string, spec: DatasetSpec, log: (line: string) => void): Promise<Dataset> {
  const key = `e${spec.entities}-h${spec.historySeconds}-s${spec.stepSeconds}-a${spec.anomalyEvery}x${spec.anomalySteps}`;
  const dir = join(cacheDir, key);
  const metaFile = join(dir, 'dataset.json');
  if (existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Dataset;
    // Prometheus deletes blocks older than its retention; the benchmark sets a long one, but stay recent.
    if (Date.now() / 1000 - meta.end < 10 * 86_400) {
      log(`dataset: cached ${dir} (${meta.samples.toLocaleString('en')} samples)`);
      return meta;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const end = Math.floor(Date.now() / 1000 / spec.stepSeconds) * spec.stepSeconds - 3600;
  const file = join(dir, 'history.om');
  let shown = -1;
  const samples = await writeOpenMetrics(file, spec, end, (fraction) => {
    const percent = Math.floor(fraction * 20) * 5;
    if (percent !== shown) {
      shown = percent;
      process.stderr.write(`\r  writing OpenMetrics ${String(percent).padStart(3)}%`);
    }
  });
  process.stderr.write('\n');
  log(`dataset: ${samples.toLocaleString('en')} samples written; promtool tsdb create-blocks-from openmetrics ...`);
  const dataDir = join(dir, 'tsdb');
  const result = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`promtool failed: ${result.error?.message ?? ''}${result.stderr}${result.stdout}`);
  rmSync(file);
  const dataset: Dataset = { dataDir, spec, end, samples, generatedSeconds: (performance.now() - started) / 1000 };
  writeFileSync(metaFile, JSON.stringify(dataset, null, 2));
  log(`dataset: generated in ${dataset.generatedSeconds.toFixed(1)} s`);
  return dataset;
}
