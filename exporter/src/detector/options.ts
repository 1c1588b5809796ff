// The detector's settings and their defaults: the ones `selfheal backtest` and the exporter use unless told
// otherwise. Counts are in samples (the exporter converts its schedule durations with its scrape step).
import { z } from 'zod';
import { featureControlsSchema, type FeatureControls } from './controls.js';

export interface DetectorOptions {
  /** Samples before the first model is trained and verdicts become `ready`. */
  warmup: number;
  /** Trailing rows each (re)training uses. */
  trainWindow: number;
  /** Retrain after this many new samples. */
  retrainEvery: number;
  /** Trailing windows (samples) of the per-feature deviation terms: multi-scale, short to long. */
  windows: number[];
  /**
   * "daily" adds, per feature, the deviation from its usual value at this time of day (a profile of 5-minute bins
   * learnt as data arrives, in units of that bin's usual spread): daily rhythms stop looking anomalous and a
   * normal-looking value at an unusual hour does not. "weekly" does the same per 30-minute bin of the week (weekday
   * and weekend rhythms); it needs a week of data before its profile says much.
   */
  seasonality: 'none' | 'daily' | 'weekly';
  /** Isolation Forest size. */
  trees: number;
  sampleSize: number;
  /** Trailing raw scores the calibration compares the current one with. */
  calibrationWindow: number;
  /** Tail probability (of the recent raw scores) that maps to anomaly score 1.0, the alerting threshold. */
  alertTailProbability: number;
  /**
   * Weight of the out-of-range term added to the forest's raw score: ln(1 + e), e = how far the row lies outside
   * the training range of its most extreme column, in training standard deviations. An Isolation Forest saturates
   * outside its training range (70 and 1000 look alike) and ignores features that were constant in training.
   */
  noveltyWeight: number;
  /** Samples an alarm episode (anomaly score > 1) stays above 1 (at least 1.001), so `for:` in the alert rule can see it. */
  alarmHold: number;
  /**
   * Consecutive samples whose anomaly score is back below 1 that end an alarm episode (hysteresis: the score
   * stays just above 1 until then, so one incident is one alert, not a flapping one).
   */
  releaseAfter: number;
  /**
   * Longest alarm episode, in samples. While an episode lasts, the calibration is frozen (the incident's own
   * scores do not redefine normal) and retraining waits, so the score stays above 1 for as long as the entity
   * stays abnormal: the alert resolves when the entity recovers, which is what healing verifies. An anomaly that
   * outlasts `maxEpisode` is taken as the new normal: its scores enter the calibration and the episode ends.
   */
  maxEpisode: number;
  /**
   * Samples after an episode ends during which only a new high counts: the score is reduced by the episode's
   * peak, so one incident raises one alarm, while a clearly worse one still alarms again.
   */
  refractory: number;
  /** Fraction of the trailing raw scores that forms the modelled tail (peaks over threshold). */
  tailFraction: number;
  /**
   * Persistence (a CUSUM on the calibrated score, Page 1954): outside episodes, S = max(0, S + a - cusumAllowance)
   * accumulates the scores above the allowance, and S / cusumThreshold is also an anomaly score (it opens an episode
   * when above 1, and S restarts from 0 at every episode). A slow drift or a denser run of moderately unusual
   * samples, none of them alarming alone, adds up. cusumThreshold 0 turns it off.
   */
  cusumAllowance: number;
  cusumThreshold: number;
  /** Samples the raw score is averaged over before calibration (1 = none). */
  smoothing: number;
  /** Seed of the forest's PRNG (reproducible verdicts). */
  seed: number;
  /**
   * Per feature (by name): which direction of move counts (`direction: up | down | both`) and the smallest move that
   * counts (`minDeviation: {absolute, relative}`), against the feature's expected level (controls.ts). Absent = every
   * move counts; not part of the defaults, so saved states without it keep their bytes.
   */
  controls?: FeatureControls;
}

export const DEFAULT_DETECTOR_OPTIONS: Readonly<DetectorOptions> = Object.freeze({
  warmup: 200,
  trainWindow: 2000,
  retrainEvery: 200,
  windows: [12, 96, 288],
  seasonality: 'daily',
  trees: 100,
  sampleSize: 256,
  calibrationWindow: 1000,
  alertTailProbability: 3e-4,
  noveltyWeight: 0.2,
  tailFraction: 0.02,
  alarmHold: 1,
  releaseAfter: 1,
  maxEpisode: 120,
  refractory: 200,
  cusumAllowance: 0.15,
  cusumThreshold: 10,
  smoothing: 1,
  seed: 1,
} satisfies DetectorOptions);

/** A number setting, whose type error names the default (the config check shows it to the person fixing the file). */
const num = (key: keyof DetectorOptions) =>
  z.number({ error: (issue) => (issue.code === 'invalid_type' ? `expected a number (default ${String(DEFAULT_DETECTOR_OPTIONS[key])})` : undefined) });
const count = (key: keyof DetectorOptions, min: number, max: number) => num(key).int().min(min).max(max);
/** Every setting's name (the defaults' and the optional ones). */
export const DETECTOR_SETTING_NAMES: readonly string[] = Object.freeze([...Object.keys(DEFAULT_DETECTOR_OPTIONS), 'controls']);
const KNOWN = DETECTOR_SETTING_NAMES.join(', ');

export const detectorOptionsSchema = z.strictObject(
  {
    warmup: count('warmup', 20, 1_000_000),
    trainWindow: count('trainWindow', 20, 1_000_000),
    retrainEvery: count('retrainEvery', 1, 1_000_000),
    windows: z
      .array(z.number().int().min(2).max(100_000), {
        error: (issue) => (issue.code === 'invalid_type' ? `expected a list (default ${JSON.stringify(DEFAULT_DETECTOR_OPTIONS.windows)})` : undefined),
      })
      .min(1)
      .max(8),
    seasonality: z.enum(['none', 'daily', 'weekly']),
    trees: count('trees', 1, 1000),
    sampleSize: count('sampleSize', 16, 4096),
    calibrationWindow: count('calibrationWindow', 50, 1_000_000),
    alertTailProbability: num('alertTailProbability').gt(0).lt(0.5),
    noveltyWeight: num('noveltyWeight').min(0).max(10),
    tailFraction: num('tailFraction').gt(0).max(0.5),
    alarmHold: count('alarmHold', 1, 100_000),
    releaseAfter: count('releaseAfter', 1, 100_000),
    maxEpisode: count('maxEpisode', 1, 1_000_000),
    refractory: count('refractory', 0, 1_000_000),
    cusumAllowance: num('cusumAllowance').gt(0).max(100),
    cusumThreshold: num('cusumThreshold').min(0).max(1e6),
    smoothing: count('smoothing', 1, 100),
    seed: num('seed').int(),
    controls: featureControlsSchema.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown detector setting(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${KNOWN}`
        : 'expected a map of detector settings',
  },
);

/** Some of the settings, the rest default: a group's `detector:` section, `selfheal backtest --set`. */
export type DetectorSettings = Partial<DetectorOptions>;

/** The schema of DetectorSettings (every key optional, unknown keys rejected). */
export const detectorSettingsSchema: z.ZodType<DetectorSettings> = detectorOptionsSchema.partial();

export class DetectorOptionsError extends Error {
  override name = 'DetectorOptionsError';
}

function invalid(issues: readonly z.core.$ZodIssue[]): DetectorOptionsError {
  const problems = issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
  return new DetectorOptionsError(`invalid detector options: ${problems.join('; ')}`);
}

/** Settings from outside the program's types (a saved state's header, the command line); throws a DetectorOptionsError naming every bad setting. */
export function parseDetectorSettings(value: unknown): DetectorSettings {
  const parsed = detectorSettingsSchema.safeParse(value);
  if (!parsed.success) throw invalid(parsed.error.issues);
  return parsed.data;
}

/** Defaults overridden by `options`; throws a DetectorOptionsError naming every bad setting. */
export function resolveDetectorOptions(options: Readonly<DetectorSettings> = {}): DetectorOptions {
  const parsed = detectorOptionsSchema.safeParse({ ...DEFAULT_DETECTOR_OPTIONS, ...options });
  if (!parsed.success) throw invalid(parsed.error.issues);
  const o = parsed.data;
  if (o.warmup < Math.min(o.trainWindow, 20)) throw new DetectorOptionsError('invalid detector options: warmup must be at least 20');
  return { ...o, windows: [...o.windows].sort((a, b) => a - b) };
}

// Thousands of entities share a handful of option sets: validate each set once.
const optionsCache = new Map<string, Readonly<DetectorOptions>>();
/** resolveDetectorOptions, frozen and remembered per distinct set of settings. */
export function cachedDetectorOptions(options: Readonly<DetectorSettings>): Readonly<DetectorOptions> {
  const key = JSON.stringify(options);
  let resolved = optionsCache.get(key);
  if (resolved === undefined) {
    resolved = Object.freeze(resolveDetectorOptions(options));
    if (optionsCache.size >= 256) optionsCache.clear();
    optionsCache.set(key, resolved);
  }
  return resolved;
}

// The settings saved in state headers, checked once per set (a restore reads thousands of headers alike).
const savedCache = new Map<string, Readonly<DetectorSettings>>();
/** parseDetectorSettings, frozen and remembered per distinct value. */
export function cachedDetectorSettings(options: object): Readonly<DetectorSettings> {
  const key = JSON.stringify(options);
  let settings = savedCache.get(key);
  if (settings === undefined) {
    settings = Object.freeze(parseDetectorSettings(options));
    if (savedCache.size >= 256) savedCache.clear();
    savedCache.set(key, settings);
  }
  return settings;
}
