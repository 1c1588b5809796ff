// Leave-one-category-out selection (the NAB DEV split's protocol, ../shared/data/nab/README.md): for each category
// held out, choose the candidate setting with the best mean score over the OTHER categories and report what it
// scores on the held-out one. A setting that only wins where it was chosen shows up as a low held-out score.

/** A candidate's score per category (e.g. NAB standard at a = 1, mean over seeds); null = no score there. */
export interface CandidateScores {
  readonly name: string;
  readonly perCategory: Readonly<Record<string, number | null>>;
}

export interface LocoFold {
  readonly heldOut: string;
  /** The candidate chosen on the other categories. */
  readonly chosen: string;
  /** Its mean score over the other categories that have one. */
  readonly trainMean: number;
  /** Its score on the held-out category (null when that category has no score, e.g. no anomaly windows). */
  readonly heldOutScore: number | null;
}

export interface LocoResult {
  readonly folds: LocoFold[];
  /** Mean of the held-out scores over the folds that have one (NaN if none). */
  readonly meanHeldOut: number;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Candidates are tried in order and a later one must score strictly better to be chosen, so with ties the first
 * (put the defaults first) wins. Categories missing from a candidate's scores are an error: a fold must compare
 * candidates on the same categories.
 */
export function leaveOneCategoryOut(candidates: readonly CandidateScores[], categories: readonly string[]): LocoResult {
  if (candidates.length === 0) throw new Error('leave-one-category-out needs at least one candidate');
  if (categories.length < 2) throw new Error('leave-one-category-out needs at least two categories');
  for (const c of candidates) {
    for (const cat of categories) {
      if (!(cat in c.perCategory)) throw new Error(`candidate "${c.name}" has no score for category "${cat}"`);
    }
  }
  const folds: LocoFold[] = [];
  for (const heldOut of categories) {
    let best: { c: CandidateScores; m: number } | undefined;
    for (const c of candidates) {
      const train = categories.filter((cat) => cat !== heldOut).map((cat) => c.perCategory[cat]).filter((v): v is number => v !== null && v !== undefined);
      const m = mean(train);
      if (best === undefined || (Number.isNaN(best.m) && !Number.isNaN(m)) || m > best.m) best = { c, m };
    }
    const chosen = best as { c: CandidateScores; m: number };
    folds.push({ heldOut, chosen: chosen.c.name, trainMean: chosen.m, heldOutScore: chosen.c.perCategory[heldOut] ?? null });
  }
  return { folds, meanHeldOut: mean(folds.map((f) => f.heldOutScore).filter((v): v is number => v !== null)) };
}

/** One candidate setting of a candidates file. */
export interface Candidate {
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * A candidates file: a JSON array of `{"name": "...", "settings": {detector setting: value}}`. Names must be
 * distinct; the settings are validated by the caller (the detector's own schema). Throws naming the file and entry.
 */
export function parseCandidates(text: string, file: string): Candidate[] {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array of {"name", "settings"} objects`);
  const seen = new Set<string>();
  return data.map((entry: unknown, i) => {
    const e = entry as { name?: unknown; settings?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || e.name === '') {
      throw new Error(`${file}: entry ${i}: needs a non-empty string "name"`);
    }
    if (e.settings === null || typeof e.settings !== 'object' || Array.isArray(e.settings)) {
      throw new Error(`${file}: entry ${i} ("${e.name}"): "settings" must be an object of detector settings`);
    }
    if (seen.has(e.name)) throw new Error(`${file}: entry ${i}: duplicate name "${e.name}"`);
    seen.add(e.name);
    return { name: e.name, settings: e.settings as Record<string, unknown> };
  });
}
