// Per-feature controls over what counts as an anomaly (the false-positive controls users of anomaly tools ask for,
// as in vmanomaly's detection_direction and min_dev_from_expected): a feature's move in an ignored direction, or
// smaller than its minimum deviation, does not count. The forest still sees every feature; the controls decide which
// features decide the score: a sample is scored again with the ignored features' columns at their expected level,
// and the lower of the two scores counts (streaming-detector.ts).
import { z } from 'zod';
import type { ColumnStats } from './column-stats.js';

export type Direction = 'up' | 'down' | 'both';

export interface FeatureControl {
  /** Which moves away from the expected level count: up (a CPU or latency rise), down (a throughput drop) or both. */
  readonly direction?: Direction;
  /** A move smaller than every bound given here does not count: absolute (in the feature's unit) and/or relative to the expected level. */
  readonly minDeviation?: { readonly absolute?: number; readonly relative?: number };
}

/** Controls by feature name (features not named count in both directions, with no minimum). */
export type FeatureControls = Readonly<Record<string, FeatureControl>>;

export const featureControlSchema = z.strictObject(
  {
    direction: z.enum(['up', 'down', 'both'], { error: 'expected up, down or both' }).optional(),
    minDeviation: z
      .strictObject(
        {
          absolute: z.number({ error: 'expected a number in the feature\'s unit' }).min(0).optional(),
          relative: z.number({ error: 'expected a fraction of the expected level, e.g. 0.2 for 20 %' }).min(0).optional(),
        },
        { error: 'expected {absolute: N} and/or {relative: F}' },
      )
      .refine((m) => m.absolute !== undefined || m.relative !== undefined, { error: 'give absolute and/or relative' })
      .optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown feature control(s) ${issue.keys.join(', ')}; known: direction, minDeviation` : 'expected {direction, minDeviation}') },
);

export const featureControlsSchema = z.record(z.string(), featureControlSchema, { error: 'expected a map of feature name to {direction, minDeviation}' });

/** The controls of a detector's features, in its feature order, ready for the per-sample gate. */
export class ControlGate {
  private readonly up: Uint8Array;
  private readonly down: Uint8Array;
  private readonly absolute: Float64Array;
  private readonly relative: Float64Array;

  private constructor(
    features: number,
    /** Per input feature: its value column in the model row. */
    private readonly valueColumns: Int32Array,
  ) {
    this.up = new Uint8Array(features).fill(1);
    this.down = new Uint8Array(features).fill(1);
    this.absolute = new Float64Array(features);
    this.relative = new Float64Array(features);
  }

  /**
   * The gate of these controls, or undefined when they change nothing (no control, or only `both` without a minimum):
   * then the detector skips the gate and behaves exactly as without controls. Throws naming a control whose feature
   * the detector does not have.
   */
  static of(controls: FeatureControls | undefined, featureNames: readonly string[], valueColumns: Int32Array): ControlGate | undefined {
    if (controls === undefined) return undefined;
    const gate = new ControlGate(featureNames.length, valueColumns);
    let active = false;
    for (const [name, control] of Object.entries(controls)) {
      const i = featureNames.indexOf(name);
      if (i < 0) throw new Error(`controls: "${name}" is not a feature of this detector (features: ${featureNames.join(', ')})`);
      if (control.direction === 'up') gate.down[i] = 0;
      if (control.direction === 'down') gate.up[i] = 0;
      gate.absolute[i] = control.minDeviation?.absolute ?? 0;
      gate.relative[i] = control.minDeviation?.relative ?? 0;
      active ||= (control.direction !== undefined && control.direction !== 'both') || gate.absolute[i] > 0 || gate.relative[i] > 0;
    }
    return active ? gate : undefined;
  }

  /**
   * Marks in `out` (1 = its move does not count) the features whose value moves in an ignored direction or by less
   * than its minimum, against its expected level (the current model's training mean); returns how many.
   */
  ignored(row: Float64Array, stats: ColumnStats, out: Uint8Array): number {
    let n = 0;
    for (let i = 0; i < out.length; i++) {
      const c = this.valueColumns[i] as number;
      const expected = stats.mean[c] as number;
      const move = (row[c] as number) - expected;
      const counts =
        (move > 0 ? this.up[i] === 1 : move < 0 ? this.down[i] === 1 : true) &&
        Math.abs(move) >= (this.absolute[i] as number) &&
        Math.abs(move) >= (this.relative[i] as number) * Math.abs(expected);
      out[i] = counts ? 0 : 1;
      if (!counts) n++;
    }
    return n;
  }
}
