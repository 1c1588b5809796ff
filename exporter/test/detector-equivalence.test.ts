// The detector's behaviour and state format are pinned: the same verdicts, sample by sample, and the same
// serialized bytes as the code that made fixtures/detector-equivalence.json (see detector-equivalence.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { equivalenceSeries, recordEquivalence, runSeries, type EquivalenceRecord } from './detector-equivalence.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/detector-equivalence.json', import.meta.url), 'utf8')) as EquivalenceRecord;
const now = recordEquivalence();

describe('detector equivalence with the recorded code', () => {
  for (const [name, recorded] of Object.entries(fixture.runs)) {
    it(`${name}: the same verdicts sample by sample and the same serialized state bytes`, () => {
      const run = now.runs[name];
      expect(run).toBeDefined();
      if (run === undefined) return;
      run.scores.forEach((a, i) => expect(a, `row ${i} anomaly score`).toBe(recorded.scores[i]));
      expect(run.tops).toEqual(recorded.tops);
      expect(run.verdicts).toBe(recorded.verdicts);
      run.states.forEach((h, k) => expect(h, `state after row ${(k + 1) * 10}`).toBe(recorded.states[k]));
      expect(run.saved).toEqual(recorded.saved);
    });

    it(`${name}: a state saved by the recorded code restores and continues as an uninterrupted run`, () => {
      const s = equivalenceSeries()[name];
      expect(s).toBeDefined();
      if (s === undefined) return;
      for (const [at, base64] of Object.entries(recorded.saved)) {
        const from = Number(at);
        const cont = runSeries(s, from, new Uint8Array(Buffer.from(base64, 'base64')));
        expect(cont.scores, `continued from row ${at}`).toEqual(recorded.scores.slice(from));
        // States are hashed every 10 rows; the continued run's hashes line up with the recorded ones from `from` on.
        expect(cont.states, `states continued from row ${at}`).toEqual(recorded.states.slice(Math.floor(from / 10)));
      }
    });
  }

  it('older state versions (2, 3) restore, re-serialize and continue as recorded', () => {
    expect(now.restored).toEqual(fixture.restored);
  });
});
