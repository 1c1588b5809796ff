// Test data generators shared by the forest and detector tests (deterministic).
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { ConfigError } from '@selfheal/contracts';
import { parseExporterConfig } from '../src/config/load.js';
import { Random } from '../src/detector/forest/random.js';

export function gaussian(rng: Random): number {
  const u = Math.max(rng.next(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** n inliers from N(0, 1)^d plus `outliers` rows from N(0, 2.5^2)^d (overlapping: AUC well below 1); labels 1 = outlier. */
export function plantedOutliers(n: number, outliers: number, d: number, seed: number): { rows: Float64Array; labels: Uint8Array } {
  const rng = new Random(seed);
  const total = n + outliers;
  const rows = new Float64Array(total * d);
  const labels = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    const out = i % Math.floor(total / outliers) === 0 && labels.reduce((a, b) => a + b, 0) < outliers;
    labels[i] = out ? 1 : 0;
    for (let f = 0; f < d; f++) rows[i * d + f] = out ? 2.5 * gaussian(rng) : gaussian(rng);
  }
  return { rows, labels };
}

/** ROC-AUC by the rank-sum formula (ties get average ranks). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const r = ranks(scores);
  let pos = 0;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      pos++;
      sum += r[i] as number;
    }
  }
  const neg = labels.length - pos;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number));
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1] as number] === x[idx[i] as number]) j++;
    for (let k = i; k <= j; k++) r[idx[k] as number] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = (n + 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    const x = (ra[i] as number) - ma;
    const y = (rb[i] as number) - ma;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return num / Math.sqrt(da * db);
}

/** The problems parseExporterConfig reports for `text` (as file exporter.yml); fails when the config is accepted. */
export function configProblems(text: string, factory: Parameters<typeof parseExporterConfig>[2]): string[] {
  try {
    parseExporterConfig(text, 'exporter.yml', factory);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected the config to be rejected');
}

/** Serves `app` (an express app or any request listener) on a free port of 127.0.0.1; close() stops it. */
export async function listenLoopback(app: RequestListener & { listen(port: number, host: string, ready: () => void): Server }): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
