import { describe, expect, it } from 'vitest';
import { leaveOneCategoryOut, parseCandidates } from '../bench/loco.js';
import { barChart, spread } from '../bench/stats.js';

const CATS = ['a', 'b', 'c', 'd'];

describe('leave-one-category-out selection', () => {
  it('chooses on the other categories and scores the held-out one', () => {
    // "spiky" is best on average only because of category a; held out on a, the defaults must win.
    const r = leaveOneCategoryOut([
      { name: 'defaults', perCategory: { a: 50, b: 60, c: 60, d: 60 } },
      { name: 'spiky', perCategory: { a: 100, b: 58, c: 58, d: 58 } },
    ], CATS);
    expect(r.folds.map((f) => [f.heldOut, f.chosen])).toEqual([['a', 'defaults'], ['b', 'spiky'], ['c', 'spiky'], ['d', 'spiky']]);
    expect(r.folds[0]).toMatchObject({ trainMean: 60, heldOutScore: 50 });
    expect(r.folds[1]).toMatchObject({ trainMean: (100 + 58 + 58) / 3, heldOutScore: 58 });
    expect(r.meanHeldOut).toBeCloseTo((50 + 58 * 3) / 4, 12);
  });

  it('keeps the first candidate on ties and with only the defaults reports their held-out scores', () => {
    const same = { a: 1, b: 2, c: 3, d: 4 };
    const tie = leaveOneCategoryOut([{ name: 'defaults', perCategory: same }, { name: 'copy', perCategory: { ...same } }], CATS);
    expect(tie.folds.every((f) => f.chosen === 'defaults')).toBe(true);
    const only = leaveOneCategoryOut([{ name: 'defaults', perCategory: same }], CATS);
    expect(only.folds.map((f) => f.heldOutScore)).toEqual([1, 2, 3, 4]);
    expect(only.meanHeldOut).toBe(2.5);
  });

  it('leaves a category without a score (no windows) out of the means, and its fold without a held-out score', () => {
    const r = leaveOneCategoryOut([
      { name: 'defaults', perCategory: { a: 10, b: null, c: 30, d: 40 } },
      { name: 'alt', perCategory: { a: 20, b: null, c: 35, d: 20 } },
    ], CATS);
    expect(r.folds).toEqual([
      { heldOut: 'a', chosen: 'defaults', trainMean: 35, heldOutScore: 10 },
      { heldOut: 'b', chosen: 'defaults', trainMean: 80 / 3, heldOutScore: null },
      { heldOut: 'c', chosen: 'defaults', trainMean: 25, heldOutScore: 30 },
      { heldOut: 'd', chosen: 'alt', trainMean: 27.5, heldOutScore: 20 },
    ]);
    expect(r.meanHeldOut).toBe(20);
  });

  it('rejects a candidate missing a category, and empty inputs', () => {
    expect(() => leaveOneCategoryOut([{ name: 'x', perCategory: { a: 1, b: 2, c: 3 } }], CATS)).toThrow(/candidate "x" has no score for category "d"/);
    expect(() => leaveOneCategoryOut([], CATS)).toThrow(/at least one candidate/);
    expect(() => leaveOneCategoryOut([{ name: 'x', perCategory: { a: 1 } }], ['a'])).toThrow(/two categories/);
  });
});

describe('candidates file', () => {
  it('reads name + settings entries and names the bad entry', () => {
    expect(parseCandidates('[{"name":"t","settings":{"alertTailProbability":1e-4}}]', 'c.json')).toEqual([{ name: 't', settings: { alertTailProbability: 1e-4 } }]);
    expect(() => parseCandidates('{', 'c.json')).toThrow(/c\.json: not JSON/);
    expect(() => parseCandidates('{}', 'c.json')).toThrow(/c\.json: expected a JSON array/);
    expect(() => parseCandidates('[{"settings":{}}]', 'c.json')).toThrow(/entry 0: needs a non-empty string "name"/);
    expect(() => parseCandidates('[{"name":"a","settings":[]}]', 'c.json')).toThrow(/entry 0 \("a"\): "settings" must be an object/);
    expect(() => parseCandidates('[{"name":"a","settings":{}},{"name":"a","settings":{}}]', 'c.json')).toThrow(/entry 1: duplicate name "a"/);
  });
});

describe('bench figures', () => {
  it('seed mean and sample spread', () => {
    const s = spread([1, 2, 3, NaN]);
    expect(s).toEqual({ mean: 2, sd: 1, min: 1, max: 3, n: 3 });
    expect(spread([]).n).toBe(0);
  });

  it('draws bars from the zero line, negative ones to its left', () => {
    const [pos, neg] = barChart([{ label: 'p', value: 50 }, { label: 'n', value: -50 }], -100, 100, 20);
    expect(pos).toBe('p |          #####     | 50.0');
    expect(neg).toBe('n |     #####|         | -50.0');
  });
});
