// A fixed record of what the streaming detector does: its verdicts sample by sample and its serialized state
// along the way, over seeded series that go through every path (warm-up, missing values, spikes, an incident and
// its recovery, a lasting change of level, a slow drift, repeated timestamps), and what it does after restoring
// the saved states of older versions. fixtures/detector-equivalence.json holds the record made by the code before
// a refactoring; detector-equivalence.test.ts checks the current code gives the same, bit for bit.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDetector, restoreDetector, type DetectorSettings, type Verdict } from '../src/detector/index.js';
import { Random } from '../src/detector/forest/random.js';

export interface RunRecord {
  /** Per row: anomaly score and top feature (exact doubles: JSON round-trips them). */
  scores: number[];
  tops: number[];
  /** sha256 of every verdict's fields (scores, health, attribution, ready) as float64, in row order. */
  verdicts: string;
  /** Every `stateEvery` rows: sha256 of serialize(). */
  states: string[];
  /** serialize() in base64 at a few rows (restored and continued by the test). */
  saved: Record<string, string>;
}

export interface EquivalenceRecord {
  runs: Record<string, RunRecord>;
  /** Older-version fixtures restored and continued: verdict hash, and state hashes right after restore and at the end. */
  restored: Record<string, { verdicts: string; atRestore: string; atEnd: string }>;
}

/** As helpers.ts's (which imports vitest, so the fixture script cannot use it). */
function gaussian(rng: Random): number {
  const u = Math.max(rng.next(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

const T0 = 1_700_000_000;
const STEP = 15;
const STATE_EVERY = 10;

interface Series {
  features: string[];
  settings: DetectorSettings;
  ts: Float64Array;
  values: Float64Array;
  /** Rows whose state is saved in full. */
  saveAt: number[];
}

/** Three features with spikes, an incident, a lasting level change, a drift, missing values and a repeated timestamp. */
function eventful(seed: number, settings: DetectorSettings, saveAt: number[]): Series {
  const rows = 900;
  const rng = new Random(seed);
  const ts = new Float64Array(rows);
  const values = new Float64Array(rows * 3);
  for (let i = 0; i < rows; i++) {
    // Row 400 repeats row 399's timestamp (ignored by the detector).
    ts[i] = T0 + (i === 400 ? 399 : i) * STEP;
    const wave = Math.sin((2 * Math.PI * i) / 120);
    let cpu = 0.5 + 0.1 * wave + 0.02 * gaussian(rng);
    let latency = 0.12 + 0.01 * wave + 0.004 * gaussian(rng);
    let errors = Math.max(0, 0.001 + 0.0005 * gaussian(rng));
    if (i === 180 || i === 181 || i === 520) cpu += 0.4; // spikes
    if (i >= 250 && i < 275) latency += 0.15; // an incident that recovers
    if (i >= 300 && i < 306) latency += 0.01 * (i - 299); // its onset-like ramp before a second one
    if (i >= 306 && i < 320) latency += 0.12;
    if (i >= 560) errors += 0.01; // a lasting change of level
    if (i >= 760) cpu += 0.0015 * (i - 760); // a slow drift
    if (i >= 130 && i < 134) cpu = NaN; // missing (carried forward)
    if (i >= 20 && i < 23) errors = NaN;
    values[i * 3] = cpu;
    values[i * 3 + 1] = latency;
    values[i * 3 + 2] = errors;
  }
  return { features: ['cpu', 'latency', 'errors'], settings, ts, values, saveAt };
}

const SMALL: DetectorSettings = {
  warmup: 60, trainWindow: 150, retrainEvery: 40, windows: [5, 20], seasonality: 'none', trees: 10, sampleSize: 32,
  calibrationWindow: 100, maxEpisode: 60, refractory: 50, alarmHold: 2, releaseAfter: 2, seed: 7,
};

function series(): Record<string, Series> {
  return {
    small: eventful(11, SMALL, [45, 140, 450, 600]),
    smoothedDaily: eventful(12, { ...SMALL, seasonality: 'daily', smoothing: 3, cusumThreshold: 4, noveltyWeight: 0.5, seed: 3 }, [455]),
    noCusum: eventful(13, { ...SMALL, cusumThreshold: 0, alarmHold: 1, releaseAfter: 1, maxEpisode: 30 }, [565]),
  };
}

function verdictBytes(v: Verdict): Float64Array {
  return new Float64Array([v.anomalyScore, v.healthScore, v.topFeature, v.ready ? 1 : 0, ...v.featureScores]);
}

function sha(bytes: Uint8Array | Float64Array): string {
  return createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

/** Runs `det` over rows [from, to) of `s`, recording as it goes. */
export function runSeries(s: Series, from = 0, bytes?: Uint8Array): RunRecord {
  const det = bytes === undefined ? createDetector(s.features, s.settings) : restoreDetector(bytes);
  const d = s.features.length;
  const hash = createHash('sha256');
  const out: RunRecord = { scores: [], tops: [], verdicts: '', states: [], saved: {} };
  for (let i = from; i < s.ts.length; i++) {
    const v = det.update(s.ts[i] as number, s.values.subarray(i * d, i * d + d));
    out.scores.push(v.anomalyScore);
    out.tops.push(v.topFeature);
    const vb = verdictBytes(v);
    hash.update(new Uint8Array(vb.buffer));
    if ((i + 1) % STATE_EVERY === 0) out.states.push(sha(det.serialize()));
    if (s.saveAt.includes(i + 1)) out.saved[String(i + 1)] = Buffer.from(det.serialize()).toString('base64');
  }
  out.verdicts = hash.digest('hex');
  return out;
}

/** The fixtures made by older state versions, as detector.test.ts continues them. */
function restoredFixtures(): EquivalenceRecord['restored'] {
  const row = (i: number) => [0.5 + 0.1 * Math.sin(i / 7) + 0.01 * ((i * 7919) % 13), 0.1 + 0.02 * Math.cos(i / 5) + 0.001 * ((i * 104729) % 17) + (i >= 150 && i < 160 ? 0.3 : 0)];
  const out: EquivalenceRecord['restored'] = {};
  for (const name of ['detector-state-v2', 'detector-state-v3']) {
    const fixture = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as { state: string };
    const det = restoreDetector(new Uint8Array(Buffer.from(fixture.state, 'base64')));
    const atRestore = sha(det.serialize());
    const hash = createHash('sha256');
    for (let i = det.samplesSeen; i < 400; i++) hash.update(new Uint8Array(verdictBytes(det.update(T0 + STEP * i, row(i))).buffer));
    out[name] = { verdicts: hash.digest('hex'), atRestore, atEnd: sha(det.serialize()) };
  }
  return out;
}

export function equivalenceSeries(): Record<string, Series> {
  return series();
}

export function recordEquivalence(): EquivalenceRecord {
  const runs: Record<string, RunRecord> = {};
  for (const [name, s] of Object.entries(series())) runs[name] = runSeries(s);
  return { runs, restored: restoredFixtures() };
}
