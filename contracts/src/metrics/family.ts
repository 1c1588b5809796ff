// A metric family's descriptor, validated when it is built, the way prom-client validates a metric's name and
// label names at construction; unlike prom-client, the error names the offending value. On top of the data
// model's syntax it enforces the naming conventions (https://prometheus.io/docs/practices/naming/): counters end
// in `_total` and nothing else does, base units only, no colons (reserved for recording rules), no `__` labels.

export const METRIC_TYPES = ['counter', 'gauge', 'histogram', 'info'] as const;
/** `info`: a gauge of value 1 whose labels carry the information (OpenMetrics' info type; exposed as a gauge). */
export type MetricType = (typeof METRIC_TYPES)[number];

export interface MetricFamily<L extends string = string> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The fixed label names every series of the family carries. */
  readonly labels: readonly L[];
  /**
   * The series also carry the scored entity's labels (a group's `groupBy`, chosen by the configuration), so
   * `labels` is not the whole label set.
   */
  readonly entityLabels: boolean;
  /** Histograms: the bucket upper bounds (strictly increasing, finite; +Inf is implied). */
  readonly buckets?: readonly number[];
}

export interface MetricFamilySpec<L extends string> {
  name: string;
  type: MetricType;
  help: string;
  labels?: readonly L[];
  entityLabels?: boolean;
  buckets?: readonly number[];
}

export class MetricFamilyError extends Error {
  override readonly name = 'MetricFamilyError';
}

// https://prometheus.io/docs/concepts/data_model/#metric-names-and-labels
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Suffixes the exposition of a histogram adds; a family of another type must not end in them. */
export const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;
/** Non-base units, by the base unit to use instead. */
const NON_BASE_UNITS: Readonly<Record<string, string>> = {
  nanoseconds: 'seconds', microseconds: 'seconds', milliseconds: 'seconds', ms: 'seconds', minutes: 'seconds', hours: 'seconds', days: 'seconds',
  kilobytes: 'bytes', megabytes: 'bytes', gigabytes: 'bytes', kb: 'bytes', mb: 'bytes', gb: 'bytes',
  percent: 'ratio (0-1)', percentage: 'ratio (0-1)',
};

function fail(name: string, message: string): never {
  throw new MetricFamilyError(`metric family ${JSON.stringify(name)}: ${message}`);
}

/** Builds a family's descriptor, or throws a MetricFamilyError naming the bad value. */
export function defineFamily<const L extends string = never>(spec: MetricFamilySpec<L>): MetricFamily<L> {
  const { name, type, help } = spec;
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    fail(String(name), 'invalid metric name: names are [a-zA-Z_:][a-zA-Z0-9_:]*');
  }
  if (name.includes(':')) fail(name, 'colons are reserved for recording rules; an exported metric name has none');
  if (name.startsWith('__')) fail(name, 'names starting with __ are reserved for Prometheus');
  if (!(METRIC_TYPES as readonly string[]).includes(type)) fail(name, `invalid type ${JSON.stringify(type)}: one of ${METRIC_TYPES.join(', ')}`);
  if (typeof help !== 'string' || help.trim() === '') fail(name, 'help must be a non-empty text');
  if (/[\r\n]/.test(help)) fail(name, 'help must be a single line');

  if (type === 'counter' && !name.endsWith('_total')) fail(name, 'a counter\'s name ends in _total');
  if (type !== 'counter' && name.endsWith('_total')) fail(name, `only counters end in _total (this is a ${type})`);
  if (type === 'info' && !name.endsWith('_info')) fail(name, 'an info family\'s name ends in _info');
  const reservedSuffix = HISTOGRAM_SUFFIXES.find((suffix) => name.endsWith(suffix));
  if (reservedSuffix) fail(name, `${reservedSuffix} is added by the exposition of histograms; a family's name does not end in it`);
  for (const word of name.split('_')) {
    const base = NON_BASE_UNITS[word.toLowerCase()];
    if (base) fail(name, `"${word}" is not a base unit: use ${base}`);
  }

  const labels = spec.labels ?? [];
  const seen = new Set<string>();
  for (const label of labels) {
    if (typeof label !== 'string' || !LABEL_NAME.test(label)) fail(name, `invalid label name ${JSON.stringify(label)}: label names are [a-zA-Z_][a-zA-Z0-9_]*`);
    if (label.startsWith('__')) fail(name, `label name ${JSON.stringify(label)} is reserved: names starting with __ belong to Prometheus`);
    if (seen.has(label)) fail(name, `label name ${JSON.stringify(label)} is listed twice`);
    if (type === 'histogram' && label === 'le') fail(name, 'label name "le" is reserved for the buckets of a histogram');
    seen.add(label);
  }

  if (spec.buckets !== undefined && type !== 'histogram') fail(name, `buckets are for histograms (this is a ${type})`);
  const buckets = spec.buckets;
  if (buckets !== undefined) {
    if (buckets.length === 0) fail(name, 'buckets must not be empty');
    buckets.forEach((bound, i) => {
      if (!Number.isFinite(bound)) fail(name, `bucket ${i} (${bound}) must be a finite number (+Inf is implied)`);
      const previous = buckets[i - 1];
      if (previous !== undefined && bound <= previous) fail(name, `bucket ${i} (${bound}) must be above the one before it (${previous})`);
    });
  }

  return Object.freeze({
    name,
    type,
    help,
    labels: Object.freeze([...labels]),
    entityLabels: spec.entityLabels ?? false,
    ...(buckets === undefined ? {} : { buckets: Object.freeze([...buckets]) }),
  });
}

/** The `# TYPE` of a family in the Prometheus text format (which has no info type: an info family is a gauge). */
export function expositionType(family: MetricFamily): 'counter' | 'gauge' | 'histogram' {
  return family.type === 'info' ? 'gauge' : family.type;
}

/** The series names a family's exposition holds: the name, or a histogram's _bucket, _sum and _count series. */
export function seriesNames(family: MetricFamily): readonly string[] {
  return family.type === 'histogram' ? HISTOGRAM_SUFFIXES.map((suffix) => `${family.name}${suffix}`) : [family.name];
}

/** The options prom-client's Counter, Gauge and Histogram take (without `registers` and `collect`). */
export function promClientOptions<L extends string>(family: MetricFamily<L>): { name: string; help: string; labelNames: readonly L[]; buckets?: number[] } {
  return {
    name: family.name,
    help: family.help,
    labelNames: family.labels,
    ...(family.buckets === undefined ? {} : { buckets: [...family.buckets] }),
  };
}
