// The exporter's configuration file, validated with zod at start-up and on reload (SIGHUP).
// Durations are Prometheus strings in the file ("15s", "6h") and seconds after parsing.
import { z } from 'zod';
import { shardProblem } from '../shard/shard.js';
import { durationSchema, listenAddressSchema, prometheusAuthSchema } from '@selfheal/contracts';
import type { DetectorScheduleSettings, FeatureControl } from '../detector/factory.js';
import { featureControlSchema } from '../detector/controls.js';

/** Labels the exporter sets itself; an entity label with one of these names would collide. */
export const RESERVED_LABELS = ['group', 'feature', 'bound', 'phase', 'state', 'outcome', 'job', 'instance'] as const;

/** `listen`: HOST:PORT; port 0 lets the system pick a free one (tests). Also checks `--listen`. */
export const LISTEN_OPTIONS = { example: '127.0.0.1:9188', ephemeralPort: true } as const;

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A Prometheus duration string in the file ("15s", "6h"), seconds after parsing. */
const duration = (what: string, options: { min?: number; max?: number } = {}) => durationSchema({ what, ...options });

const nonEmpty = (what: string) =>
  z.string({ error: `expected a string (${what})` }).trim().min(1, { error: `must not be empty (${what})` });

const FEATURE_QUERY = 'PromQL expression returning one series per entity';
/**
 * A feature: its PromQL, or {query, direction, minDeviation} with the controls over which of its moves count
 * (detector/controls.ts).
 */
const featureQuerySchema = nonEmpty(FEATURE_QUERY);
const featureObjectSchema = featureControlSchema.extend({ query: featureQuerySchema });
// Not a z.union: a union's error would hide which key of the object form is wrong.
const featureSchema = z.unknown().transform((value, ctx) => {
  if (typeof value !== 'string' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    ctx.addIssue({ code: 'custom', message: 'expected a PromQL string, or {query: PromQL, direction: up|down|both, minDeviation: {absolute, relative}}' });
    return z.NEVER;
  }
  const parsed = typeof value === 'string' ? featureQuerySchema.safeParse(value) : featureObjectSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return parsed.data;
});

const labelName = (what: string) =>
  z
    .string({ error: `expected a Prometheus label name (${what})` })
    .regex(LABEL_NAME_RE, { error: `must be a Prometheus label name: letters, digits and _, not starting with a digit (${what})` })
    .refine((name) => !name.startsWith('__'), { error: 'names starting with __ are reserved by Prometheus' })
    .refine((name) => !(RESERVED_LABELS as readonly string[]).includes(name), {
      error: `the exporter sets the labels ${RESERVED_LABELS.join(', ')} itself; choose another label`,
    });

const tlsSchema = z.strictObject({
  caFile: nonEmpty('CA certificate file (PEM)').optional(),
  certFile: nonEmpty('client certificate file (PEM)').optional(),
  keyFile: nonEmpty('client key file (PEM)').optional(),
  serverName: nonEmpty('server name to verify').optional(),
  insecureSkipVerify: z.boolean({ error: 'expected true or false' }).default(false),
}).refine((tls) => Boolean(tls.certFile) === Boolean(tls.keyFile), {
  error: 'certFile and keyFile go together: set both or neither',
});

export const prometheusSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL of the Prometheus server, e.g. http://127.0.0.1:9090' })
    .transform((url) => url.replace(/\/+$/, '')),
  timeout: duration('per-request timeout', { min: 0.001 }).default(30),
  retries: z.int({ error: 'expected a whole number of retries' }).min(0).max(10).default(2),
  retryBackoff: duration('first retry delay; doubles per retry, with jitter', { min: 0 }).default(0.25),
  /**
   * "identity" asks Prometheus for uncompressed responses: on loopback or a LAN, decompressing large
   * query_range answers costs more CPU than the bytes saved. "gzip" suits slow links.
   */
  acceptEncoding: z.enum(['identity', 'gzip'], { error: 'expected "identity" or "gzip"' }).default('identity'),
  /** Upper bound of series x points in one query_range answer (memory); longer ranges are split in time. */
  maxPointsPerRequest: z.int().min(11_000).max(50_000_000).default(2_000_000),
  headers: z.record(z.string(), z.string(), { error: 'expected a map of header name to value' }).default({}),
  /**
   * bearerTokenFile, basic, sigv4 (Amazon Managed Service for Prometheus) or azure (Azure Monitor managed
   * Prometheus): one kind; the schema and the signing/token code are shared with the healing service.
   */
  auth: prometheusAuthSchema.optional(),
  tls: tlsSchema.optional(),
});

/** A group; its `detector:` section is validated by `detectorOptions`, the detector's own schema of some of its options. */
export function groupSchema<O extends DetectorScheduleSettings>(detectorOptions: z.ZodType<Partial<O>>) {
  return z
    .strictObject({
      name: nonEmpty('group name, the value of the "group" label'),
      groupBy: z
        .array(labelName('entity label'), { error: 'expected a list of label names, e.g. [service]' })
        .min(1, { error: 'name at least one label that identifies an entity, e.g. [service]' })
        .max(8)
        .refine((labels) => new Set(labels).size === labels.length, { error: 'labels are listed twice' }),
      features: z
        .record(
          z.string().regex(LABEL_NAME_RE, { error: 'feature names are letters, digits and _ (they become a label value)' }),
          featureSchema,
          { error: 'expected a map of feature name to PromQL, e.g. {cpu: "sum by (service) (rate(...[1m]))"}' },
        )
        .refine((features) => Object.keys(features).length >= 1, { error: 'define at least one feature' })
        .refine((features) => Object.keys(features).length <= 32, { error: 'at most 32 features per group' }),
      schedule: z
        .strictObject({
          interval: duration('how often entities are scored', { min: 0.1 }).default(15),
          step: duration('resolution of training history; defaults to interval', { min: 0.1 }).optional(),
          trainWindow: duration('history read from Prometheus for the first training', { min: 1 }).default(6 * 3600),
          retrainEvery: duration('how often each model is retrained on its trailing window', { min: 1 }).optional(),
          vanishGrace: duration('how long a vanished entity keeps its (stale) series before they are removed', { min: 0 }).default(300),
          maxScoreAge: duration('scores older than this are withheld so that no alert fires on stale data', { min: 0.1 }).optional(),
        })
        .default({ interval: 15, trainWindow: 6 * 3600, vanishGrace: 300 }),
      maxEntities: z.int().min(1).max(1_000_000).default(20_000),
      detector: detectorOptions.optional(),
    })
    .transform((group, ctx) => {
      const step = group.schedule.step ?? group.schedule.interval;
      const maxScoreAge = group.schedule.maxScoreAge ?? Math.max(3 * group.schedule.interval, 30);
      if (group.schedule.trainWindow < 2 * step) {
        ctx.addIssue({ code: 'custom', path: ['schedule', 'trainWindow'], message: `must span at least two steps (step is ${step}s)` });
      }
      const points = group.schedule.trainWindow / step;
      if (points > 1_000_000) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', 'trainWindow'],
          message: `${Math.round(points)} points per series at step ${step}s is too many; raise step or shorten trainWindow`,
        });
      }
      if (maxScoreAge < group.schedule.interval) {
        ctx.addIssue({ code: 'custom', path: ['schedule', 'maxScoreAge'], message: 'must be at least the interval, or no score would ever be published' });
      }
      // A feature is its query from here on; its controls go to the detector (groupDetectorOptions).
      const features: Record<string, string> = {};
      const controls: Record<string, FeatureControl> = {};
      for (const [name, feature] of Object.entries(group.features)) {
        if (typeof feature === 'string') {
          features[name] = feature;
        } else {
          const { query, ...control } = feature;
          features[name] = query;
          if (control.direction !== undefined || control.minDeviation !== undefined) controls[name] = control;
        }
      }
      const detectorControls = (group.detector as { controls?: Record<string, unknown> } | undefined)?.controls;
      if (detectorControls !== undefined) {
        for (const name of Object.keys(detectorControls)) {
          if (!(name in features)) {
            ctx.addIssue({ code: 'custom', path: ['detector', 'controls', name], message: `"${name}" is not a feature of this group (features: ${Object.keys(features).join(', ')})` });
          } else if (name in controls) {
            ctx.addIssue({ code: 'custom', path: ['detector', 'controls', name], message: `the controls of "${name}" are also set under features.${name}: set them in one place` });
          }
        }
      }
      return { ...group, features, controls, schedule: { ...group.schedule, step, maxScoreAge } };
    });
}

export function exporterConfigSchema<O extends DetectorScheduleSettings>(detectorOptions: z.ZodType<Partial<O>>) {
  return z
    .strictObject({
      prometheus: prometheusSchema,
      listen: listenAddressSchema(LISTEN_OPTIONS).default('127.0.0.1:9188'),
      stateDir: nonEmpty('directory where models are saved and restored from').optional(),
      saveEvery: duration('how often models are saved to stateDir', { min: 1 }).default(600),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** This exporter scores only the entities that hash to shard `index` of `count` (src/shard/shard.ts). */
      shard: z
        .strictObject({
          index: z.int({ error: 'expected a whole number, this shard\'s index (0 .. count-1)' }).min(0, { error: 'the shard index is at least 0' }),
          count: z.int({ error: 'expected a whole number of shards' }).min(1, { error: 'the shard count is at least 1' }).max(10_000),
          /** Name this shard's entities in the training reads' PromQL where provably safe (src/shard/pushdown.ts). */
          pushdown: z.boolean({ error: 'expected true or false' }).default(true),
        })
        .superRefine((shard, ctx) => {
          const problem = shardProblem(shard.index, shard.count);
          if (problem) ctx.addIssue({ code: 'custom', path: ['index'], message: problem });
        })
        .default({ index: 0, count: 1, pushdown: true }),
      groups: z
        .array(groupSchema(detectorOptions), { error: 'expected a list of groups' })
        .min(1, { error: 'define at least one group of entities' }),
    })
    .superRefine((config, ctx) => {
      const seen = new Map<string, number>();
      config.groups.forEach((group, index) => {
        const first = seen.get(group.name);
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['groups', index, 'name'], message: `"${group.name}" is also the name of groups[${first}]; group names must be unique` });
        } else {
          seen.set(group.name, index);
        }
      });
    });
}

/** A valid config, for a detector of options `O` (a group's `detector:` section holds some of them). */
export type ExporterConfig<O extends DetectorScheduleSettings = DetectorScheduleSettings> = z.output<ReturnType<typeof exporterConfigSchema<O>>>;
export type GroupConfig<O extends DetectorScheduleSettings = DetectorScheduleSettings> = ExporterConfig<O>['groups'][number];
export type PrometheusConfig = ExporterConfig['prometheus'];

/**
 * Detector settings that follow from the group's schedule: its durations as sample counts at `step`
 * (a group's `detector:` section overrides them).
 */
function detectorScheduleOptions(group: Pick<GroupConfig, 'schedule'>): Partial<DetectorScheduleSettings> {
  const { schedule } = group;
  const samples = (seconds: number): number => Math.max(1, Math.round(seconds / schedule.step));
  return {
    trainWindow: samples(schedule.trainWindow),
    ...(schedule.retrainEvery !== undefined ? { retrainEvery: samples(schedule.retrainEvery) } : {}),
  };
}

/**
 * The options a group's detectors run with: the schedule's settings, overridden by the group's `detector:` section
 * (what the config check resolves, and what the runner creates every detector of the group with).
 */
export function groupDetectorOptions<O extends DetectorScheduleSettings>(group: GroupConfig<O>): Partial<DetectorScheduleSettings> & Partial<O> {
  const settings: Partial<O> = group.detector ?? {};
  const detectorControls = (settings as { controls?: Record<string, FeatureControl> }).controls;
  const controls = Object.keys(group.controls).length > 0 || detectorControls !== undefined ? { controls: { ...detectorControls, ...group.controls } } : {};
  return Object.assign({}, detectorScheduleOptions(group), settings, controls);
}
