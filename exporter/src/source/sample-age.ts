// Rows Prometheus did not observe. Prometheus writes no staleness markers when it stops (nor when it skips
// scrapes), so after an outage an instant query or a query_range step returns each series' last sample for up to
// the lookback delta (5 min by default): a flat line nobody measured. Fed to the detectors as data, such a line is
// an anomaly of its own (issue: scores above 1 for 17 s after a 45 s outage of Prometheus).
//
// Feature queries are arbitrary PromQL, so the check works on the series they read: every vector selector S of a
// feature (outside `offset`, `@` and absent()). A value at step t is observed when the entity's series of S have a
// sample in the last X seconds, X = twice the larger of the step and the spacing of S's samples; otherwise the
// value is the lookback repeating an older sample. Per selector, with the groupBy labels G:
//   spacing  `max(min by (G) (600 / count_over_time(S[10m]) and S offset 10m))`, an instant query: the slowest
//            entity's sample spacing (its fastest series) over 10 minutes, among entities at least that old (a series
//            that just appeared would look slow); a gap of L seconds in the window raises it only by 600 / (600 - L);
//   missing  `max by (G) (S) unless max by (G) (count_over_time(S[X]))`: the steps where an entity has a value from
//            the lookback but no sample in the last X, i.e. the rows to feed as missing. Its answer is empty while
//            every target is scraped. A real flat line (a gauge that does not move) has fresh samples and stays data.
// (`timestamp(S)` would give each sample's age directly, but Prometheus evaluates it over a range about four times
// slower than the count: too slow for the training reads.)
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** The window over which the spacing of a selector's samples is measured (s). */
export const SPACING_WINDOW_SECONDS = 600;

/** The label that tells the selectors apart in the combined answer. */
const TAG_LABEL = 'selfheal_selector';

// A selector under these reads other times than the row's (offset, @) or is read for its absence.
const IGNORED_WRAPPERS = new Set(['OffsetExpr', 'StepInvariantExpr']);
const IGNORED_FUNCTIONS = new Set(['absent', 'absent_over_time']);

export interface SampleAgeCheck {
  /**
   * The instant query of the selectors' spacing of samples (one series per selector, tagged, value in seconds).
   * Undefined when no feature reads a selector that can be checked.
   */
  readonly spacingQuery: string | undefined;
  /** The label of the answers' series holding the selector's index. */
  readonly tagLabel: string;
  /** The distinct selectors checked, in index order. */
  readonly selectors: readonly string[];
  /** Per selector index, the indices of the features that read it. */
  readonly selectorFeatures: readonly (readonly number[])[];
  /** Features none of whose selectors can be checked (their rows are always taken as observed). */
  readonly unchecked: readonly string[];
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

/**
 * The vector selectors of an expression whose sample age says whether a row was observed: every selector (also
 * inside a range selector or a subquery) except those under `offset` or `@` and those inside absent() or
 * absent_over_time(). Distinct texts, in order of appearance; none when the expression does not parse.
 */
export function checkableSelectors(promql: string): string[] {
  const tree = parser.parse(promql);
  let broken = false;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) broken = true;
    },
  });
  if (broken) return [];
  const found: string[] = [];
  // `a - b offset 1d` is `a - (b offset 1d)` in Prometheus (offset and @ bind tighter than any operator), but the
  // lezer grammar wraps the whole binary expression: only its rightmost operand is under the modifier.
  const underModifier = (node: SyntaxNode): void => {
    if (node.name !== 'BinaryExpr') return;
    const parts = children(node);
    const [left, right] = [parts[0], parts.at(-1)];
    if (left) walk(left);
    if (right && right !== left) underModifier(right);
  };
  const walk = (node: SyntaxNode): void => {
    if (IGNORED_WRAPPERS.has(node.name)) {
      const [operand] = children(node);
      if (operand) underModifier(operand);
      return;
    }
    if (node.name === 'FunctionCall') {
      const identifier = children(node).find((child) => child.name === 'FunctionIdentifier');
      if (identifier && IGNORED_FUNCTIONS.has(promql.slice(identifier.from, identifier.to))) return;
    }
    if (node.name === 'VectorSelector') {
      const text = promql.slice(node.from, node.to).trim();
      if (!found.includes(text)) found.push(text);
      return;
    }
    for (const child of children(node)) walk(child);
  };
  walk(tree.topNode);
  return found;
}

/** A selector as text inside another expression (a `#` comment in its braces would swallow the rest: end its line). */
function inline(selector: string): string {
  return selector.includes('#') ? `${selector}\n` : selector;
}

/** One query per group: per selector (tagged), the slowest entity's spacing of samples in seconds at the query time. */
function spacingQuery(selectors: readonly string[], groupBy: readonly string[], tagLabel: string): string {
  const by = `by (${groupBy.join(', ')})`;
  const w = SPACING_WINDOW_SECONDS;
  return selectors
    .map((selector, index) => {
      const s = inline(selector);
      return `label_replace(max(min ${by} (${w} / count_over_time(${s}[${w}s]) and ${s} offset ${w}s)), "${tagLabel}", "${index}", "", "")`;
    })
    .join('\nor\n');
}

/** The limit of a selector's sample age: twice the larger of the step and its spacing of samples. */
export function sampleAgeLimit(stepSeconds: number, spacingSeconds: number): number {
  return 2 * Math.max(stepSeconds, spacingSeconds);
}

/**
 * The query of the values Prometheus did not observe, for the selectors whose age limit (s) is known: per selector
 * (tagged) and entity, the steps with a value from the lookback but no sample within the limit. Undefined when no
 * limit is known.
 */
export function unobservedQuery(check: SampleAgeCheck, groupBy: readonly string[], limits: readonly (number | undefined)[]): string | undefined {
  const by = `by (${groupBy.join(', ')})`;
  const parts: string[] = [];
  check.selectors.forEach((selector, index) => {
    const limit = limits[index];
    if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return;
    const s = inline(selector);
    parts.push(`label_replace(max ${by} (${s}) unless max ${by} (count_over_time(${s}[${Math.ceil(limit * 1000)}ms])), "${check.tagLabel}", "${index}", "", "")`);
  });
  return parts.length > 0 ? parts.join('\nor\n') : undefined;
}

/** Plans the check of a group's features (done once per group configuration). */
export function planSampleAgeCheck(features: Readonly<Record<string, string>>, groupBy: readonly string[]): SampleAgeCheck {
  const selectors: string[] = [];
  const selectorFeatures: number[][] = [];
  const unchecked: string[] = [];
  Object.entries(features).forEach(([name, promql], f) => {
    const own = checkableSelectors(promql);
    if (own.length === 0) unchecked.push(name);
    for (const selector of own) {
      let index = selectors.indexOf(selector);
      if (index < 0) {
        index = selectors.length;
        selectors.push(selector);
        selectorFeatures.push([]);
      }
      selectorFeatures[index]?.push(f);
    }
  });
  // The groupBy labels are validated label names; the tag must not be one of them.
  let tagLabel = TAG_LABEL;
  while (groupBy.includes(tagLabel)) tagLabel += '_';
  const spacing = selectors.length === 0 ? undefined : spacingQuery(selectors, groupBy, tagLabel);
  return { spacingQuery: spacing, tagLabel, selectors, selectorFeatures, unchecked };
}
