// plugin.json as Grafana's plugin schema (docs/sources/developers/plugins/plugin.schema.json, which the validator's
// metadatavalid analyzer validates against) describes it, written down in zod for the fields a panel can have: the
// required fields, the id and version patterns, no unknown keys where the schema says additionalProperties: false.
// The validator downloads the schema at run time; this is our transcription of it, so a field Grafana adds later
// shows up here as an unknown key until it is added below.
import { z } from 'zod';

/** The schema's id pattern: <org>-<name>-<type> (the name part optional). */
export const PLUGIN_ID = /^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager|transformer)$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** The schema's grafanaDependency pattern (node-semver ranges Grafana understands). */
const GRAFANA_DEPENDENCY = /^(<=|>=|<|>|=|~|\^)?([0-9]+)(\.[0-9x*]+)(\.[0-9x*]+)?(-[0-9A-Za-z.-]+)?(\s(<=|>=|<|=>)?([0-9]+)(\.[0-9x]+)(\.[0-9x]+))?$/;

const httpUrl = z.string().refine((s) => {
  try {
    return ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD (the build replaces %TODAY%)')
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a calendar date');

const pluginDependency = z.strictObject({
  id: z.string().regex(/^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager)$/),
  type: z.enum(['app', 'datasource', 'panel', 'secretsmanager']),
  name: z.string(),
  version: z.string(),
});

export const pluginJsonSchema = z.strictObject({
  $schema: z.string().optional(),
  id: z.string().regex(PLUGIN_ID, 'must be <org>-<name>-<type>, lower-case letters and digits (e.g. myorg-clock-panel)'),
  type: z.enum(['app', 'datasource', 'panel', 'renderer', 'secretsmanager', 'transformer']),
  name: z.string().min(1),
  info: z.strictObject({
    author: z.strictObject({ name: z.string().optional(), email: z.email().optional(), url: httpUrl.optional() }).optional(),
    build: z.strictObject({ time: z.number().optional(), repo: z.string().optional(), branch: z.string().optional(), hash: z.string().optional(), number: z.number().optional(), pr: z.number().optional() }).optional(),
    description: z.string().optional(),
    keywords: z.array(z.string()).min(1, 'needs at least one keyword'),
    links: z.array(z.strictObject({ name: z.string().optional(), url: httpUrl.optional() })).optional(),
    logos: z.strictObject({ small: z.string(), large: z.string() }),
    screenshots: z.array(z.strictObject({ name: z.string().optional(), path: z.string().optional() })).optional(),
    updated: calendarDate,
    version: z.string().regex(SEMVER, 'must be a semantic version x.y.z (the build replaces %VERSION%)'),
  }),
  dependencies: z.strictObject({
    grafanaVersion: z.string().regex(/^([0-9]+)(\.[0-9x]+)?(\.[0-9x])?$/).optional(),
    grafanaDependency: z.string().regex(GRAFANA_DEPENDENCY, 'must be a version range such as >=12.3.0'),
    plugins: z.array(pluginDependency).optional(),
    extensions: z.object({}).loose().optional(),
  }),
  // Optional keys of the schema that do not concern a panel's checks, accepted as the schema types them.
  alerting: z.boolean().optional(),
  annotations: z.boolean().optional(),
  autoEnabled: z.boolean().optional(),
  backend: z.boolean().optional(),
  builtIn: z.boolean().optional(),
  category: z.enum(['tsdb', 'logging', 'cloud', 'tracing', 'profiling', 'sql', 'enterprise', 'iot', 'other']).optional(),
  enterpriseFeatures: z.object({}).loose().optional(),
  executable: z.string().optional(),
  hideFromList: z.boolean().optional(),
  includes: z.array(z.object({}).loose()).optional(),
  logs: z.boolean().optional(),
  metrics: z.boolean().optional(),
  pascalName: z.string().regex(/^([A-Z][a-zA-Z]{1,62})$/).optional(),
  preload: z.boolean().optional(),
  queryOptions: z.object({}).loose().optional(),
  routes: z.array(z.object({}).loose()).optional(),
  skipDataQuery: z.boolean().optional(),
  state: z.enum(['alpha', 'beta', 'stable', 'deprecated']).optional(),
  streaming: z.boolean().optional(),
  tables: z.boolean().optional(),
  tracing: z.boolean().optional(),
  extensions: z.object({}).loose().optional(),
  roles: z.array(z.object({}).loose()).optional(),
  iam: z.object({}).loose().optional(),
  aliasIDs: z.array(z.string()).optional(),
  // Added to dist/plugin.json by create-plugin's BuildModeWebpackPlugin.
  buildMode: z.enum(['production', 'development']).optional(),
});

export type PluginJson = z.infer<typeof pluginJsonSchema>;

/** Parses plugin.json text; every schema violation becomes one message naming the field, as metadatavalid reports. */
export function parsePluginJson(text: string): { meta?: PluginJson; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { problems: [`not valid JSON: ${String(e)}`] };
  }
  const result = pluginJsonSchema.safeParse(raw);
  if (result.success) {
    return { meta: result.data, problems: [] };
  }
  return {
    problems: result.error.issues.map((i) => {
      const field = i.path.length > 0 ? i.path.join('.') : '(root)';
      const value = i.path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), raw);
      return `${field}: ${i.message}${typeof value === 'string' ? ` (is "${value}")` : ''}`;
    }),
  };
}
