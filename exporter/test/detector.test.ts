import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDetector, DEFAULT_DETECTOR_OPTIONS, DetectorOptionsError, parseDetectorSettings, restoreDetector, type Verdict } from '../src/detector/index.js';
import { ScoreCalibrator } from '../src/detector/calibration.js';
import { healthScore } from '../src/detector/health.js';
import { Random } from '../src/detector/forest/random.js';
import { gaussian } from './helpers.js';

const STEP = 15;
const FEATURES = ['cpu', 'memory', 'latency_p95', 'error_ratio'];

/** A service with daily-ish noise on four features; `incidentAt` makes latency jump (and stay) from that row on. */
function service(rows: number, seed: number, incidentAt = -1): { ts: Float64Array; values: Float64Array } {
  const rng = new Random(seed);
  const ts = new Float64Array(rows);
  const values = new Float64Array(rows * 4);
  for (let i = 0; i < rows; i++) {
    ts[i] = 1_700_000_000 + i * STEP;
    const wave = Math.sin((2 * Math.PI * i) / 240);
    values[i * 4] = 0.5 + 0.1 * wave + 0.02 * gaussian(rng);
    values[i * 4 + 1] = 2e8 + 1e6 * gaussian(rng);
    values[i * 4 + 2] = 0.12 + 0.01 * wave + 0.004 * gaussian(rng) + (incidentAt >= 0 && i >= incidentAt ? 0.2 : 0);
    values[i * 4 + 3] = Math.max(0, 0.001 + 0.0005 * gaussian(rng));
  }
  return { ts, values };
}

function run(det: ReturnType<typeof createDetector>, ts: Float64Array, values: Float64Array, from = 0, to = ts.length) {
  const out = [];
  for (let i = from; i < to; i++) out.push(det.update(ts[i] as number, values.subarray(i * 4, i * 4 + 4)));
  return out;
}

describe('streaming detector', () => {
  it('warms up, then stays below 1 on normal data', () => {
    const { ts, values } = service(3000, 1);
    const det = createDetector(FEATURES);
    const verdicts = run(det, ts, values);
    const warm = DEFAULT_DETECTOR_OPTIONS.warmup;
    expect(verdicts[warm - 2]?.ready).toBe(false);
    expect(verdicts[warm - 2]?.anomalyScore).toBe(0);
    expect(verdicts[warm - 2]?.healthScore).toBe(100);
    expect(verdicts[warm - 2]?.topFeature).toBe(-1);
    expect(verdicts[warm + 5]?.ready).toBe(true);
    expect(det.state).toBe('ready');
    expect(det.trainingSamples).toBeGreaterThanOrEqual(warm);
    const ready = verdicts.filter((v) => v.ready);
    const alarms = ready.filter((v) => v.anomalyScore > 1).length;
    // Sparse: at most a handful of alarm samples in 2800 normal samples.
    expect(alarms / ready.length).toBeLessThan(0.01);
  });

  it('an incident crosses 1 early, stays above 1 while it lasts with one feature named, and ends on recovery', () => {
    const incident = 2500;
    const recovery = 2560;
    const { ts, values } = service(3000, 2, incident);
    for (let i = recovery; i < 3000; i++) values[i * 4 + 2] = (values[i * 4 + 2] as number) - 0.2;
    const det = createDetector(FEATURES);
    const v = run(det, ts, values);
    const first = v.findIndex((x, i) => i >= incident && x.anomalyScore > 1);
    expect(first).toBeGreaterThanOrEqual(incident);
    expect(first).toBeLessThan(incident + 3);
    // The whole incident is one alarm: above 1 on every sample until the entity recovers, driven by latency.
    for (let i = first; i < recovery; i++) {
      expect(v[i]?.anomalyScore, `sample ${i - incident} of the incident`).toBeGreaterThan(1);
      expect(FEATURES[v[i]?.topFeature ?? -1]).toBe('latency_p95');
    }
    const fs = v[first]?.featureScores as Float64Array;
    expect(fs[2]).toBeCloseTo(v[first]?.anomalyScore ?? NaN, 9);
    expect(Math.max(fs[0] as number, fs[1] as number, fs[3] as number)).toBeLessThan(fs[2] as number);
    expect(v[first]?.healthScore).toBeLessThan(50);
    // Recovered: back below 1 within a few samples, and quiet afterwards (one incident, one alarm).
    const back = v.findIndex((x, i) => i >= recovery && x.anomalyScore < 1);
    expect(back - recovery).toBeLessThan(5);
    expect(v.slice(back).filter((x) => x.anomalyScore > 1).length).toBeLessThan(5);
    // Before the incident: quiet.
    expect(v.slice(DEFAULT_DETECTOR_OPTIONS.warmup, incident).filter((x) => x.anomalyScore > 1).length).toBeLessThan(15);
  });

  it('after an incident, a second one of the same kind must be worse to alarm, one of another kind alarms at once', () => {
    const { ts, values } = service(2800, 8);
    // Latency incident 2400-2430, then a like one at 2500-2530 (inside the refractory period) and an error-ratio
    // incident at 2600-2630 (also inside it).
    for (let i = 0; i < 2800; i++) {
      if ((i >= 2400 && i < 2430) || (i >= 2500 && i < 2530)) values[i * 4 + 2] = (values[i * 4 + 2] as number) + 0.1;
      if (i >= 2600 && i < 2630) values[i * 4 + 3] = 0.2;
    }
    const det = createDetector(FEATURES);
    const v = run(det, ts, values);
    const alarms = (from: number, to: number) => v.slice(from, to).filter((x) => x.anomalyScore > 1);
    expect(alarms(2400, 2430).length).toBeGreaterThan(25);
    expect(alarms(2500, 2530).length).toBe(0);
    const errors = alarms(2600, 2630);
    expect(errors.length).toBeGreaterThan(25);
    expect(errors.every((x) => FEATURES[x.topFeature] === 'error_ratio')).toBe(true);
  });

  it('does not learn incidents as normal: the fourth of four like incidents still alarms', () => {
    const { ts, values } = service(3400, 9);
    // Four latency incidents of 40 samples, 250 apart (past the refractory period), in a 500-row training window
    // that is retrained every 100 rows: without care, a third of the training data would be incidents.
    const starts = [2300, 2550, 2800, 3050];
    for (const start of starts) for (let i = start; i < start + 40; i++) values[i * 4 + 2] = (values[i * 4 + 2] as number) + 0.2;
    const det = createDetector(FEATURES, { trainWindow: 500, retrainEvery: 100 });
    const v = run(det, ts, values);
    for (const start of starts) {
      const above = v.slice(start, start + 40).filter((x) => x.anomalyScore > 1).length;
      expect(above, `incident at ${start}`).toBeGreaterThan(35);
    }
  });

  it('after an incident, rows are not trained on until the score is back to 0 (the recovery tail is not learnt)', () => {
    // A latency incident of 40 samples that recovers slowly (a linear decay over 80 samples): the episode closes
    // while the score is still above 0, and those recovering rows must stay out of the training data.
    const rows = 2900;
    const incident = 2500;
    const { ts, values } = service(rows, 11);
    for (let i = incident; i < rows; i++) {
      const excess = i < incident + 40 ? 0.2 : Math.max(0, 0.2 * (1 - (i - incident - 40) / 80));
      values[i * 4 + 2] = (values[i * 4 + 2] as number) + excess;
    }
    // Refractory and persistence off: the verdict is then the calibrated score itself, so the test sees when it is 0.
    // Training window larger than the run: the model's training rows are every row that was ever trained on. maxEpisode
    // above the recovery's length: it bounds how long an entity counts as recovering.
    const det = createDetector(FEATURES, { refractory: 0, cusumThreshold: 0, trainWindow: 5000, retrainEvery: 50, maxEpisode: 300 });
    const v: Verdict[] = [];
    const trained: { row: number; rows: number }[] = [];
    for (let i = 0; i < rows; i++) {
      const before = det.trainedAt;
      v.push(det.update(ts[i] as number, values.subarray(i * 4, i * 4 + 4)));
      if (det.trainedAt !== before) trained.push({ row: i, rows: det.trainingSamples });
    }
    const start = v.findIndex((x, i) => i >= incident && x.anomalyScore > 1);
    const end = v.findIndex((x, i) => i > start && x.anomalyScore <= 1);
    expect(start).toBeGreaterThanOrEqual(incident);
    expect(end - start).toBeGreaterThanOrEqual(30);
    // The rest of the run has no other episode of 5 samples or more (their rows would leave the training data too).
    for (let i = DEFAULT_DETECTOR_OPTIONS.warmup; i < rows; i++) {
      if (i < start || i >= end) expect(v.slice(i, i + 5).every((x) => x.anomalyScore > 1), `row ${i}`).toBe(false);
    }
    // Recovering lasts until the score is back to 0, or until a new episode opens (here the tail's echo in the
    // trailing windows can cross 1 again while the calibration still keeps the recovery out).
    const back = v.findIndex((x, i) => i > end && (x.anomalyScore === 0 || x.anomalyScore > 1));
    // The closing sample and the recovering ones after it (a > 0) were skipped: a tail of several samples.
    const recovering = back - end;
    expect(recovering).toBeGreaterThanOrEqual(5);
    const after = trained.find((t) => t.row >= back);
    expect(after).toBeDefined();
    const { row, rows: trainedOn } = after as { row: number; rows: number };
    // Every row up to the retrain, less the incident's and the recovery's.
    expect(trainedOn).toBe(row + 1 - (end - start) - recovering);
  });

  it('persistence: a shift that no sample alarms on alone adds up to an alarm (CUSUM), and not without it', () => {
    // Latency shifts by 2.5 noise spreads (a quarter of its daily swing): each sample only moderately unusual.
    const run2 = (options: Record<string, unknown>) => {
      const rng = new Random(12);
      const det = createDetector(['cpu', 'latency_p95'], options);
      const alarms: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const wave = Math.sin((2 * Math.PI * i) / 240);
        const latency = 0.12 + 0.01 * wave + 0.004 * gaussian(rng) + (i >= 2500 ? 0.01 : 0);
        if (det.update(1_700_000_000 + i * STEP, [0.5 + 0.1 * wave + 0.02 * gaussian(rng), latency]).anomalyScore > 1) alarms.push(i);
      }
      return alarms;
    };
    const off = run2({ cusumThreshold: 0 });
    expect(off.filter((i) => i >= 2500)).toEqual([]);
    const on = run2({ cusumThreshold: 3, cusumAllowance: 0.1 });
    const first = on.find((i) => i >= 2500) ?? Infinity;
    expect(first).toBeLessThan(2520);
    expect(on.filter((i) => i < 2500).length).toBeLessThanOrEqual(3);
  });

  it('an anomaly that outlasts maxEpisode becomes the new normal', () => {
    const incident = 2500;
    const { ts, values } = service(3200, 2, incident);
    const det = createDetector(FEATURES, { maxEpisode: 60 });
    const v = run(det, ts, values);
    const first = v.findIndex((x, i) => i >= incident && x.anomalyScore > 1);
    expect(first).toBeLessThan(incident + 3);
    expect(v.slice(first, first + 59).every((x) => x.anomalyScore > 1)).toBe(true);
    // After the episode's cap, the shifted level no longer alarms.
    expect(v.slice(first + 80).filter((x) => x.anomalyScore > 1).length).toBeLessThan(10);
  });

  it('names the feature that left its range, not a noisy one whose spikes are usual', () => {
    const rng = new Random(7);
    const rows = 2200;
    const incident = 2100;
    const ts = new Float64Array(rows);
    const values = new Float64Array(rows * 4);
    for (let i = 0; i < rows; i++) {
      ts[i] = 1_700_000_000 + i * STEP;
      values[i * 4] = 0.5 + 0.02 * gaussian(rng);
      values[i * 4 + 1] = 2e8 + 1e6 * gaussian(rng);
      values[i * 4 + 2] = 0.12 + 0.004 * gaussian(rng) + (i >= incident ? 0.03 : 0);
      // Error ratio: mostly ~0, with occasional large bursts (heavy-tailed, as real error ratios are).
      values[i * 4 + 3] = rng.next() < 0.02 ? 0.05 * rng.next() : 0.0005 * Math.abs(gaussian(rng));
    }
    // A burst of errors (larger in spreads than the latency shift, usual for errors) exactly when latency shifts:
    // it must not take the incident's name.
    for (let i = incident; i < incident + 3; i++) values[i * 4 + 3] = 0.045;
    const det = createDetector(FEATURES);
    const v = run(det, ts, values);
    const first = v.findIndex((x, i) => i >= incident && x.anomalyScore > 1);
    expect(first).toBeGreaterThanOrEqual(incident);
    expect(first).toBeLessThan(incident + 3);
    for (let i = first; i < rows; i++) expect(FEATURES[v[i]?.topFeature ?? -1], `sample ${i - incident}`).toBe('latency_p95');
  });

  it('flags a value far outside the training range even where the forest saturates', () => {
    const { ts, values } = service(1500, 3);
    const det = createDetector(FEATURES);
    run(det, ts, values, 0, 1400);
    const spike = values.slice(1400 * 4, 1401 * 4);
    spike[3] = 0.5; // error ratio 0.1 % -> 50 %
    const v = det.update(ts[1400] as number, spike);
    expect(v.anomalyScore).toBeGreaterThan(1);
    expect(FEATURES[v.topFeature]).toBe('error_ratio');
  });

  it('restores from serialize() and continues exactly as the original', () => {
    const { ts, values } = service(1200, 4, 1100);
    const a = createDetector(FEATURES);
    run(a, ts, values, 0, 800);
    const bytes = a.serialize();
    const b = restoreDetector(bytes);
    expect(b.samplesSeen).toBe(a.samplesSeen);
    expect(b.trainedAt).toBe(a.trainedAt);
    expect(b.state).toBe('ready');
    const va = run(a, ts, values, 800);
    const vb = run(b, ts, values, 800);
    expect(vb.map((x) => x.anomalyScore)).toEqual(va.map((x) => x.anomalyScore));
    expect(vb.map((x) => x.topFeature)).toEqual(va.map((x) => x.topFeature));
    expect(() => restoreDetector(bytes.subarray(0, 100))).toThrow(/truncated/);
    const wrong = bytes.slice();
    wrong[0] = 0;
    expect(() => restoreDetector(wrong)).toThrow(/bad magic/);
  });

  it('reports the raw score the calibration judged, also in the last verdict of a restored detector (smoothed)', () => {
    const { ts, values } = service(1200, 4, 1100);
    const a = createDetector(FEATURES, { smoothing: 3 });
    const verdicts = run(a, ts, values, 0, 1105);
    expect(verdicts[100]?.rawScore).toBe(0); // warming up
    const ready = verdicts.filter((v) => v.ready);
    expect(ready.every((v) => v.rawScore > 0)).toBe(true);
    // the incident's raw scores rank above every normal row's, before any calibration
    const normalMax = Math.max(...verdicts.slice(300, 1100).map((v) => v.rawScore));
    expect(Math.max(...verdicts.slice(1100, 1105).map((v) => v.rawScore))).toBeGreaterThan(normalMax);
    // a sample that is not newer returns the last verdict: the restored detector's equals the original's
    const last = a.update(ts[1104] as number, values.subarray(0, FEATURES.length));
    const b = restoreDetector(a.serialize());
    expect(b.update(ts[1104] as number, values.subarray(0, FEATURES.length)).rawScore).toBe(last.rawScore);
    expect(last.rawScore).toBe(verdicts[1104]?.rawScore);
  });

  it('restores a state saved by the previous state version (2) and continues as that code did', () => {
    // Made by the code of state version 2 (see the fixture's note): a 2-feature detector after 140 rows.
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/detector-state-v2.json', import.meta.url), 'utf8')) as { state: string; next: number[] };
    const row = (i: number) => [0.5 + 0.1 * Math.sin(i / 7) + 0.01 * ((i * 7919) % 13), 0.1 + 0.02 * Math.cos(i / 5) + 0.001 * ((i * 104729) % 17) + (i >= 150 && i < 160 ? 0.3 : 0)];
    const det = restoreDetector(new Uint8Array(Buffer.from(fixture.state, 'base64')));
    expect(det.samplesSeen).toBe(140);
    const scores = [];
    for (let i = 140; i < 200; i++) scores.push(det.update(1_700_000_000 + 15 * i, row(i)).anomalyScore);
    // The same up to the end of the incident at row 150 (after it, this version keeps the recovery out of the
    // calibration, which version 2 did not); "the same" to 1e-6: the calibration now compares in float32 as it stores.
    scores.slice(0, 21).forEach((a, i) => expect(a, `row ${140 + i}`).toBeCloseTo(fixture.next[i] as number, 5));
    expect(scores.slice(10, 20).every((a) => a > 1)).toBe(true);
    expect(restoreDetector(det.serialize()).samplesSeen).toBe(200);
  });

  it("checks a saved state's header: its options as settings from outside, its feature names as strings", () => {
    const bytes = Buffer.from(createDetector(['x'], { trainWindow: 500 }).serialize());
    // Same-length edits of the header's JSON, so the rest of the state still lines up.
    const edited = (from: string, to: string): Uint8Array => {
      const at = bytes.indexOf(from);
      expect(at).toBeGreaterThan(0);
      const copy = Buffer.from(bytes);
      copy.write(to, at, 'utf8');
      return new Uint8Array(copy);
    };
    expect(restoreDetector(new Uint8Array(bytes)).options.trainWindow).toBe(500);
    expect(() => restoreDetector(edited('"trees":', '"tress":'))).toThrow(/invalid detector options: \(options\): unknown detector setting\(s\) "tress"/);
    expect(() => restoreDetector(edited('"trainWindow":500', '"trainWindow":"5"'))).toThrow(/trainWindow: expected a number/);
    expect(() => restoreDetector(edited('"featureNames":["x"]', '"featureNames":[ 7 ]'))).toThrow(/corrupt header/);
    expect(() => restoreDetector(edited('"options":{', '"options":[{'))).toThrow(/corrupt header/);
  });

  it('restores a state saved by state version 3 in the middle of an incident, and continues as that code did', () => {
    // Made by the code of state version 3 (see the fixture's note) after 155 rows: 5 samples into the incident.
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/detector-state-v3.json', import.meta.url), 'utf8')) as { state: string; next: number[] };
    const row = (i: number) => [0.5 + 0.1 * Math.sin(i / 7) + 0.01 * ((i * 7919) % 13), 0.1 + 0.02 * Math.cos(i / 5) + 0.001 * ((i * 104729) % 17) + (i >= 150 && i < 160 ? 0.3 : 0)];
    const det = restoreDetector(new Uint8Array(Buffer.from(fixture.state, 'base64')));
    expect(det.samplesSeen).toBe(155);
    expect(det.inEpisode).toBe(true);
    const scores = [];
    for (let i = 155; i < 200; i++) scores.push(det.update(1_700_000_000 + 15 * i, row(i)).anomalyScore);
    // Version 3 has no onset: this episode gives back its own rows only, as that code did, so the scores are the same.
    scores.forEach((a, i) => expect(a, `row ${155 + i}`).toBe(fixture.next[i] as number));
    expect(restoreDetector(det.serialize()).samplesSeen).toBe(200);
  });

  it('restores a state saved by state version 4 in the middle of an incident, and continues as that code did', () => {
    // Made by the code of state version 4 (see the fixture's note): the same rows and settings as the version 3 one.
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/detector-state-v4.json', import.meta.url), 'utf8')) as { state: string; next: number[] };
    const row = (i: number) => [0.5 + 0.1 * Math.sin(i / 7) + 0.01 * ((i * 7919) % 13), 0.1 + 0.02 * Math.cos(i / 5) + 0.001 * ((i * 104729) % 17) + (i >= 150 && i < 160 ? 0.3 : 0)];
    const det = restoreDetector(new Uint8Array(Buffer.from(fixture.state, 'base64')));
    expect(det.inEpisode).toBe(true);
    const verdicts = [];
    for (let i = 155; i < 200; i++) verdicts.push(det.update(1_700_000_000 + 15 * i, row(i)));
    // Version 5 changed what the verdicts name, not the scores: the same scores as that code.
    verdicts.forEach((v, i) => expect(v.anomalyScore, `row ${155 + i}`).toBe(fixture.next[i] as number));
    // The episode under way is named by its incident's feature (latency), as version 4 did.
    expect(verdicts[0]?.topFeature).toBe(1);
    const again = det.serialize();
    expect(again[4]).toBe(5);
    expect(restoreDetector(again).samplesSeen).toBe(200);
  });

  it('updateBatch gives the same verdicts as update', () => {
    const { ts, values } = service(900, 5, 850);
    const a = createDetector(FEATURES);
    const b = createDetector(FEATURES);
    const last = run(a, ts, values).at(-1);
    expect(b.updateBatch(ts, values)).toEqual(last);
  });

  it('ignores samples that are not newer, carries missing values forward, never crashes on NaN', () => {
    const { ts, values } = service(800, 6);
    const det = createDetector(FEATURES);
    run(det, ts, values, 0, 700);
    const before = det.samplesSeen;
    const v1 = det.update(ts[699] as number, [1, 2, 3, 4]);
    expect(det.samplesSeen).toBe(before);
    expect(v1.ready).toBe(true);
    const v2 = det.update(ts[700] as number, [NaN, NaN, NaN, NaN]);
    expect(Number.isFinite(v2.anomalyScore)).toBe(true);
    expect(det.samplesSeen).toBe(before + 1);
    // A feature that never had a value: no verdict can be made yet.
    const fresh = createDetector(['a', 'b']);
    expect(fresh.update(1, [1, NaN]).ready).toBe(false);
    expect(() => det.update(ts[701] as number, [1, 2])).toThrow(/2 values for 4 features/);
  });

  it('validates options with messages that name the setting', () => {
    expect(() => createDetector(['x'], { trainWindow: -5 })).toThrow(DetectorOptionsError);
    expect(() => createDetector(['x'], { trainWindow: -5 })).toThrow(/trainWindow/);
    // The types reject these; a caller from plain JavaScript gets the same checks at run time.
    // @ts-expect-error not a detector setting
    expect(() => createDetector(['x'], { nonsense: 1 })).toThrow(/nonsense/);
    // @ts-expect-error not a seasonality
    expect(() => createDetector(['x'], { seasonality: 'hourly' })).toThrow(/seasonality/);
    expect(() => createDetector(['x'], { cusumThreshold: -1 })).toThrow(/cusumThreshold/);
    expect(() => createDetector(['x'], { cusumAllowance: 0 })).toThrow(/cusumAllowance/);
    expect(() => createDetector(['x', 'x'])).toThrow(/distinct/);
    expect(createDetector(['x'], { trainWindow: 500 }).options.trainWindow).toBe(500);
  });

  it('checks settings from outside the types (a state header, the command line) with the same messages', () => {
    expect(parseDetectorSettings({ trainWindow: 500, seasonality: 'none' })).toEqual({ trainWindow: 500, seasonality: 'none' });
    expect(() => parseDetectorSettings({ nonsense: 1 })).toThrow(/invalid detector options: \(options\): unknown detector setting\(s\) "nonsense"; known: warmup, /);
    expect(() => parseDetectorSettings({ trees: 'many' })).toThrow(/invalid detector options: trees: expected a number \(default 100\)/);
    expect(() => parseDetectorSettings({ trainWindow: -5 })).toThrow(DetectorOptionsError);
    expect(() => parseDetectorSettings([1])).toThrow(/expected a map of detector settings/);
  });
});

describe('calibration and health', () => {
  it('maps the alert tail probability to 1 and is monotone', () => {
    const rng = new Random(1);
    const cal = new ScoreCalibrator(1000, 1e-3, 0.02);
    for (let i = 0; i < 1000; i++) cal.push(0.4 + 0.02 * gaussian(rng));
    let prev = -1;
    for (let x = 0.3; x < 0.9; x += 0.01) {
      const a = cal.score(x);
      expect(a).toBeGreaterThanOrEqual(prev);
      prev = a;
    }
    expect(cal.score(0.4)).toBe(0);
    // Where ln p = ln(1e-3), a = 1 exactly.
    let lo = 0.4;
    let hi = 1;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (cal.logTail(mid) > Math.log(1e-3)) lo = mid;
      else hi = mid;
    }
    expect(cal.score(lo)).toBeCloseTo(1, 6);
  });

  it('a score equal to a constant history is in the bulk (0), not in the tail', () => {
    const c = new ScoreCalibrator(100, 3e-4, 0.02);
    // 0.7 is not a float32: the history stores it rounded (down), and the comparison must be at that precision.
    for (let i = 0; i < 100; i++) c.push(0.7);
    expect(c.score(0.7)).toBe(0);
    expect(c.score(0.8)).toBeGreaterThan(1);
  });

  it('health = 100 / (1 + a^2)', () => {
    expect(healthScore(0)).toBe(100);
    expect(healthScore(1)).toBe(50);
    expect(healthScore(3)).toBe(10);
  });
});
