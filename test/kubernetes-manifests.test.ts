// deploy/kubernetes/ checked statically: no Kubernetes cluster can run here. Instead:
//  - every manifest parses, and each object is validated against the real Kubernetes OpenAPI schemas
//    (kubernetes-models' validators; @kubernetes-models/prometheus-operator for the CRDs) plus an unknown-field
//    check against @kubernetes/client-node's generated models (the API server would prune or reject a typo);
//  - the kustomization is built with the real kustomize (`kubectl kustomize`: kubectl is required, a missing one
//    fails these builds' cases, never skips them) and also read directly (resources, generators), and the
//    cross-references are checked on both;
//  - the copies of the shipped files (configs, rules, dashboard) are checked against their sources;
//  - the healing service's policy, as mounted, is validated with the service's own config schema (@selfheal/webhook),
//    for the highly available default (2 replicas, PostgreSQL) and for components/sqlite-store (1 replica, SQLite).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import type {
  V1ConfigMap, V1Container, V1Deployment, V1PodDisruptionBudget, V1PodSpec, V1PodTemplateSpec, V1Role,
  V1RoleBinding, V1Secret, V1Service, V1StatefulSet,
} from '@kubernetes/client-node';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as monitoringV1alpha1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { ConfigError } from '@selfheal/contracts';
import { parseConfigText, type Config } from '@selfheal/webhook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = join(ROOT, 'deploy', 'kubernetes');
const CLI = join(ROOT, 'cli', 'bin', 'selfheal.js');

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

// ---------------------------------------------------------------------------------------------- loading

function parseManifests(text: string, where: string): KObject[] {
  const out: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const o = value as Partial<KObject>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new Error(`${where}: a document without apiVersion, kind or metadata.name`);
    }
    out.push(o as KObject);
  }
  return out;
}

const generatorSchema = z.strictObject({
  name: z.string(),
  namespace: z.string().optional(),
  files: z.array(z.string()),
  options: z.strictObject({
    disableNameSuffixHash: z.boolean().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }).optional(),
});
const kustomizationSchema = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  resources: z.array(z.string()),
  configMapGenerator: z.array(generatorSchema),
  secretGenerator: z.array(generatorSchema),
  labels: z.array(z.strictObject({ pairs: z.record(z.string(), z.string()), includeSelectors: z.boolean() })),
  images: z.array(z.strictObject({ name: z.string(), newName: z.string(), newTag: z.string() })),
});
const kustomization = kustomizationSchema.parse(parse(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')));

/** `key=path` or `path` of a generator's files entry. */
function generatorFile(entry: string): { key: string; path: string } {
  const eq = entry.indexOf('=');
  return eq < 0 ? { key: basename(entry), path: entry } : { key: entry.slice(0, eq), path: entry.slice(eq + 1) };
}

/** The objects of the kustomization read directly (generated names without kustomize's hash suffix). */
function loadSources(): KObject[] {
  const objects: KObject[] = [];
  for (const resource of kustomization.resources) {
    const file = join(DEPLOY, resource);
    if (!existsSync(file)) throw new Error(`kustomization.yaml lists ${resource}, which does not exist`);
    objects.push(...parseManifests(readFileSync(file, 'utf8'), resource));
  }
  for (const [kind, generators] of [['ConfigMap', kustomization.configMapGenerator], ['Secret', kustomization.secretGenerator]] as const) {
    for (const g of generators) {
      const data: Record<string, string> = {};
      for (const entry of g.files) {
        const { key, path } = generatorFile(entry);
        // Secrets' files are the user's (git-ignored): only their keys are known here.
        data[key] = kind === 'ConfigMap' ? readFileSync(join(DEPLOY, path), 'utf8') : Buffer.from('placeholder-secret-value').toString('base64');
      }
      objects.push({
        apiVersion: 'v1', kind, data,
        metadata: { name: g.name, namespace: g.namespace, labels: g.options?.labels, annotations: g.options?.annotations },
      });
    }
  }
  return objects;
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const NO_KUBECTL =
  'kubectl is not installed: the kustomize builds need it (kubectl 1.21 or newer, whose built-in kustomize has components; ' +
  "Debian's kubernetes-client 1.20 is too old). Install kubectl, or a kustomize binary as `kubectl` on PATH";
const tmp = mkdtempSync(join(tmpdir(), 'selfheal-kustomize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * `kubectl kustomize` of a copy of deploy/ with generated secret files: deploy/kubernetes, optionally with components,
 * or a cloud overlay over it (`overlay`: deploy/aws/eks, deploy/azure/aks).
 */
function kustomizeBuild(components: string[] = [], overlay?: string): KObject[] {
  if (!kubectl) throw new Error(NO_KUBECTL);
  const dir = join(tmp, `build-${overlay?.replace(/\//g, '-') ?? (components.map((c) => basename(c)).join('+') || 'base')}`);
  cpSync(join(ROOT, 'deploy'), join(dir, 'deploy'), { recursive: true });
  const base = join(dir, 'deploy', 'kubernetes');
  for (const g of kustomization.secretGenerator) {
    for (const entry of g.files) writeFileSync(join(base, generatorFile(entry).path), `test-${Math.random().toString(36).slice(2)}-${Date.now()}`);
  }
  let target = overlay ? join(dir, overlay) : base;
  if (components.length > 0) {
    target = join(dir, 'overlay');
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'kustomization.yaml'), [
      'resources: [../deploy/kubernetes]',
      `components: [${components.map((c) => `../deploy/kubernetes/${c}`).join(', ')}]`,
      '',
    ].join('\n'));
  }
  const out = execFileSync('kubectl', ['kustomize', target], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseManifests(out, `kubectl kustomize ${target}`);
}

// ---------------------------------------------------------------------------------------------- schemas

type Validatable = new (data: never) => { validate(): void };
const MODELS: Record<string, Validatable> = {
  'v1/Namespace': coreV1.Namespace, 'v1/ServiceAccount': coreV1.ServiceAccount, 'v1/Service': coreV1.Service,
  'v1/ConfigMap': coreV1.ConfigMap, 'v1/Secret': coreV1.Secret, 'v1/PersistentVolumeClaim': coreV1.PersistentVolumeClaim,
  'apps/v1/StatefulSet': appsV1.StatefulSet, 'apps/v1/Deployment': appsV1.Deployment,
  'policy/v1/PodDisruptionBudget': policyV1.PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': rbacV1.Role, 'rbac.authorization.k8s.io/v1/RoleBinding': rbacV1.RoleBinding,
  'networking.k8s.io/v1/Ingress': networkingV1.Ingress,
  'monitoring.coreos.com/v1/ServiceMonitor': monitoringV1.ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': monitoringV1.PrometheusRule,
  'monitoring.coreos.com/v1alpha1/AlertmanagerConfig': monitoringV1alpha1.AlertmanagerConfig,
};

type AttributeMap = { baseName: string; type: string }[];
const clientModels = k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>;

/** Fields the Kubernetes models do not have (the validators accept unknown fields; the API server drops them). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1]) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1] as string, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1]) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) unknownFields(v, map[1], `${path}.${k}`, out);
    return;
  }
  const attributes = clientModels[type]?.getAttributeTypeMap?.();
  if (!attributes || typeof value !== 'object') return; // string, number, IntOrString, Quantity ...
  const types = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const t = types.get(k);
    if (t === undefined) out.push(`${path}.${k}`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

// The Prometheus Operator CRDs' validators accept unknown fields too: the fields these manifests use, strictly.
const labelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(z.strictObject({ key: z.string(), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() })).optional(),
});
const crdSpecs: Record<string, z.ZodType> = {
  ServiceMonitor: z.strictObject({
    selector: labelSelector,
    endpoints: z.array(z.strictObject({
      port: z.string(), path: z.string(), interval: z.string(), honorLabels: z.boolean(),
      relabelings: z.array(z.strictObject({ action: z.literal('labeldrop'), regex: z.string() })),
    })),
  }),
  AlertmanagerConfig: z.strictObject({
    route: z.strictObject({
      receiver: z.string(), matchers: z.array(z.strictObject({ name: z.string(), value: z.string(), matchType: z.enum(['=', '!=', '=~', '!~']) })),
      groupBy: z.array(z.string()), groupWait: z.string(), groupInterval: z.string(), repeatInterval: z.string(),
    }),
    receivers: z.array(z.strictObject({
      name: z.string(),
      webhookConfigs: z.array(z.strictObject({
        url: z.string(), sendResolved: z.boolean(), maxAlerts: z.number().int(),
        httpConfig: z.strictObject({ authorization: z.strictObject({ type: z.literal('Bearer'), credentials: z.strictObject({ name: z.string(), key: z.string() }) }) }),
      })),
    })),
  }),
  PrometheusRule: z.strictObject({ groups: z.array(z.looseObject({ name: z.string(), rules: z.array(z.looseObject({})) })) }),
};

// ---------------------------------------------------------------------------------------------- helpers

const CLUSTER_SCOPED = new Set(['Namespace']);
const key = (o: KObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function pick<T>(objects: KObject[], kind: string, name: string, namespace?: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  expect(found, `${kind} ${name}${namespace ? ` in ${namespace}` : ''}`).toHaveLength(1);
  return found[0] as unknown as T;
}
const all = <T>(objects: KObject[], kind: string): (T & KObject)[] => objects.filter((o) => o.kind === kind) as (T & KObject)[];

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}
function matchesExpressions(sel: z.infer<typeof labelSelector>, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selects(sel.matchLabels ?? { _: '' }, l) || (!sel.matchLabels && (sel.matchExpressions ?? []).every((e) => {
    const v = l[e.key];
    if (e.operator === 'In') return v !== undefined && (e.values ?? []).includes(v);
    if (e.operator === 'NotIn') return v === undefined || !(e.values ?? []).includes(v);
    return e.operator === 'Exists' ? v !== undefined : v === undefined;
  }));
}

interface Workload { object: KObject; template: V1PodTemplateSpec; spec: V1PodSpec; selector: Record<string, string> }
function workloads(objects: KObject[]): Workload[] {
  return [...all<V1StatefulSet>(objects, 'StatefulSet'), ...all<V1Deployment>(objects, 'Deployment')].map((w) => {
    const template = w.spec?.template as V1PodTemplateSpec;
    return { object: w, template, spec: template.spec as V1PodSpec, selector: w.spec?.selector.matchLabels ?? {} };
  });
}

/** The `--flag=value` arguments of a container, by flag. */
function flags(c: V1Container): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of c.args ?? []) {
    const m = /^(--[a-z-]+)(?:=(.*))?$/.exec(a);
    if (m?.[1]) out.set(m[1], m[2] ?? '');
  }
  return out;
}

/** The volume (and the object behind it) holding `file` in a pod: mountPath is the file's directory. */
function fileSource(objects: KObject[], w: Workload, container: V1Container, file: string): { kind: string; keys: string[]; writable: boolean } {
  const dir = posix.dirname(file);
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dir);
  expect(mount, `${container.name}: no volume mounted at ${dir} (for ${file})`).toBeDefined();
  const claim = (w.object.spec as V1StatefulSet['spec'])?.volumeClaimTemplates?.find((t) => t.metadata?.name === mount?.name);
  if (claim) return { kind: 'PersistentVolumeClaim', keys: [], writable: !mount?.readOnly };
  const volume = (w.spec.volumes ?? []).find((v) => v.name === mount?.name);
  expect(volume, `${container.name}: mount ${mount?.name} has no volume`).toBeDefined();
  if (volume?.configMap) {
    const cm = pick<V1ConfigMap>(objects, 'ConfigMap', volume.configMap.name as string, w.object.metadata.namespace);
    return { kind: 'ConfigMap', keys: Object.keys(cm.data ?? {}), writable: false };
  }
  if (volume?.secret) {
    const s = pick<V1Secret>(objects, 'Secret', volume.secret.secretName as string, w.object.metadata.namespace);
    return { kind: 'Secret', keys: Object.keys(s.data ?? {}), writable: false };
  }
  if (volume?.persistentVolumeClaim) {
    pick(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName, w.object.metadata.namespace);
    return { kind: 'PersistentVolumeClaim', keys: [], writable: !mount?.readOnly };
  }
  return { kind: 'other', keys: [], writable: !mount?.readOnly };
}

const helpCache = new Map<string, Set<string>>();
/** The flags `selfheal COMMAND --help` lists (the real CLI, as built). */
function helpFlags(command: string): Set<string> {
  let flagSet = helpCache.get(command);
  if (!flagSet) {
    const help = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
    flagSet = new Set(help.match(/--[a-z][a-z-]*/g) ?? []);
    helpCache.set(command, flagSet);
  }
  return flagSet;
}

/** Paths (a.b[name]) at which two parsed YAML documents differ; `rules` lists are compared by rule name. */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  const byName = (v: unknown): unknown => (Array.isArray(v) && v.every((x) => typeof (x as { name?: unknown })?.name === 'string')
    ? Object.fromEntries(v.map((x: { name: string }) => [x.name, x])) : v);
  const x = byName(a);
  const y = byName(b);
  if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null && !Array.isArray(x) && !Array.isArray(y)) {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    return [...keys].flatMap((k) => diffPaths((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(x) === JSON.stringify(y) ? [] : [path];
}

// ------------------------------------------------------------------------------- the actuator's API calls

/** group|resource|verb of every Kubernetes API call in the actuator's source (client-node method names). */
function actuatorPermissions(): Set<string> {
  // Every file of the actuator: the fixes, their reverts (revert.ts), the rollback and its revision history.
  const dir = join(ROOT, 'webhook', 'src', 'actuators', 'kubernetes');
  const src = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const groups: Record<string, string> = { apps: 'apps', core: '', autoscaling: 'autoscaling' };
  const verbs: Record<string, string> = { read: 'get', list: 'list', patch: 'patch', create: 'create', replace: 'update', delete: 'delete' };
  const out = new Set<string>();
  for (const m of src.matchAll(/\b(\w+)\.(read|list|patch|create|replace|delete)Namespaced(\w+?)(Scale|Status)?\(/g)) {
    const [, client, verb, kind, sub] = m as unknown as [string, string, string, string, string | undefined];
    if (client === 'custom') continue; // custom resources: below
    expect(groups[client], `unknown API client ${client}`).toBeDefined();
    const resource = `${kind.toLowerCase()}s${sub ? `/${sub.toLowerCase()}` : ''}`;
    out.add(`${groups[client]}|${resource}|${verbs[verb]}`);
  }
  // Custom resources (Argo Rollouts, Flagger): listed through listCustom(api, group, version, plural, ...), the
  // Rollout aborted through its status subresource, or the object itself where it has none.
  for (const m of src.matchAll(/listCustom\(api, '([^']+)', '[^']+', '([^']+)'/g)) out.add(`${m[1]}|${m[2]}|list`);
  for (const m of src.matchAll(/group: '([^']+)', version: '[^']+', namespace: [^,]+, plural: '([^']+)'[^\n]*\n(?:[^\n]*\n){0,3}?[^\n]*patchNamespacedCustomObjectStatus\(/g)) {
    out.add(`${m[1]}|${m[2]}/status|patch`);
    out.add(`${m[1]}|${m[2]}|patch`);
  }
  return out;
}
function rulePermissions(rules: NonNullable<V1Role['rules']>): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) out.add(`${g}|${res}|${v}`);
  return out;
}

// ---------------------------------------------------------------------------------------------- builds

const exporterConfigFile = join(DEPLOY, 'config', 'exporter.yml');
const policyFile = join(DEPLOY, 'config', 'policy.yml');
const sqlitePolicyFile = join(DEPLOY, 'components', 'sqlite-store', 'policy.yml');

const eksDir = join(ROOT, 'deploy', 'aws', 'eks');
const aksDir = join(ROOT, 'deploy', 'azure', 'aks');
/** store: which store the build's healing service uses; policyFile, exporterFile: the configs its ConfigMaps must carry. */
/** load: the objects, built before the build's cases (a failing build fails them). */
interface Build { name: string; load: () => KObject[]; built: boolean; store: 'postgres' | 'sqlite'; policyFile: string; exporterFile: string }
const builds: Build[] = [
  { name: 'the sources read directly', load: loadSources, built: false, store: 'postgres', policyFile, exporterFile: exporterConfigFile },
  { name: '`kubectl kustomize` (real kustomize)', load: () => kustomizeBuild(), built: true, store: 'postgres', policyFile, exporterFile: exporterConfigFile },
  {
    name: '`kubectl kustomize` with components/sqlite-store', load: () => kustomizeBuild(['components/sqlite-store']),
    built: true, store: 'sqlite', policyFile: sqlitePolicyFile, exporterFile: exporterConfigFile,
  },
  {
    name: '`kubectl kustomize` of the EKS overlay deploy/aws/eks', load: () => kustomizeBuild([], 'deploy/aws/eks'),
    built: true, store: 'postgres', policyFile: join(eksDir, 'policy.yml'), exporterFile: join(eksDir, 'exporter.yml'),
  },
  {
    name: '`kubectl kustomize` of the AKS overlay deploy/azure/aks', load: () => kustomizeBuild([], 'deploy/azure/aks'),
    built: true, store: 'postgres', policyFile: join(aksDir, 'policy.yml'), exporterFile: join(aksDir, 'exporter.yml'),
  },
];
interface Policy {
  listen: string; auth: { tokenFile?: string }; pauseFile?: string;
  escalation?: { notify?: { urlFile?: string } };
  actuators: Record<string, { type: string; tokenFile?: string }>;
  targets: Record<string, { actuator: string; kubernetes?: { namespace: string }; actions?: Record<string, { configMap?: { name: string } }> }>;
}
const alertmanagerFile = join(DEPLOY, 'alertmanager', 'alertmanager.yml');
const exporterConfig = parse(readFileSync(exporterConfigFile, 'utf8')) as { listen: string; stateDir: string };

/** The ConfigMap behind `file` in the pod, by its key. */
function mountedFile(objects: KObject[], w: Workload, file: string): string {
  const c = w.spec.containers[0] as V1Container;
  const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === posix.dirname(file));
  const volume = (w.spec.volumes ?? []).find((v) => v.name === mount?.name);
  expect(volume?.configMap, `${file} is on a ConfigMap volume`).toBeDefined();
  const text = pick<V1ConfigMap>(objects, 'ConfigMap', volume?.configMap?.name as string, w.object.metadata.namespace).data?.[posix.basename(file)];
  expect(text, `${file} in its ConfigMap`).toBeDefined();
  return text as string;
}

describe.each(builds)('Kubernetes manifests, static checks without a cluster: $name', ({ load, built, store, policyFile, exporterFile }) => {
  let objects: KObject[] = [];
  beforeAll(() => {
    objects = load();
  });
  const policy = parse(readFileSync(policyFile, 'utf8')) as Policy;
  const exporter = (): Workload => workloads(objects).find((w) => w.object.kind === 'StatefulSet' && w.object.metadata.name === 'selfheal-exporter') as Workload;
  const webhook = (): Workload => workloads(objects).find((w) => w.object.kind === 'Deployment' && w.object.metadata.name === 'selfheal-webhook') as Workload;

  it('every object validates against the Kubernetes / Prometheus Operator schemas, with no unknown field', () => {
    expect(objects.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) { problems.push(`${key(o)}: no schema for ${o.apiVersion} ${o.kind}`); continue; }
      try {
        new Model(o as never).validate();
      } catch (err) {
        problems.push(`${key(o)}: ${(err as Error).message}`);
      }
      const crd = crdSpecs[o.kind];
      if (crd) {
        const r = crd.safeParse(o.spec);
        if (!r.success) problems.push(...r.error.issues.map((i) => `${key(o)}: spec.${i.path.join('.')}: ${i.message}`));
      } else {
        const unknown: string[] = [];
        unknownFields(o, `V1${o.kind}`, o.kind, unknown);
        problems.push(...unknown.map((f) => `${key(o)}: unknown field ${f}`));
      }
      if (!CLUSTER_SCOPED.has(o.kind) && !o.metadata.namespace) problems.push(`${key(o)}: no namespace`);
    }
    expect(problems).toEqual([]);
    expect(new Set(objects.map(key)).size, 'duplicate objects').toBe(objects.length);
  });

  it('the schema checks reject a broken object (they can fail)', () => {
    const broken = structuredClone(exporter().object);
    ((broken.spec as V1StatefulSet['spec'])?.template.spec?.containers[0]?.ports ?? [])[0] = { containerPort: 'http' as unknown as number };
    expect(() => new appsV1.StatefulSet(broken as never).validate()).toThrow(/containerPort/);
    const typo: string[] = [];
    unknownFields({ spec: { template: { spec: { containers: [{ name: 'x', readinesProbe: {} }] } } } }, 'V1StatefulSet', 'StatefulSet', typo);
    expect(typo).toEqual(['StatefulSet.spec.template.spec.containers[0].readinesProbe']);
  });

  it('workload selectors match their pod templates; StatefulSet has its governing headless Service', () => {
    for (const w of workloads(objects)) {
      expect(selects(w.selector, w.template.metadata?.labels), `${key(w.object)} selector`).toBe(true);
    }
    const sts = exporter().object as unknown as V1StatefulSet;
    const svc = pick<V1Service>(objects, 'Service', sts.spec?.serviceName as string, 'selfheal');
    expect(svc.spec?.clusterIP).toBe('None');
  });

  it('Services select a workload in their namespace and target declared container ports', () => {
    for (const svc of all<V1Service>(objects, 'Service')) {
      const targets = workloads(objects).filter((w) => w.object.metadata.namespace === svc.metadata.namespace && selects(svc.spec?.selector, w.template.metadata?.labels));
      expect(targets.map((w) => key(w.object)), `Service ${svc.metadata.name}`).toHaveLength(1);
      const ports = (targets[0] as Workload).spec.containers.flatMap((c) => c.ports ?? []);
      for (const p of svc.spec?.ports ?? []) {
        const found = typeof p.targetPort === 'string' ? ports.find((cp) => cp.name === p.targetPort) : ports.find((cp) => cp.containerPort === (p.targetPort ?? p.port));
        expect(found, `Service ${svc.metadata.name} port ${p.name}`).toBeDefined();
        expect(found?.containerPort).toBe(p.port);
      }
    }
  });

  it('ConfigMaps, Secrets, PVCs and ServiceAccounts referenced by pods exist; every mount has a volume', () => {
    for (const w of workloads(objects)) {
      const ns = w.object.metadata.namespace;
      pick(objects, 'ServiceAccount', w.spec.serviceAccountName as string, ns);
      for (const v of w.spec.volumes ?? []) {
        if (v.configMap) pick(objects, 'ConfigMap', v.configMap.name as string, ns);
        if (v.secret) pick(objects, 'Secret', v.secret.secretName as string, ns);
        if (v.persistentVolumeClaim) pick(objects, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName, ns);
      }
      const claims = ((w.object.spec as V1StatefulSet['spec'])?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name);
      const volumes = new Set([...(w.spec.volumes ?? []).map((v) => v.name), ...claims]);
      for (const c of w.spec.containers) for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${c.name} mount ${m.name}`).toBe(true);
    }
  });

  it('every container: one image, probes on /-/healthy and /-/ready on a declared port, requests and limits', () => {
    const images = new Set<string>();
    for (const w of workloads(objects)) {
      for (const c of w.spec.containers) {
        images.add(c.image as string);
        const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
        expect(c.livenessProbe?.httpGet?.path, `${c.name} liveness`).toBe('/-/healthy');
        expect(c.readinessProbe?.httpGet?.path, `${c.name} readiness`).toBe('/-/ready');
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (probe) expect(ports.has(probe.httpGet?.port as string)).toBe(true);
        for (const r of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[r], `${c.name} requests.${r}`).toBeDefined();
          expect(c.resources?.limits?.[r], `${c.name} limits.${r}`).toBeDefined();
        }
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        expect(w.spec.securityContext?.runAsNonRoot).toBe(true);
      }
    }
    const image = kustomization.images.find((i) => i.name === 'selfheal');
    expect(image).toBeDefined();
    expect([...images]).toEqual([built ? `${image?.newName}:${image?.newTag}` : 'selfheal']);
  });

  it('container arguments are flags the `selfheal` commands offer today; config files and state sit on the right volumes', () => {
    for (const [w, command] of [[exporter(), 'exporter'], [webhook(), 'webhook']] as const) {
      const c = w.spec.containers[0] as V1Container;
      expect(c.args?.[0]).toBe(command);
      const offered = helpFlags(command);
      for (const flag of flags(c).keys()) expect(offered.has(flag), `selfheal ${command} ${flag}`).toBe(true);
      const config = flags(c).get('--config') as string;
      const source = fileSource(objects, w, c, config);
      expect(source.kind).toBe('ConfigMap');
      expect(source.keys).toContain(posix.basename(config));
    }
    const ex = exporter();
    const exContainer = ex.spec.containers[0] as V1Container;
    const stateDir = flags(exContainer).get('--state-dir') as string;
    expect(stateDir).toBe(exporterConfig.stateDir);
    expect(fileSource(objects, ex, exContainer, `${stateDir}/models`)).toMatchObject({ kind: 'PersistentVolumeClaim', writable: true });
    expect(Number(exporterConfig.listen.split(':').at(-1))).toBe(exContainer.ports?.[0]?.containerPort);

    const wh = webhook();
    const whContainer = wh.spec.containers[0] as V1Container;
    expect(Number(policy.listen.split(':').at(-1))).toBe(whContainer.ports?.[0]?.containerPort);
    expect(fileSource(objects, wh, whContainer, policy.pauseFile as string).writable).toBe(true);
    const secretFiles = [policy.auth.tokenFile, policy.escalation?.notify?.urlFile, ...Object.values(policy.actuators).map((a) => a.tokenFile)].filter((f): f is string => !!f);
    expect(secretFiles.length).toBeGreaterThanOrEqual(3);
    for (const file of secretFiles) {
      const source = fileSource(objects, wh, whContainer, file);
      expect(source.kind, file).toBe('Secret');
      expect(source.keys, file).toContain(posix.basename(file));
    }
  });

  it("the mounted policy validates with the healing service's own config schema (@selfheal/webhook; files not checked here)", () => {
    const wh = webhook();
    const config = flags(wh.spec.containers[0] as V1Container).get('--config') as string;
    const text = mountedFile(objects, wh, config);
    const parsed: Config = parseConfigText(text, config);
    expect(parsed.listen).toBe(policy.listen);
    if (store === 'postgres') expect(parsed.store.url).toMatch(/^postgres(ql)?:\/\//);
    else expect(parsed.store.url).toBeUndefined();
    // The schema can fail: a store URL of another database is refused, naming the key.
    const broken = store === 'postgres' ? text.replace(/url: postgres:\/\//, 'url: mysql://') : text.replace(/^ {2}path: .*$/m, '  url: mysql://selfheal@db:3306/selfheal');
    expect(broken).not.toBe(text);
    expect(() => parseConfigText(broken, config)).toThrow(ConfigError);
    expect(() => parseConfigText(broken, config)).toThrow(/store\.url: must be a PostgreSQL URL/);
  });

  if (store === 'postgres') it('healing service, highly available: 2 replicas rolled one at a time, spread over nodes, PostgreSQL password from a Secret, no volume claim', () => {
    const wh = webhook();
    const spec = wh.object.spec as V1Deployment['spec'];
    expect(spec?.replicas).toBe(2);
    expect(spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // Preferred anti-affinity on the node, selecting exactly these pods.
    const terms = wh.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(terms).toHaveLength(1);
    expect(terms[0]?.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(selects(terms[0]?.podAffinityTerm.labelSelector?.matchLabels, wh.template.metadata?.labels)).toBe(true);
    expect(wh.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    const c = wh.spec.containers[0] as V1Container;
    expect(c.readinessProbe?.httpGet?.path).toBe('/-/ready');
    // The mounted policy's store: PostgreSQL, its passwordFile a key of a Secret mounted at its directory.
    const mounted = parseConfigText(mountedFile(objects, wh, flags(c).get('--config') as string));
    expect(mounted.store.url).toBe('postgres://selfheal@postgres.selfheal.svc:5432/selfheal');
    const passwordFile = mounted.store.passwordFile as string;
    expect(passwordFile).toBe('/etc/selfheal/postgres/password');
    const source = fileSource(objects, wh, c, passwordFile);
    expect(source.kind).toBe('Secret');
    expect(source.keys).toContain(posix.basename(passwordFile));
    // Nothing durable in the pod: no claim anywhere in the build, no claim volume on the healing service.
    expect(all(objects, 'PersistentVolumeClaim')).toEqual([]);
    expect((wh.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim)).toEqual([]);
    // The PDB keeps one up.
    const pdb = pick<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'selfheal-webhook', 'selfheal');
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(selects(pdb.spec?.selector?.matchLabels, wh.template.metadata?.labels)).toBe(true);
  });

  if (store === 'sqlite') it('healing service on SQLite (components/sqlite-store): 1 replica, Recreate, the store on its PersistentVolumeClaim, no PostgreSQL Secret', () => {
    const wh = webhook();
    const spec = wh.object.spec as V1Deployment['spec'];
    expect(spec?.replicas).toBe(1);
    expect(spec?.strategy).toEqual({ type: 'Recreate' }); // no rollingUpdate: the API server rejects it with Recreate
    const c = wh.spec.containers[0] as V1Container;
    const mounted = parseConfigText(mountedFile(objects, wh, flags(c).get('--config') as string));
    expect(mounted.store.url).toBeUndefined();
    expect(mounted.store.passwordFile).toBeUndefined();
    expect(fileSource(objects, wh, c, mounted.store.path)).toMatchObject({ kind: 'PersistentVolumeClaim', writable: true });
    const claims = all<KObject>(objects, 'PersistentVolumeClaim');
    expect(claims.map((p) => p.metadata.name)).toEqual(['selfheal-webhook-store']);
    expect((claims[0]?.spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteOnce']);
    expect(all(objects, 'Secret').map((x) => x.metadata.name).filter((n) => n.startsWith('selfheal-postgres'))).toEqual([]);
    expect((wh.spec.volumes ?? []).filter((v) => v.emptyDir && (c.volumeMounts ?? []).some((m) => m.name === v.name && m.mountPath === posix.dirname(mounted.store.path)))).toEqual([]);
    const pdb = pick<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'selfheal-webhook', 'selfheal');
    expect(selects(pdb.spec?.selector?.matchLabels, wh.template.metadata?.labels)).toBe(true);
  });

  it('exporter shards: the index comes from the pod ordinal, the count equals the replicas', () => {
    const ex = exporter();
    const env = (ex.spec.containers[0] as V1Container).env ?? [];
    expect(env.find((e) => e.name === 'SELFHEAL_SHARD_INDEX')?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']");
    expect(Number(env.find((e) => e.name === 'SELFHEAL_SHARD_COUNT')?.value)).toBe((ex.object.spec as V1StatefulSet['spec'])?.replicas);
  });

  it('PodDisruptionBudgets select exactly one workload each, and every workload has one', () => {
    const covered = new Set<string>();
    for (const pdb of all<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget')) {
      const hits = workloads(objects).filter((w) => w.object.metadata.namespace === pdb.metadata.namespace && selects(pdb.spec?.selector?.matchLabels, w.template.metadata?.labels));
      expect(hits, `PDB ${pdb.metadata.name}`).toHaveLength(1);
      covered.add(key((hits[0] as Workload).object));
      // A drain must be able to evict one pod at full strength (minAvailable: 1 on one replica blocks it forever).
      const replicas = ((hits[0] as Workload).object.spec as { replicas?: number }).replicas ?? 1;
      const { minAvailable, maxUnavailable } = pdb.spec ?? {};
      expect(minAvailable === undefined ? Number(maxUnavailable) >= 1 : Number(minAvailable) < replicas, `PDB ${pdb.metadata.name} allows a disruption`).toBe(true);
    }
    expect([...covered].sort()).toEqual(workloads(objects).map((w) => key(w.object)).sort());
  });

  it('RBAC: the Role grants exactly the API calls of the Kubernetes actuator, where the policy targets live, to the healing service', () => {
    const calls = actuatorPermissions();
    expect(calls.size).toBeGreaterThanOrEqual(8);
    const roles = all<V1Role>(objects, 'Role');
    const targetNamespaces = new Set(Object.values(policy.targets).flatMap((t) => (t.kubernetes ? [t.kubernetes.namespace] : [])));
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual([...targetNamespaces].sort());
    for (const role of roles) {
      expect([...rulePermissions(role.rules ?? [])].sort()).toEqual([...calls].sort());
      // ConfigMaps narrowed by name: the toggles of the policy's targets in this namespace must be in the list.
      const cmRule = (role.rules ?? []).find((r) => r.resources?.includes('configmaps'));
      const toggles = Object.values(policy.targets).filter((t) => t.kubernetes?.namespace === role.metadata.namespace)
        .flatMap((t) => Object.values(t.actions ?? {}).flatMap((a) => (a.configMap ? [a.configMap.name] : [])));
      if (cmRule?.resourceNames) for (const name of toggles) expect(cmRule.resourceNames).toContain(name);
      const binding = all<V1RoleBinding>(objects, 'RoleBinding').find((b) => b.metadata.namespace === role.metadata.namespace && b.roleRef.name === role.metadata.name);
      expect(binding?.roleRef.kind).toBe('Role');
      expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: webhook().spec.serviceAccountName, namespace: webhook().object.metadata.namespace }]);
    }
    // Same rules as the webhook's own RBAC example.
    const example = parseManifests(readFileSync(join(ROOT, 'webhook', 'deploy', 'kubernetes-rbac.yaml'), 'utf8'), 'webhook/deploy/kubernetes-rbac.yaml');
    expect([...rulePermissions(pick<V1Role>(example, 'Role', 'selfheal-healer').rules ?? [])].sort()).toEqual([...calls].sort());
    // The exporter needs no API access at all.
    expect(exporter().spec.automountServiceAccountToken).toBe(false);
  });

  it('ServiceMonitor selects both Services by existing port names, honours the exporter labels; rule jobs are those Services', () => {
    const sm = pick<KObject & { spec: z.infer<(typeof crdSpecs)['ServiceMonitor']> & { selector: z.infer<typeof labelSelector>; endpoints: { port: string; honorLabels: boolean }[] } }>(objects, 'ServiceMonitor', 'selfheal', 'selfheal');
    const selected = all<V1Service>(objects, 'Service').filter((s) => s.metadata.namespace === sm.metadata.namespace && matchesExpressions(sm.spec.selector, s.metadata.labels));
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(['selfheal-exporter', 'selfheal-webhook']);
    for (const s of selected) for (const e of sm.spec.endpoints) expect(s.spec?.ports?.map((p) => p.name), `${s.metadata.name} port ${e.port}`).toContain(e.port);
    expect(sm.spec.endpoints.every((e) => e.honorLabels)).toBe(true);
    // The job label is the Service name: every job the rules name must be scraped by it.
    const rules = readFileSync(join(DEPLOY, 'prometheusrule.yaml'), 'utf8');
    const jobs = new Set([...rules.matchAll(/job="(selfheal-[a-z-]+)"/g)].map((m) => m[1]));
    expect(jobs.size).toBeGreaterThan(0);
    for (const job of jobs) expect(selected.map((s) => s.metadata.name)).toContain(job);
  });

  it('AlertmanagerConfig posts to the healing Service with the token Secret the service reads', () => {
    const amc = pick<KObject & { spec: z.infer<(typeof crdSpecs)['AlertmanagerConfig']> & { receivers: { name: string; webhookConfigs: { url: string; sendResolved: boolean; httpConfig: { authorization: { credentials: { name: string; key: string } } } }[] }[]; route: { receiver: string } } }>(objects, 'AlertmanagerConfig', 'selfheal', 'selfheal');
    const receiver = amc.spec.receivers.find((r) => r.name === amc.spec.route.receiver);
    const hook = receiver?.webhookConfigs[0];
    expect(hook?.sendResolved).toBe(true);
    const url = new URL(hook?.url as string);
    const [svcName, ns] = url.hostname.split('.');
    const svc = pick<V1Service>(objects, 'Service', svcName as string, ns);
    expect(svc.spec?.ports?.map((p) => p.port)).toContain(Number(url.port));
    expect(url.pathname).toBe('/api/v1/alerts');
    const cred = hook?.httpConfig.authorization.credentials;
    const secret = pick<V1Secret>(objects, 'Secret', cred?.name as string, amc.metadata.namespace);
    expect(Object.keys(secret.data ?? {})).toContain(cred?.key);
    // ... and it is the Secret behind the healing service's auth.tokenFile.
    const wh = webhook();
    const mount = (wh.spec.containers[0]?.volumeMounts ?? []).find((m) => m.mountPath === posix.dirname(policy.auth.tokenFile as string));
    expect(wh.spec.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName).toBe(cred?.name);
    expect(posix.basename(policy.auth.tokenFile as string)).toBe(cred?.key);
  });

  it('PrometheusRule groups equal the shipped rule files; the dashboard ConfigMap equals the provisioned dashboard', () => {
    const shipped = readdirSync(join(ROOT, 'prometheus', 'rules')).filter((f) => f.endsWith('.yml')).sort()
      .flatMap((f) => (parse(readFileSync(join(ROOT, 'prometheus', 'rules', f), 'utf8')) as { groups: unknown[] }).groups);
    const rule = pick<KObject & { spec: { groups: unknown[] } }>(objects, 'PrometheusRule', 'selfheal', 'selfheal');
    expect(rule.spec.groups).toEqual(shipped);
    const cm = pick<V1ConfigMap>(objects, 'ConfigMap', 'selfheal-grafana-dashboards', 'selfheal');
    expect(cm.metadata?.labels?.grafana_dashboard).toBe('1');
    const dir = join(ROOT, 'provisioning', 'dashboards', 'selfheal');
    const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(Object.keys(cm.data ?? {}).sort()).toEqual(dashboards);
    for (const f of dashboards) expect(JSON.parse(cm.data?.[f] as string)).toEqual(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  });

  it('config ConfigMaps carry the checked config files of deploy/kubernetes/config/', () => {
    const byPrefix = (prefix: string): V1ConfigMap => {
      const found = all<V1ConfigMap>(objects, 'ConfigMap').filter((c) => c.metadata.name === prefix || c.metadata.name.startsWith(`${prefix}-`) && /^[a-z0-9]{10}$/.test(c.metadata.name.slice(prefix.length + 1)));
      expect(found, prefix).toHaveLength(1);
      return found[0] as V1ConfigMap;
    };
    expect(byPrefix('selfheal-exporter-config').data?.['exporter.yml']).toBe(readFileSync(exporterFile, 'utf8'));
    expect(byPrefix('selfheal-webhook-config').data?.['policy.yml']).toBe(readFileSync(policyFile, 'utf8'));
  });
});

describe('Kubernetes configs and the sharded overlay, static (no cluster)', () => {
  it('the shipped configs pass `selfheal check-config`, and a broken copy does not', () => {
    const ok = spawnSync(process.execPath, [CLI, 'check-config', exporterConfigFile, policyFile, sqlitePolicyFile, alertmanagerFile], { encoding: 'utf8' });
    expect(ok.stderr + ok.stdout).toMatch(/exporter.yml: OK[\s\S]*policy.yml: OK[\s\S]*policy.yml: OK[\s\S]*alertmanager.yml: OK/);
    expect(ok.status).toBe(0);
    const broken = join(tmp, 'policy.yml');
    writeFileSync(broken, readFileSync(policyFile, 'utf8').replace('target: checkout\n', 'target: nowhere\n'));
    const bad = spawnSync(process.execPath, [CLI, 'check-config', broken], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/no target named "nowhere"/);
  });

  it('the generated files (PrometheusRule, dashboards, the SQLite policy) are what generate.ts writes: `generate.ts --check`', () => {
    const run = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(DEPLOY, 'generate.ts'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr + run.stdout).toMatch(/generated files are up to date/);
    expect(run.status).toBe(0);
    // ... and --check can fail: a copy whose SQLite policy has drifted is reported.
    const copy = join(tmp, 'generate-check');
    cpSync(DEPLOY, join(copy, 'deploy', 'kubernetes'), { recursive: true });
    for (const dir of ['prometheus/rules', 'provisioning/dashboards/selfheal', 'deploy/aws', 'deploy/azure']) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules')); // its imports (yaml)
    const drifted = join(copy, 'deploy', 'kubernetes', 'components', 'sqlite-store', 'policy.yml');
    writeFileSync(drifted, readFileSync(drifted, 'utf8').replace('synchronous: full', 'synchronous: normal'));
    const stale = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(copy, 'deploy', 'kubernetes', 'generate.ts'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/out of date[^\n]*components\/sqlite-store\/policy\.yml/);
    expect(stale.stderr).not.toMatch(/deploy\/(aws|azure)/);
  });

  it('the image (deploy/container/Dockerfile) runs the `selfheal` CLI as the uid the pods run as', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy', 'container', 'Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT \["node", "\/opt\/selfheal\/(.+)"\]$/m.exec(dockerfile)?.[1];
    expect(entry).toBe('cli/bin/selfheal.js');
    expect(existsSync(join(ROOT, entry as string))).toBe(true);
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    for (const w of workloads(loadSources())) {
      expect(w.spec.securityContext?.runAsUser).toBe(Number(user?.[1]));
      expect(w.spec.securityContext?.fsGroup).toBe(Number(user?.[2]));
    }
  });

  it('the configs differ from the shipped examples only in the in-cluster settings', () => {
    const read = (f: string): unknown => parse(readFileSync(join(ROOT, f), 'utf8'));
    expect(diffPaths(read('exporter/examples/exporter.yml'), read('deploy/kubernetes/config/exporter.yml')).sort())
      .toEqual(['listen', 'prometheus.url', 'stateDir']);
    expect(diffPaths(read('webhook/examples/policy.yml'), read('deploy/kubernetes/config/policy.yml')).sort()).toEqual([
      'actuators.checkout-admin.tokenFile', 'actuators.cluster.inCluster', 'actuators.scripts', 'auth.tokenFile',
      'escalation.notify.urlFile', 'listen', 'pauseFile', 'prometheus.url', 'rules.legacy',
      'store.lease', 'store.passwordFile', 'store.path', 'store.synchronous', 'store.url', 'targets.legacy-vm',
    ]);
    // The single-replica variant's policy is the in-cluster policy with the SQLite store, nothing else ...
    expect(diffPaths(read('deploy/kubernetes/config/policy.yml'), read('deploy/kubernetes/components/sqlite-store/policy.yml')).sort())
      .toEqual(['store.lease', 'store.passwordFile', 'store.path', 'store.synchronous', 'store.url']);
    expect((read('deploy/kubernetes/components/sqlite-store/policy.yml') as { store: unknown }).store)
      .toEqual({ path: '/var/lib/selfheal/webhook.db', synchronous: 'full' });
    // The plain Alertmanager receiver: prometheus/alertmanager.yml but for the webhook's URL and token file ...
    expect(diffPaths(read('prometheus/alertmanager.yml'), read('deploy/kubernetes/alertmanager/alertmanager.yml')))
      .toEqual(['receivers.selfheal-healer.webhook_configs']);
    // ... which are those of the AlertmanagerConfig (same Service URL, the Secret's key as the file name).
    type Hook = { url: string; http_config: { authorization: { credentials_file: string } } };
    const hook = (read('deploy/kubernetes/alertmanager/alertmanager.yml') as { receivers: { name: string; webhook_configs?: Hook[] }[] })
      .receivers.find((r) => r.name === 'selfheal-healer')?.webhook_configs?.[0];
    const amc = pick<KObject & { spec: { receivers: { webhookConfigs: { url: string; httpConfig: { authorization: { credentials: { key: string } } } }[] }[] } }>(loadSources(), 'AlertmanagerConfig', 'selfheal');
    const operatorHook = amc.spec.receivers[0]?.webhookConfigs[0];
    expect(hook?.url).toBe(operatorHook?.url);
    expect(posix.basename(hook?.http_config.authorization.credentials_file as string)).toBe(operatorHook?.httpConfig.authorization.credentials.key);
  });
});

describe('components/exporter-shards built with `kubectl kustomize`', () => {
  let objects: KObject[] = [];
  beforeAll(() => {
    objects = kustomizeBuild(['components/exporter-shards']);
  });
  const sts = (): V1StatefulSet => pick<V1StatefulSet>(objects, 'StatefulSet', 'selfheal-exporter', 'selfheal');

  it('N replicas, SELFHEAL_SHARD_COUNT = N, --shard I/N from the pod ordinal', () => {
    const replicas = sts().spec?.replicas as number;
    expect(replicas).toBeGreaterThan(1);
    const c = sts().spec?.template.spec?.containers[0] as V1Container;
    expect(Number(c.env?.find((e) => e.name === 'SELFHEAL_SHARD_COUNT')?.value)).toBe(replicas);
    expect(flags(c).get('--shard')).toBe('$(SELFHEAL_SHARD_INDEX)/$(SELFHEAL_SHARD_COUNT)');
    // Kubernetes expands $(VAR) in args only for variables defined before use in env.
    expect(c.env?.map((e) => e.name)).toEqual(expect.arrayContaining(['SELFHEAL_SHARD_INDEX', 'SELFHEAL_SHARD_COUNT']));
    for (const o of objects) expect(() => MODELS[`${o.apiVersion}/${o.kind}`] && new (MODELS[`${o.apiVersion}/${o.kind}`] as Validatable)(o as never).validate()).not.toThrow();
  });

  it('every flag of the sharded exporter, --shard included, is one `selfheal exporter` offers', () => {
    const c = sts().spec?.template.spec?.containers[0] as V1Container;
    const offered = helpFlags('exporter');
    expect([...flags(c).keys()]).toContain('--shard');
    for (const flag of flags(c).keys()) expect(offered.has(flag), `selfheal exporter ${flag}`).toBe(true);
  });
});

describe('cloud overlays (deploy/aws/eks, deploy/azure/aks) built with `kubectl kustomize`: identities and managed Prometheus, static (no cloud account, no cluster)', () => {
  let eks: KObject[] = [];
  let aks: KObject[] = [];
  beforeAll(() => {
    eks = kustomizeBuild([], 'deploy/aws/eks');
    aks = kustomizeBuild([], 'deploy/azure/aks');
  });
  type CloudConfig = { prometheus: { url: string; auth?: { sigv4?: { region: string; roleArn?: string }; azure?: { clientId?: string } } }; sns?: { topicArns: string[] } };
  /** The config a workload's pod reads (the ConfigMap behind its --config). */
  const mounted = (objects: KObject[], kind: string, name: string): CloudConfig => {
    const w = workloads(objects).find((x) => x.object.kind === kind && x.object.metadata.name === name) as Workload;
    return parse(mountedFile(objects, w, flags(w.spec.containers[0] as V1Container).get('--config') as string)) as CloudConfig;
  };
  const serviceAccountOf = (objects: KObject[], kind: string, name: string): KObject => {
    const w = workloads(objects).find((x) => x.object.kind === kind && x.object.metadata.name === name) as Workload;
    return pick<KObject>(objects, 'ServiceAccount', w.spec.serviceAccountName as string, 'selfheal');
  };
  const both = [['StatefulSet', 'selfheal-exporter'], ['Deployment', 'selfheal-webhook']] as const;

  it('EKS: IRSA role on both pods’ ServiceAccounts; both configs read the AMP workspace’s query URL with SigV4 in its region', () => {
    for (const [kind, name] of both) {
      const role = serviceAccountOf(eks, kind, name).metadata.annotations?.['eks.amazonaws.com/role-arn'];
      expect(role, `${name}: eks.amazonaws.com/role-arn`).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/);
      const config = mounted(eks, kind, name);
      const url = /^https:\/\/aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com\/workspaces\/(ws-[0-9a-f-]+)$/.exec(config.prometheus.url);
      expect(url, `${name}: prometheus.url ${config.prometheus.url}`).not.toBeNull();
      expect(config.prometheus.auth).toEqual({ sigv4: { region: url?.[1] } });
    }
    // The base's ServiceAccounts carry no cloud identity (the annotation is the overlay's).
    expect(loadSources().filter((o) => o.kind === 'ServiceAccount' && o.metadata.annotations)).toEqual([]);
  });

  it('EKS: the healing service accepts AMP alerts through SNS: topics of the workspace’s region, and an Ingress publishing only POST /api/v1/alerts/sns', () => {
    const config = mounted(eks, 'Deployment', 'selfheal-webhook');
    const region = /aps-workspaces\.([a-z0-9-]+)\./.exec(config.prometheus.url)?.[1];
    expect(config.sns?.topicArns.length).toBeGreaterThan(0);
    for (const arn of config.sns?.topicArns ?? []) expect(arn).toMatch(new RegExp(`^arn:aws:sns:${region}:\\d{12}:[\\w-]+$`));
    const ingresses = all<KObject & { spec: { rules: { http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { name: string } } } }[] } }[] } }>(eks, 'Ingress');
    expect(ingresses).toHaveLength(1);
    const paths = ingresses[0]?.spec.rules.flatMap((r) => r.http.paths) ?? [];
    expect(paths.map((p) => [p.path, p.pathType])).toEqual([['/api/v1/alerts/sns', 'Exact']]);
    const svc = pick<V1Service>(eks, 'Service', paths[0]?.backend.service.name as string, ingresses[0]?.metadata.namespace);
    expect(svc.spec?.ports?.map((p) => p.name)).toContain(paths[0]?.backend.service.port.name);
    expect(ingresses[0]?.metadata.annotations?.['alb.ingress.kubernetes.io/listen-ports']).toBe('[{"HTTPS": 443}]');
    // Nothing of this in the AKS overlay.
    expect(all(aks, 'Ingress')).toEqual([]);
    expect(mounted(aks, 'Deployment', 'selfheal-webhook').sns).toBeUndefined();
  });

  it('AKS: workload identity (client-id annotation, use: "true" pod label) on both pods; configs read the Azure Monitor workspace with that client id', () => {
    for (const [kind, name] of both) {
      const clientId = serviceAccountOf(aks, kind, name).metadata.annotations?.['azure.workload.identity/client-id'];
      expect(clientId, `${name}: azure.workload.identity/client-id`).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const w = workloads(aks).find((x) => x.object.kind === kind && x.object.metadata.name === name) as Workload;
      expect(w.template.metadata?.labels?.['azure.workload.identity/use'], `${name}: pod label`).toBe('true');
      // The label is on the pods only: the selector (immutable) is the base's.
      expect(Object.keys(w.selector)).not.toContain('azure.workload.identity/use');
      const config = mounted(aks, kind, name);
      expect(config.prometheus.url, `${name}: prometheus.url`).toMatch(/^https:\/\/[a-z0-9-]+\.[a-z0-9]+\.prometheus\.monitor\.azure\.com$/);
      expect(config.prometheus.auth).toEqual({ azure: { clientId } });
    }
    expect(workloads(eks).every((w) => !w.template.metadata?.labels?.['azure.workload.identity/use'])).toBe(true);
  });

  it('the overlays’ configs are config/*.yml with only prometheus.url and prometheus.auth changed (and sns on EKS); they pass `selfheal check-config`', () => {
    const read = (f: string): unknown => parse(readFileSync(f, 'utf8'));
    for (const [dir, extra] of [[eksDir, ['sns']], [aksDir, []]] as const) {
      expect(diffPaths(read(exporterConfigFile), read(join(dir, 'exporter.yml'))).sort(), dir).toEqual(['prometheus.auth', 'prometheus.url']);
      expect(diffPaths(read(policyFile), read(join(dir, 'policy.yml'))).sort(), dir).toEqual(['prometheus.auth', 'prometheus.url', ...extra]);
    }
    const files = [eksDir, aksDir].flatMap((d) => [join(d, 'exporter.yml'), join(d, 'policy.yml')]);
    const ok = spawnSync(process.execPath, [CLI, 'check-config', ...files], { encoding: 'utf8' });
    expect(ok.stderr + ok.stdout).toMatch(/exporter\.yml: OK[\s\S]*policy\.yml: OK[\s\S]*exporter\.yml: OK[\s\S]*policy\.yml: OK/);
    expect(ok.status).toBe(0);
  });
});
