// A detector's alarm episodes: when a calibrated score opens one, how it is held and released, and what an episode
// does to the training data and the calibration (an incident is not learnt as normal; a lasting change becomes
// the new normal). Also the persistence sum (CUSUM) and the refractory period that keep one incident one alarm.
import { argmax } from './attribution.js';
import type { DetectorOptions } from './options.js';

/** Score held while an alarm episode must stay visible (its first `alarmHold` samples, and while releasing). */
const HOLD_LEVEL = 1.001;
/** An episode's driving feature is decided on the evidence of its first samples, then kept (a stable alert label). */
const ATTRIBUTION_SAMPLES = 3;
/** An episode this long that ends in recovery was an incident: its rows are not trained on. Shorter ones stay. */
const INCIDENT_SAMPLES = 5;
/**
 * An incident's onset: the rows just before its alarm that already looked unusual (calibrated score above 0, the
 * bulk of normal) with the same driving feature. At most this many: a slow drift's early part stays trained on.
 */
export const ONSET_MAX = 16;

/** What an episode changes outside itself: the calibration history and the training rows. */
export interface EpisodeEffects {
  calibrate(smoothedRaw: number): void;
  /** Takes back the latest `rows` training rows (at most as many as there are). */
  untrain(rows: number): void;
}

export type EpisodeOptions = Pick<
  DetectorOptions,
  'refractory' | 'cusumThreshold' | 'cusumAllowance' | 'maxEpisode' | 'alarmHold' | 'releaseAfter'
>;

/** The episode state of one detector. Its fields are saved with the detector's state (see state-codec.ts). */
export class EpisodeTracker {
  /** Samples into the current alarm episode (0 = none), and consecutive samples of it back below 1. */
  age = 0;
  belowCount = 0;
  /** Training rows pushed during the current episode (taken back if it turns out to be an incident). */
  rows = 0;
  /** After an incident ended, until the score is back to normal. */
  recovering = false;
  /**
   * Length of the last episode: for as long again after an incident, its recovery's scores stay out of the
   * calibration too (a tail learnt as normal would make the next incident of that kind look ordinary).
   */
  lastLength = 0;
  /** Samples since the last episode ended, and that episode's peak score (the refractory period's bar). */
  sinceEpisode = Infinity;
  peak = 0;
  feature = -1;
  /** Smoothed raw scores of the current episode: they enter the calibration only if it turns out to be a new normal. */
  pending: Float64Array | undefined;
  pendingCount = 0;
  /** Per input feature: evidence summed over the episode's first samples (the episode's feature, for the refractory period). */
  readonly evidence: Float64Array;
  /** Per input feature: the reported evidence summed over the episode's first samples (what its verdicts name). */
  readonly reported: Float64Array;
  /** Persistence: the calibrated scores' accumulated excess over cusumAllowance since the last episode (CUSUM). */
  cusum = 0;
  /** Rows of the current episode's onset (trained on before its alarm): taken back with it if it is an incident. */
  onset = 0;
  /**
   * Consecutive trained rows up to now that already looked unusual (calibrated score > 0), and the driving feature
   * of the latest ONSET_MAX of them (a ring): an episode that opens next takes those of its feature as its onset.
   */
  onsetRun = 0;
  readonly onsetTop = new Int32Array(ONSET_MAX);
  /** Whether this sample's row is not trained on (a recovery under way); for the current sample only. */
  skipTraining = false;
  /** The reported evidence the last judged score is attributed by: the sample's own, or the open episode's. */
  attribution: Float64Array;
  /** The last judged sample's calibrated score (before the episode logic): whether its row counts towards an onset. */
  private rowScore = 0;

  constructor(
    features: number,
    private readonly o: Readonly<EpisodeOptions>,
    private readonly effects: EpisodeEffects,
  ) {
    this.evidence = new Float64Array(features);
    this.reported = new Float64Array(features);
    this.attribution = this.reported;
  }

  /** True while an alarm episode is open (the score is then above 1). */
  get open(): boolean {
    return this.age > 0;
  }

  /**
   * One sample's calibrated score `a` (of smoothed raw score `smooth`, per-feature `evidence` for the episode logic
   * and `reported` evidence for the verdict): the anomaly score to report, attributed by `this.attribution`.
   */
  judge(a: number, smooth: number, evidence: Float64Array, reported: Float64Array): number {
    const o = this.o;
    this.rowScore = a;
    this.attribution = reported;
    if (this.age === 0) {
      this.sinceEpisode++;
      // Refractory: shortly after an episode, only what exceeds its peak counts (one incident, one alarm), unless
      // another feature drives it (a different incident).
      const refractory = this.sinceEpisode <= o.refractory && argmax(evidence) === this.feature;
      const single = refractory ? Math.max(0, a - this.peak) : a;
      // Persistence: moderately unusual samples in a row add up (a drift, a denser run of spikes), counted as the
      // score is reported (in the refractory period only new highs count, so an incident's tail does not add up to
      // a second alarm). It restarts when an episode opens.
      let persistent = 0;
      if (o.cusumThreshold > 0) {
        this.cusum = Math.max(0, this.cusum + single - o.cusumAllowance);
        persistent = this.cusum / o.cusumThreshold;
      }
      const reported = Math.max(single, persistent);
      if (!(reported > 1)) {
        // After an incident, until the score is back in the bulk of normal (a = 0), the entity is still recovering:
        // not trained on (a recovery's tail, learnt as normal, would hide the next incident), and for as long as
        // the incident lasted not calibrated on either (recovery tails in the calibration history raise its tail,
        // and after a few incidents a repeat of a mild one stays below 1). Bounded so that a lasting change of
        // level still becomes the new normal.
        let calibrate = true;
        if (this.recovering && a > 0 && this.sinceEpisode <= o.maxEpisode) {
          this.skipTraining = true;
          calibrate = this.sinceEpisode > this.lastLength;
        } else this.recovering = false;
        if (calibrate) this.effects.calibrate(smooth);
        return reported;
      }
      this.start(persistent, argmax(evidence));
    }
    this.age++;
    // Allocated at the first episode: most entities never have one.
    this.pending ??= new Float64Array(o.maxEpisode);
    this.pending[this.pendingCount++] = smooth;
    if (this.age <= ATTRIBUTION_SAMPLES) {
      for (let i = 0; i < this.evidence.length; i++) {
        this.evidence[i] = (this.evidence[i] as number) + (evidence[i] as number);
        this.reported[i] = (this.reported[i] as number) + (reported[i] as number);
      }
    }
    this.belowCount = a < 1 ? this.belowCount + 1 : 0;
    this.peak = Math.max(this.peak, a);
    if (this.age >= o.maxEpisode) {
      // Abnormal for longer than an incident lasts: this is the new normal. Its scores join the calibration.
      for (let j = 0; j < this.pendingCount; j++) this.effects.calibrate(this.pending[j] as number);
      this.end();
      return a;
    }
    if (this.belowCount >= o.releaseAfter && this.age > o.alarmHold) {
      // Recovered: it was an incident. Its rows and its onset's leave the training data (they are the latest ones
      // in the ring), so the model does not learn the incident as normal and still knows its repeat.
      const incident = this.age >= INCIDENT_SAMPLES;
      if (incident) this.effects.untrain(this.rows + this.onset);
      this.end();
      this.recovering = incident;
      this.skipTraining = incident;
      return a;
    }
    // Open: the score stays above the threshold, at least just above it while starting or releasing.
    this.attribution = this.reported;
    return Math.max(a, HOLD_LEVEL);
  }

  /** After a judged sample: whether its row was trained on, and its per-feature evidence (for an onset). */
  rowDone(trained: boolean, evidence: Float64Array): void {
    if (trained) {
      if (this.age > 0) this.rows++;
      else if (this.rowScore > 0) {
        this.onsetTop[this.onsetRun % ONSET_MAX] = argmax(evidence);
        this.onsetRun++;
      } else this.onsetRun = 0;
    } else if (this.age === 0) this.onsetRun = 0;
    this.skipTraining = false;
  }

  /** An episode opens (its persistence score so far, its driving feature): freeze the calibration, gather its evidence. */
  private start(persistent: number, top: number): void {
    this.recovering = false;
    this.cusum = 0;
    this.peak = persistent;
    // Its onset: the unusual rows just before it with the same driving feature. Trained on as they came (they
    // scored below 1), they would teach the model the start of this incident and blunt its repeat.
    let onset = 0;
    while (onset < Math.min(this.onsetRun, ONSET_MAX) && this.onsetTop[(this.onsetRun - 1 - onset) % ONSET_MAX] === top) onset++;
    this.onset = onset;
    this.onsetRun = 0;
    this.age = 0;
    this.belowCount = 0;
    this.pendingCount = 0;
    this.evidence.fill(0);
    this.reported.fill(0);
  }

  private end(): void {
    this.lastLength = this.age;
    this.rows = 0;
    this.onset = 0;
    this.feature = argmax(this.evidence);
    this.sinceEpisode = 0;
    this.age = 0;
    this.belowCount = 0;
    this.pendingCount = 0;
    this.pending = undefined;
  }
}
