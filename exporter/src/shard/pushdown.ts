// Shard filter pushdown: PromQL cannot hash, but a shard can name its entities. For a feature expression whose
// result series carry the groupBy labels of exactly the series they are computed from, a matcher
// `<label>=~"v1|v2|..."` (this shard's entities' values) added to every selector keeps every entity the shard owns
// unchanged and drops most others, so a shard's training read returns (nearly) only its own series. The exact
// filter stays the hash after parsing: with several groupBy labels the per-label value sets are a superset.
//
// Whether an expression is safe is decided on the syntax tree of the official PromQL parser
// (@prometheus-io/lezer-promql); anything not provably safe is refused with the reason, and the shard then reads
// every series as without pushdown. The rule, for the groupBy labels L:
//   - a selector is safe (its series carry their own labels);
//   - element-wise functions (rate, *_over_time, abs, histogram_quantile when L has no `le`, ...), offset, @,
//     parentheses, unary minus and subqueries keep a safe operand safe;
//   - label_replace / label_join are safe unless they write a label of L; count_values unless it names one;
//   - an aggregation is safe when its groups keep L: `by (G)` with L ⊆ G, `without (W)` with L ∩ W = ∅
//     (topk/bottomk/limitk/quantile included: the members of a group then share their L values);
//   - a binary operation between two operands that read series is safe when their matching keeps L (no
//     on/ignoring, on(O) with L ⊆ O, ignoring(I) with L ∩ I = ∅), the labels come from a side that reads series
//     and group_left/group_right copy no label of L; with a scalar or an operand that reads no series (a
//     constant, unaffected by the filter) the other side decides;
//   - absent, absent_over_time, scalar, info, fill modifiers, aggregations without by/without, unknown functions
//     or syntax, and expressions that do not parse are refused.
import { parser } from '@prometheus-io/lezer-promql';
import { promqlString, quoteRegexLiteral } from '@selfheal/contracts';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];
type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** What a sub-expression is: its type and whether it reads series (a constant is unaffected by the filter). */
interface Shape {
  type: ValueType;
  readsSeries: boolean;
}

/** Where a selector's matchers go: insert `text` at `at` (`{...}` when the selector has no braces). */
interface Insertion {
  at: number;
  kind: 'braces' | 'first' | 'after_comma' | 'comma';
}

export type PushdownPlan =
  | { readonly safe: true; readonly promql: string; readonly groupBy: readonly string[]; readonly insertions: readonly Insertion[] }
  | { readonly safe: false; readonly promql: string; readonly reason: string };

class Refusal extends Error {}

// Functions whose result series are their (one) vector argument's series, labels unchanged except __name__.
const ELEMENTWISE = new Set([
  'abs', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max',
  'clamp_min', 'cos', 'cosh', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg',
  'delta', 'deriv', 'double_exponential_smoothing', 'exp', 'first_over_time', 'floor', 'holt_winters', 'hour', 'idelta',
  'increase', 'irate', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time', 'min_over_time',
  'minute', 'month', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'sgn',
  'sin', 'sinh', 'sort', 'sort_by_label', 'sort_by_label_desc', 'sort_desc', 'sqrt', 'stddev_over_time',
  'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'timestamp', 'ts_of_first_over_time', 'ts_of_last_over_time',
  'ts_of_max_over_time', 'ts_of_min_over_time', 'year', 'histogram_avg', 'histogram_count', 'histogram_fraction',
  'histogram_quantile', 'histogram_quantiles', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'label_replace',
  'label_join', 'vector',
]);
// Functions that return a scalar (no labels).
const SCALAR_FUNCTIONS = new Set(['time', 'pi', 'scalar', 'start', 'end', 'range', 'step']);
// Functions whose result does not follow the labels of the series read.
const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = {
  absent: 'absent() returns a series when its input is empty: filtering the input would change it',
  absent_over_time: 'absent_over_time() returns a series when its input is empty: filtering the input would change it',
  scalar: 'scalar() reduces series of every entity to one value',
  info: 'info() joins series of other labels',
};
const SET_OPERATORS = new Set(['And', 'Or', 'Unless']);
// Wrappers whose first child is the operand and whose result keeps its series (offset, @, anchored, smoothed).
const WRAPPERS = new Set(['OffsetExpr', 'StepInvariantExpr', 'AnchoredExpr', 'SmoothedExpr']);

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name !== 'LineComment') out.push(child);
  return out;
}

/** The value of a PromQL string literal ("...", '...' with Go escapes, or `raw`). */
export function unquotePromQLString(text: string): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  if (quote === '`') return body;
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, escape: string) => {
    const head = escape[0] ?? '';
    if (head === 'x' || head === 'u' || head === 'U') return String.fromCodePoint(parseInt(escape.slice(1), 16));
    if (/^[0-7]{3}$/.test(escape)) return String.fromCodePoint(parseInt(escape, 8));
    return simple[escape] ?? escape;
  });
}

class Analysis {
  readonly insertions: Insertion[] = [];

  constructor(
    private readonly text: string,
    private readonly groupBy: readonly string[],
  ) {}

  private source(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  private labelNames(grouping: SyntaxNode | undefined): string[] {
    if (!grouping) return [];
    return children(grouping).map((label) => (label.name === 'QuotedLabelName' ? unquotePromQLString(this.source(label)) : this.source(label)));
  }

  private groupByIn(labels: readonly string[]): string[] {
    return this.groupBy.filter((label) => labels.includes(label));
  }

  shape(node: SyntaxNode): Shape {
    if (node.type.isError) throw new Refusal(`the expression does not parse at "${this.source(node) || this.text.slice(node.from, node.from + 20)}"`);
    switch (node.name) {
      case 'PromQL': {
        const [expr, ...rest] = children(node);
        if (!expr || rest.length > 0) throw new Refusal('the expression does not parse');
        return this.shape(expr);
      }
      case 'NumberDurationLiteral':
        return { type: 'scalar', readsSeries: false };
      case 'StringLiteral':
        return { type: 'string', readsSeries: false };
      case 'VectorSelector':
        this.selector(node);
        return { type: 'vector', readsSeries: true };
      case 'MatrixSelector': {
        const selector = children(node).find((child) => child.name === 'VectorSelector');
        if (!selector) throw new Refusal(`no selector in "${this.source(node)}"`);
        this.selector(selector);
        return { type: 'matrix', readsSeries: true };
      }
      case 'ParenExpr':
      case 'UnaryExpr': {
        const expr = children(node).find((child) => child.name !== 'UnaryOp');
        if (!expr) throw new Refusal(`nothing inside "${this.source(node)}"`);
        return this.shape(expr);
      }
      case 'SubqueryExpr': {
        const [expr] = children(node);
        if (!expr) throw new Refusal(`nothing inside "${this.source(node)}"`);
        return { type: 'matrix', readsSeries: this.shape(expr).readsSeries };
      }
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'FunctionCall':
        return this.call(node);
      case 'BinaryExpr':
        return this.binary(node);
      default:
        if (WRAPPERS.has(node.name)) {
          const [expr] = children(node);
          if (!expr) throw new Refusal(`nothing inside "${this.source(node)}"`);
          return this.shape(expr);
        }
        throw new Refusal(`"${this.source(node)}" (${node.name}) is not understood by the pushdown`);
    }
  }

  /** Records where the selector's matchers go. */
  private selector(node: SyntaxNode): void {
    const matchers = children(node).find((child) => child.name === 'LabelMatchers');
    if (!matchers) {
      this.insertions.push({ at: node.to, kind: 'braces' });
      return;
    }
    const inside = this.text.slice(matchers.from + 1, matchers.to - 1).trim();
    const at = matchers.to - 1;
    if (this.text[at] !== '}') throw new Refusal(`unclosed matchers in "${this.source(node)}"`);
    this.insertions.push({ at, kind: inside === '' ? 'first' : inside.endsWith(',') ? 'after_comma' : 'comma' });
  }

  private aggregate(node: SyntaxNode): Shape {
    const parts = children(node);
    const op = parts.find((child) => child.name === 'AggregateOp');
    const opName = op ? this.source(op) : 'aggregation';
    const modifier = parts.find((child) => child.name === 'AggregateModifier');
    const body = parts.find((child) => child.name === 'FunctionCallBody');
    const args = body ? children(body) : [];
    const vector = args.at(-1);
    if (!vector) throw new Refusal(`${opName} without an operand`);
    for (const parameter of args.slice(0, -1)) {
      if (this.shape(parameter).readsSeries) throw new Refusal(`the parameter of ${opName} reads series`);
      if (opName === 'count_values' && parameter.name === 'StringLiteral') {
        const label = unquotePromQLString(this.source(parameter));
        if (this.groupBy.includes(label)) throw new Refusal(`count_values writes the groupBy label "${label}"`);
      }
    }
    const inner = this.shape(vector);
    if (!inner.readsSeries) return { type: 'vector', readsSeries: false };
    if (!modifier) throw new Refusal(`${opName} with no by (...) merges every entity's series`);
    const [how, grouping] = children(modifier);
    const labels = this.labelNames(grouping);
    if (how?.name === 'By') {
      const missing = this.groupBy.filter((label) => !labels.includes(label));
      if (missing.length > 0) throw new Refusal(`${opName} by (${labels.join(', ')}) merges series across the groupBy label(s) ${missing.join(', ')}`);
    } else {
      const dropped = this.groupByIn(labels);
      if (dropped.length > 0) throw new Refusal(`${opName} without (${labels.join(', ')}) drops the groupBy label(s) ${dropped.join(', ')}`);
    }
    return { type: 'vector', readsSeries: true };
  }

  private call(node: SyntaxNode): Shape {
    const parts = children(node);
    const identifier = parts.find((child) => child.name === 'FunctionIdentifier');
    const name = identifier ? this.source(identifier) : '';
    const body = parts.find((child) => child.name === 'FunctionCallBody');
    const args = body ? children(body) : [];
    const shapes = args.map((arg) => this.shape(arg));
    const readsSeries = shapes.some((shape) => shape.readsSeries);
    const type: ValueType = SCALAR_FUNCTIONS.has(name) ? 'scalar' : 'vector';
    if (!readsSeries) return { type, readsSeries };
    const refused = REFUSED_FUNCTIONS[name];
    if (refused) throw new Refusal(refused);
    if (!ELEMENTWISE.has(name)) throw new Refusal(`the function ${name}() is not known to keep the groupBy labels`);
    if ((name === 'label_replace' || name === 'label_join') && args[1]?.name === 'StringLiteral') {
      const destination = unquotePromQLString(this.source(args[1]));
      if (this.groupBy.includes(destination)) throw new Refusal(`${name}() writes the groupBy label "${destination}"`);
    }
    if (name.startsWith('histogram_') && this.groupBy.includes('le')) throw new Refusal(`${name}() drops the groupBy label "le"`);
    return { type, readsSeries };
  }

  private binary(node: SyntaxNode): Shape {
    const parts = children(node);
    const left = parts[0];
    const right = parts.at(-1);
    const operator = parts[1];
    if (!left || !right || !operator || parts.length < 3) throw new Refusal(`"${this.source(node)}" is not a binary operation`);
    const a = this.shape(left);
    const b = this.shape(right);
    if (!a.readsSeries && !b.readsSeries) return { type: a.type === 'scalar' && b.type === 'scalar' ? 'scalar' : 'vector', readsSeries: false };
    // With a scalar operand the result's series are the vector operand's, one for one.
    if (a.type === 'scalar' || b.type === 'scalar') return { type: 'vector', readsSeries: true };
    let matching: { kind: 'on' | 'ignoring'; labels: string[] } | undefined;
    let labelSide: 'left' | 'right' = 'left';
    for (const modifier of parts.slice(2, -1)) {
      if (modifier.name === 'BoolModifier') continue;
      if (modifier.name !== 'MatchingModifierClause') throw new Refusal(`"${this.source(modifier)}" is not understood by the pushdown`);
      const clause = children(modifier);
      for (let i = 0; i < clause.length; i++) {
        const part = clause[i] as SyntaxNode;
        const next = clause[i + 1]?.name === 'GroupingLabels' ? clause[i + 1] : undefined;
        if (part.name === 'On' || part.name === 'Ignoring') {
          matching = { kind: part.name === 'On' ? 'on' : 'ignoring', labels: this.labelNames(next) };
        } else if (part.name === 'GroupLeft' || part.name === 'GroupRight') {
          if (part.name === 'GroupRight') labelSide = 'right';
          const copied = this.groupByIn(this.labelNames(next));
          if (copied.length > 0) throw new Refusal(`${this.source(part)}(${copied.join(', ')}) copies groupBy label(s) from the other side`);
        } else if (part.name !== 'GroupingLabels') {
          throw new Refusal(`"${this.source(modifier)}" is not understood by the pushdown`);
        }
      }
    }
    const setOperator = SET_OPERATORS.has(operator.name);
    // `or` returns the series of both sides; `and`/`unless` the left side's; others the left's, or the right's with group_right.
    const sources = operator.name === 'Or' ? [a, b] : setOperator ? [a] : [labelSide === 'left' ? a : b];
    if (sources.some((shape) => !shape.readsSeries)) throw new Refusal(`the result of "${this.source(node)}" takes its labels from a side that reads no series`);
    const match = matching;
    if (a.readsSeries && b.readsSeries && match) {
      const lost = match.kind === 'on' ? this.groupBy.filter((label) => !match.labels.includes(label)) : this.groupByIn(match.labels);
      if (lost.length > 0) {
        throw new Refusal(`${match.kind}(${match.labels.join(', ')}) matches series of different entities (the groupBy label(s) ${lost.join(', ')} ${match.kind === 'on' ? 'are not matched on' : 'are ignored'})`);
      }
    }
    return { type: 'vector', readsSeries: true };
  }
}

/**
 * Decides once per feature whether `promql` can carry the shard's matchers, and where they go. The result is
 * reused for every read (only the value sets change).
 */
export function planPushdown(promql: string, groupBy: readonly string[]): PushdownPlan {
  const analysis = new Analysis(promql, groupBy);
  try {
    const tree = parser.parse(promql);
    const shape = analysis.shape(tree.topNode);
    if (!shape.readsSeries) return { safe: false, promql, reason: 'the expression reads no series' };
    return { safe: true, promql, groupBy: [...groupBy], insertions: analysis.insertions };
  } catch (error) {
    if (error instanceof Refusal) return { safe: false, promql, reason: error.message };
    throw error;
  }
}

/** `label=~"v1|v2"` for each groupBy label, values sorted (deterministic queries); "" matches a missing label. */
export function entityMatchers(groupBy: readonly string[], values: ReadonlyMap<string, ReadonlySet<string>>): string {
  return [...groupBy]
    .sort()
    .map((label) => `${label}=~${promqlString([...(values.get(label) ?? [])].sort().map(quoteRegexLiteral).join('|'))}`)
    .join(',');
}

/** The expression with `matchers` added to every selector (a safe plan; the text is otherwise unchanged). */
export function applyPushdown(plan: PushdownPlan & { safe: true }, matchers: string): string {
  let text = plan.promql;
  // From the end, so that earlier positions stay valid.
  const insertions = [...plan.insertions].sort((x, y) => y.at - x.at);
  for (const { at, kind } of insertions) {
    const piece = kind === 'braces' ? `{${matchers}}` : kind === 'comma' ? `,${matchers}` : matchers;
    text = text.slice(0, at) + piece + text.slice(at);
  }
  return text;
}

/** The groupBy label values of a set of entities (labels per entity), per label. */
export function valueSets(groupBy: readonly string[], entities: Iterable<Readonly<Record<string, string | undefined>>>): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>(groupBy.map((label) => [label, new Set<string>()]));
  for (const labels of entities) for (const label of groupBy) sets.get(label)?.add(labels[label] ?? '');
  return sets;
}
