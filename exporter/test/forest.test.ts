import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IsolationForest } from '../src/detector/forest/isolation-forest.js';
import { IsolationForestError } from '../src/detector/forest/layout.js';
import { averagePathLength } from '../src/detector/forest/path-length.js';
import { Random } from '../src/detector/forest/random.js';
import { restoreForest, serializeForest } from '../src/detector/forest/serialize.js';
import { BinaryFormatError } from '../src/detector/forest/binary.js';
import { gaussian, plantedOutliers, rocAuc } from './helpers.js';

describe('c(n), the average path length', () => {
  it('uses exact harmonic numbers for small n', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(3) = 2 H(2) - 4/3 = 3 - 4/3
    expect(averagePathLength(3)).toBeCloseTo(3 - 4 / 3, 12);
    // c(256) = 2 H(255) - 2 * 255 / 256 (reference value from the exact sum)
    let h = 0;
    for (let i = 1; i <= 255; i++) h += 1 / i;
    expect(averagePathLength(256)).toBeCloseTo(2 * h - (2 * 255) / 256, 12);
  });

  it('joins the asymptotic form smoothly for large n', () => {
    let h = 0;
    for (let i = 1; i <= 4999; i++) h += 1 / i;
    expect(averagePathLength(5000)).toBeCloseTo(2 * h - (2 * 4999) / 5000, 9);
  });
});

describe('IsolationForest', () => {
  const d = 3;
  const { rows, labels } = plantedOutliers(2000, 40, d, 11);

  it('scores planted outliers above inliers, all scores in (0, 1)', () => {
    const f = IsolationForest.fit(rows, d, { seed: 3 });
    const s = f.score(rows);
    for (const v of s) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    expect(rocAuc(s, labels)).toBeGreaterThan(0.85); // overlapping outliers: sklearn gets ~0.89 here too
    // A far point isolates in a few splits: score well above 0.5; the centre scores below 0.5.
    expect(f.scoreOne([8, 8, 8])).toBeGreaterThan(0.7);
    expect(f.scoreOne([0, 0, 0])).toBeLessThan(0.45);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = IsolationForest.fit(rows, d, { seed: 5 }).score(rows);
    const b = IsolationForest.fit(rows, d, { seed: 5 }).score(rows);
    const c = IsolationForest.fit(rows, d, { seed: 6 }).score(rows);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('batch scoring equals one-row scoring (block and interleave edges)', () => {
    const f = IsolationForest.fit(rows, d, { trees: 37, seed: 2 });
    const part = rows.subarray(0, 523 * d); // not a multiple of the block or the interleave width
    const s = f.score(part);
    for (let i = 0; i < 523; i++) expect(s[i]).toBeCloseTo(f.scoreOne(part.subarray(i * d, i * d + d)), 12);
  });

  it('scores a batch (WebAssembly walk) exactly as small batches (JavaScript walk) and single rows', () => {
    const f = IsolationForest.fit(rows, d, { seed: 4 });
    const n = rows.length / d;
    const big = f.score(rows);
    for (let i0 = 0; i0 < n; i0 += 31) {
      const small = f.score(rows.subarray(i0 * d, Math.min(n, i0 + 31) * d)); // below the WebAssembly batch size
      for (let k = 0; k < small.length; k++) expect(small[k]).toBe(big[i0 + k]);
    }
    for (let i = 0; i < n; i += 7) expect(f.scoreOne(rows.subarray(i * d, i * d + d))).toBeCloseTo(big[i] as number, 14);
  });

  it('walks forests of other depths (one generated WebAssembly module per depth) exactly as the JavaScript walk', () => {
    const x = rows.subarray(0, 1200 * d);
    for (const [sampleSize, maxDepth, depth] of [[16, undefined, 4], [1024, 10, 10], [2, 1, 1]] as const) {
      const f = IsolationForest.fit(x, d, { sampleSize, maxDepth, seed: 6 });
      expect(f.depth).toBe(depth);
      const big = f.score(x);
      for (let i0 = 0; i0 < 1200; i0 += 30) {
        const small = f.score(x.subarray(i0 * d, (i0 + 30) * d));
        for (let k = 0; k < 30; k++) expect(small[k]).toBe(big[i0 + k]);
      }
    }
    const flat = IsolationForest.fit(new Float64Array(200).fill(3), 2, { seed: 1 }); // depth 0: single leaves
    expect(Array.from(flat.score(new Float64Array(200).fill(3)))).toEqual(new Array(100).fill(flat.scoreOne([3, 3])));
  });

  it('scores forests larger than the shared WebAssembly memory (replaced, not grown), then smaller ones again', () => {
    const x = rows.subarray(0, 400 * d);
    const small = IsolationForest.fit(x, d, { seed: 7 });
    const before = small.score(x);
    const big = IsolationForest.fit(x, d, { trees: 1500, seed: 7 }); // ~4.5 MB in the walk's encoding
    const s = big.score(x);
    for (let i = 0; i < 400; i += 9) expect(big.score(x.subarray(i * d, i * d + d))[0]).toBe(s[i]);
    expect(Array.from(small.score(x))).toEqual(Array.from(before));
  });

  it('stores 16-bit nodes and one-byte leaf codes for the usual forest; byteSize counts every model array', () => {
    const f = IsolationForest.fit(rows, d, { seed: 1 });
    expect(f.nodes).toBeInstanceOf(Uint16Array);
    expect(f.leafCodes).toBeInstanceOf(Uint8Array);
    expect(f.byteSize).toBe(
      f.nodes.byteLength + f.leafCodes.byteLength + f.leafValues.byteLength + f.thresholds.byteLength + f.thresholdStart.byteLength,
    );
    const leaves = f.leaves;
    expect(leaves.length).toBe(f.leafCodes.length);
    for (let i = 0; i < leaves.length; i += 97) expect(leaves[i]).toBe(f.leafValues[f.leafCodes[i] as number]);
  });

  it('falls back to 32-bit nodes when one feature has more thresholds than 16 bits hold, with the same scores', () => {
    // 24 columns (5 feature bits, 2047 indexes in 16 bits) but one carries every split: ~6,000 thresholds.
    const rng = new Random(12);
    const D = 24;
    const x = new Float64Array(3000 * D);
    for (let i = 0; i < 3000; i++) x[i * D] = gaussian(rng);
    const f = IsolationForest.fit(x, D, { seed: 2 });
    expect(f.nodes).toBeInstanceOf(Int32Array);
    expect(f.thresholds.length).toBeGreaterThan(2047);
    const g = restoreForest(serializeForest(f));
    expect(g.nodes).toBeInstanceOf(Int32Array);
    const probe = x.subarray(0, 500 * D);
    const s = f.score(probe);
    expect(Array.from(g.score(probe))).toEqual(Array.from(s));
    for (let i = 0; i < 500; i += 11) {
      expect(f.score(probe.subarray(i * D, i * D + D))[0]).toBe(s[i]);
      expect(f.scoreOne(probe.subarray(i * D, i * D + D))).toBeCloseTo(s[i] as number, 14);
    }
  });

  it('widens leaf codes past 256 distinct path lengths, with the same scores after a round trip', () => {
    // Large samples cut at depth 3: leaves hold many different row counts, hence many distinct path lengths.
    const rng = new Random(13);
    const x = new Float64Array(6000 * 2).map(() => gaussian(rng));
    const f = IsolationForest.fit(x, 2, { sampleSize: 4096, maxDepth: 3, seed: 3 });
    expect(f.leafValues.length).toBeGreaterThan(256);
    expect(f.leafCodes).toBeInstanceOf(Uint16Array);
    const g = restoreForest(serializeForest(f));
    const probe = x.subarray(0, 1000 * 2);
    const s = f.score(probe);
    expect(Array.from(g.score(probe))).toEqual(Array.from(s));
    for (let i = 0; i < 1000; i += 13) expect(f.scoreOne(probe.subarray(i * 2, i * 2 + 2))).toBeCloseTo(s[i] as number, 14);
  });

  it('matches the textbook expectation on one dimension: the isolated point scores highest', () => {
    const x = new Float64Array([1, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 10]);
    const f = IsolationForest.fit(x, 1, { trees: 200, seed: 1 });
    const s = f.score(x);
    const max = s.indexOf(Math.max(...s));
    expect(max).toBe(7);
  });

  it('scores a row with a missing value as NaN, and refuses NaN in training with row and column', () => {
    const f = IsolationForest.fit(rows, d, { seed: 1 });
    const s = f.score(new Float64Array([0, NaN, 0, 0, 0, 0]));
    expect(s[0]).toBeNaN();
    expect(s[1]).not.toBeNaN();
    expect(f.scoreOne([0, 0, Infinity])).toBeNaN();
    // The same in a batch large enough for the WebAssembly walk.
    const batch = rows.slice(0, 100 * d);
    batch[5 * d + 1] = NaN;
    batch[50 * d] = Infinity;
    batch[99 * d + 2] = -Infinity;
    const sb = f.score(batch);
    for (let i = 0; i < 100; i++) {
      if (i === 5 || i === 50 || i === 99) expect(sb[i]).toBeNaN();
      else expect(sb[i]).toBe(f.score(batch.subarray(i * d, i * d + d))[0]);
    }
    const bad = rows.slice(0, 30);
    bad[3 * d + 2] = NaN;
    expect(() => IsolationForest.fit(bad, d)).toThrow(/row 3, feature 2 is NaN/);
  });

  it('ignores a feature that is constant in training (it cannot split on it)', () => {
    const rng = new Random(4);
    const x = new Float64Array(500 * 2);
    for (let i = 0; i < 500; i++) {
      x[i * 2] = gaussian(rng);
      x[i * 2 + 1] = 7;
    }
    const f = IsolationForest.fit(x, 2, { seed: 1 });
    let splits = 0;
    for (let i = 0; i < f.nodes.length; i++) {
      const feature = f.splitFeature(i);
      if (feature >= 0) splits++;
      expect(feature).toBeLessThanOrEqual(0); // padding (-1) or a split on feature 0
    }
    expect(splits).toBeGreaterThan(100);
    expect(f.scoreOne([0, 7])).toBe(f.scoreOne([0, 1e6])); // hence the detector's range checks
  });

  it('validates its options with clear messages', () => {
    expect(() => IsolationForest.fit(rows, d, { trees: 0 })).toThrow(IsolationForestError);
    expect(() => IsolationForest.fit(rows, d, { sampleSize: 1 })).toThrow(/sampleSize/);
    expect(() => IsolationForest.fit(rows, d, { maxDepth: 40 })).toThrow(/maxDepth/);
    expect(() => IsolationForest.fit(rows.subarray(0, 5), d)).toThrow(/multiple of features/);
    expect(() => IsolationForest.fit(new Float64Array(3), 3)).toThrow(/at least 2 rows/);
  });

  it('serialises compactly and restores bit-identical scores', () => {
    const rng = new Random(9);
    const big = new Float64Array(20000 * 4).map(() => gaussian(rng));
    const f = IsolationForest.fit(big, 4, { seed: 8 });
    const bytes = serializeForest(f);
    expect(bytes.length).toBeLessThan(100 * 1024);
    const g = restoreForest(bytes);
    const probe = big.subarray(0, 4000);
    expect(Array.from(g.score(probe))).toEqual(Array.from(f.score(probe)));
    expect(() => restoreForest(bytes.subarray(0, bytes.length - 7))).toThrow(BinaryFormatError);
    const other = bytes.slice();
    other[4] = 99;
    expect(() => restoreForest(other)).toThrow(/version 99/);
  });

  it('handles duplicates-only data (a forest of single leaves)', () => {
    const x = new Float64Array(100).fill(3);
    const f = IsolationForest.fit(x, 2, { seed: 1 });
    expect(f.depth).toBe(0);
    const s = f.scoreOne([3, 3]);
    expect(s).toBeCloseTo(0.5, 7); // h = c(psi) for every point: 2^-1 (leaf lengths are float32)
    expect(restoreForest(serializeForest(f)).scoreOne([3, 3])).toBe(s);
  });
});

describe('models saved by earlier builds (format version 1)', () => {
  // Made at commit 17ee7b0 (before fitting grew trees straight into the heap layout): the training rows, the options,
  // the serialised model and its scores of some probe rows.
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/forest-v1.json', import.meta.url), 'utf8')) as {
    features: number;
    options: { trees: number; sampleSize: number; seed: number };
    rows: number[];
    model: string;
    depth: number;
    probes: number[][];
    scores: number[];
  };
  const bytes = new Uint8Array(Buffer.from(fixture.model, 'base64'));

  it('restores a model saved by the old code with exactly its scores, and writes it back byte for byte', () => {
    const f = restoreForest(bytes);
    expect(f.depth).toBe(fixture.depth);
    expect(fixture.probes.map((p) => f.scoreOne(p))).toEqual(fixture.scores);
    const batch = f.score(Float64Array.from(fixture.probes.flat()));
    for (let i = 0; i < fixture.scores.length; i++) expect(batch[i]).toBeCloseTo(fixture.scores[i] as number, 14);
    expect(Array.from(serializeForest(f))).toEqual(Array.from(bytes));
  });

  it('fits the same forest as the old code for the same rows, options and seed (same bytes, same scores)', () => {
    const f = IsolationForest.fit(Float64Array.from(fixture.rows), fixture.features, fixture.options);
    expect(Array.from(serializeForest(f))).toEqual(Array.from(bytes));
    expect(fixture.probes.map((p) => f.scoreOne(p))).toEqual(fixture.scores);
  });

  it('fits the same forest as the old code when it reads many rows in place (few small trees), also after a huge fit', () => {
    const many = JSON.parse(readFileSync(new URL('./fixtures/forest-v1-many-rows.json', import.meta.url), 'utf8')) as {
      rows: number;
      features: number;
      options: { trees: number; sampleSize: number; seed: number };
      model: string;
    };
    const rng = new Random(77);
    const x = new Float64Array(many.rows * many.features).map(() => Math.round(gaussian(rng) * 1000) / 1000);
    const expected = Array.from(Buffer.from(many.model, 'base64'));
    expect(Array.from(serializeForest(IsolationForest.fit(x, many.features, many.options)))).toEqual(expected);
    // A fit whose scratch is too large to keep (dropped afterwards), then the small fit again.
    IsolationForest.fit(x, many.features, { trees: 600, sampleSize: 1024, seed: 1 });
    expect(Array.from(serializeForest(IsolationForest.fit(x, many.features, many.options)))).toEqual(expected);
    expect(Array.from(serializeForest(IsolationForest.fit(Float64Array.from(fixture.rows), fixture.features, fixture.options)))).toEqual(Array.from(bytes));
  });
});
