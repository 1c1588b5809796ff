// The detector on real captured runs of the closed loop (demo/, real Prometheus at 1 s): 25 faults injected in
// turn into three services, each repaired by the healing service, the service reset, then the next fault. These
// are two services' feature rows as the exporter read them (fixtures/demo-run*/, made by
// fixtures/extract-demo-run.py from the healing benchmark's series dump). Every fault must alarm, and nothing
// outside the faults may.
// What this guards: a repeat of a mild incident (CPU saturation, whose score peaks near 1.3-1.9) going unnoticed
// - run 1: when recovery tails had entered the calibration history;
// - run 2: when the first saturation's onset (the rows before its alarm, already unusual) had been trained on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createDetector, restoreDetector } from '../src/detector/index.js';

const RUNS = ['demo-run', 'demo-run-2'];
/** The demo's detector settings (demo/config/exporter.yml: 1 s step, 15 min train window, 5 min retrain) and the benchmark's warm-up. */
const demoConfig = parse(readFileSync(new URL('../../demo/config/exporter.yml', import.meta.url), 'utf8')) as { groups: { detector: Record<string, unknown> }[] };
const DEMO_OPTIONS = { ...demoConfig.groups[0]?.detector, warmup: 200, trainWindow: 900, retrainEvery: 300 };

interface Fault {
  kind: string;
  service: string;
  at: number;
}

function load(dir: URL, service: string): { features: string[]; ts: number[]; rows: number[][] } {
  const [header = '', ...lines] = readFileSync(new URL(`${service}.csv`, dir), 'utf8').trim().split('\n');
  const features = header.split(',').slice(1);
  const ts: number[] = [];
  const rows: number[][] = [];
  for (const line of lines) {
    const [t = '', ...cells] = line.split(',');
    ts.push(Number(t));
    rows.push(cells.map((c) => (c === '' ? Number.NaN : Number(c))));
  }
  return { features, ts, rows };
}

describe.each(RUNS)('detector on captured closed-loop run fixtures/%s (real demo workload and Prometheus, replayed offline)', (run) => {
  const dir = new URL(`./fixtures/${run}/`, import.meta.url);
  const faults = JSON.parse(readFileSync(new URL('faults.json', dir), 'utf8')) as Fault[];
  for (const service of ['checkout', 'search']) {
    it(`${service}: every fault, repeats included, crosses 1 within 15 s; nothing else does`, () => {
      const { features, ts, rows } = load(dir, service);
      const mine = faults.filter((f) => f.service === service);
      expect(mine.length).toBeGreaterThanOrEqual(8);
      const det = createDetector(features, DEMO_OPTIONS);
      const peaks = mine.map(() => 0);
      const falseAlarms: number[] = [];
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i] as number;
        const { anomalyScore } = det.update(t, rows[i] as number[]);
        const during = mine.findIndex((f) => t >= f.at && t < f.at + 15);
        if (during >= 0) peaks[during] = Math.max(peaks[during] as number, anomalyScore);
        // A fault's episode, its repair and the reset that follows take up to ~90 s.
        else if (anomalyScore > 1 && !mine.some((f) => t >= f.at && t < f.at + 90)) falseAlarms.push(t);
      }
      const missed = mine.flatMap((f, k) => ((peaks[k] as number) > 1 ? [] : [`${f.kind} at ${f.at} (peak ${(peaks[k] as number).toFixed(2)})`]));
      expect(missed, `faults that never crossed 1: ${missed.join(', ')}; peaks ${peaks.map((p) => p.toFixed(2)).join(' ')}`).toEqual([]);
      expect(falseAlarms).toEqual([]);
    });
  }
});

describe('detector state across incidents (captured run fixtures/demo-run-2)', () => {
  it('restored from serialize() at every sample around each fault (onset, episode, recovery), continues exactly as the original', () => {
    const dir = new URL('./fixtures/demo-run-2/', import.meta.url);
    const faults = (JSON.parse(readFileSync(new URL('faults.json', dir), 'utf8')) as Fault[]).filter((f) => f.service === 'search');
    const { features, ts, rows } = load(dir, 'search');
    const original = createDetector(features, DEMO_OPTIONS);
    let restored = createDetector(features, DEMO_OPTIONS);
    let compared = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as number;
      if (faults.some((f) => t >= f.at - 20 && t < f.at + 60)) {
        restored = restoreDetector(restored.serialize());
        compared++;
      }
      const a = original.update(t, rows[i] as number[]);
      const b = restored.update(t, rows[i] as number[]);
      expect(b.anomalyScore, `at ${t}`).toBe(a.anomalyScore);
      expect(b.topFeature, `at ${t}`).toBe(a.topFeature);
    }
    expect(compared).toBeGreaterThan(500);
  });
});
