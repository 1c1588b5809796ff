// Rows Prometheus did not observe. Prometheus writes no staleness markers when it stops (nor when it skips
// scrapes), so after an outage an instant query or a query_range step returns each series' last sample for up to
// the lookback delta (5 min by default): a flat line nobody measured. Fed to the detectors as data, such a line is
// an anomaly of its own (issue: scores above 1 for 17 s after a 45 s outage of Prometheus).
//
// Feature queries are arbitrary PromQL, so the check works on the series they read: for every vector selector S
// of a feature (outside `offset`, `@` and absent()), Prometheus evaluates, per entity (the groupBy labels) and per
// step, the age of S's freshest sample, `time() - max by (groupBy) (timestamp(S))` (timestamp() of a selector is
// the timestamp of the sample the lookback picked), and compares it with twice the spacing of S's samples over the
// last 10 minutes, `600 / count_over_time(S[10m])` (the scrape interval as the data shows it, per entity: a gap
// of L seconds raises it only by 600 / (600 - L)), and with twice the step. The query keeps only the steps where
// the sample is older than both: an answer is a list of the rows that must be missing, not data, and is empty
// while every target is scraped. A real flat line (a gauge that does not move) has fresh samples and stays data.
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** The window over which the spacing of a selector's samples is measured. */
export const SPACING_WINDOW_SECONDS = 600;

/** The label that tells the selectors apart in the combined answer. */
const TAG_LABEL = 'selfheal_selector';

// A selector under these reads other times than the row's (offset, @) or is read for its absence.
const IGNORED_WRAPPERS = new Set(['OffsetExpr', 'StepInvariantExpr']);
const IGNORED_FUNCTIONS = new Set(['absent', 'absent_over_time']);

export interface SampleAgeCheck {
  /**
   * One query for the whole group: a series per selector and entity (or per selector only, when the selector's
   * series lack the groupBy labels: then it applies to every entity) with points only at the steps whose sample is
   * too old. Undefined when no feature reads a selector that can be checked.
   */
  readonly promql: string | undefined;
  /** The label of the answer's series holding the selector's index. */
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

/** A PromQL number for a count of seconds (no exponent notation for the usual values). */
function seconds(value: number): string {
  return Number(value.toFixed(6)).toString();
}

/** The query of one selector: the age (s) of its freshest sample per entity, at the steps where it is too old. */
export function selectorAgeQuery(selector: string, groupBy: readonly string[], stepSeconds: number): string {
  // A `#` comment inside the selector's braces would swallow the closing parenthesis: end its line.
  const s = selector.includes('#') ? `${selector}\n` : selector;
  const by = `by (${groupBy.join(', ')})`;
  const age = `(time() - max ${by} (timestamp(${s})))`;
  const limit = `(2 * min ${by} (${SPACING_WINDOW_SECONDS} / count_over_time(${s}[${SPACING_WINDOW_SECONDS}s])))`;
  // No sample in the window (a lookback delta longer than it): older than the window, not observed either.
  return `((${age} > ${limit}) or (${age} > ${SPACING_WINDOW_SECONDS})) > ${seconds(2 * stepSeconds)}`;
}

/** Plans the check of a group's features (done once per group configuration). */
export function planSampleAgeCheck(features: Readonly<Record<string, string>>, groupBy: readonly string[], stepSeconds: number): SampleAgeCheck {
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
  const promql =
    selectors.length === 0
      ? undefined
      : selectors.map((selector, index) => `label_replace(${selectorAgeQuery(selector, groupBy, stepSeconds)}, "${tagLabel}", "${index}", "", "")`).join('\nor\n');
  return { promql, tagLabel, selectors, selectorFeatures, unchecked };
}
