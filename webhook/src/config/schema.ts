// The healing service's configuration file (YAML), validated at start-up and by `--check-config`.
import { listenAddressProblem, listenAddressSchema, prometheusAuthSchema } from '@selfheal/contracts';
import { z } from 'zod';
import { ACTIONS, ANOMALY_THRESHOLD, SCORE_FAMILIES, TRUST_MODES, type ActionName } from '@selfheal/contracts';
import { actionParamsSchema, actuatorConfigSchema, targetSettingsSchemas } from '../actuators/registry.js';
import { splitRevert } from '../actuators/revert-spec.js';
import { DEFAULT_CHANGE_QUERY, DEFAULT_TARGET_LABEL } from '../changes/prometheus.js';
import { parseMatcher } from '../util/matchers.js';
import { parseByteSize } from '../util/bytes.js';
import { duration, nonEmpty, template, url } from '../util/schema-parts.js';

const actionName = z.enum(ACTIONS, { error: `must be one of ${ACTIONS.join(', ')}` });

const authSchema = z.preprocess(
  (v) => (v === 'none' ? { type: 'none' } : v),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('bearer'), tokenFile: nonEmpty }),
    z.strictObject({ type: z.literal('basic'), username: nonEmpty, passwordFile: nonEmpty }),
    z.strictObject({ type: z.literal('none') }),
  ], { error: 'must be bearer (tokenFile), basic (username, passwordFile) or none' }),
);

/** postgres://user@host:5432/db?sslmode=require; the password in the URL or (better) in passwordFile. */
const postgresUrl = z.string().refine((u) => {
  try {
    return /^postgres(ql)?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'must be a PostgreSQL URL, e.g. postgres://selfheal@db.example:5432/selfheal');

/**
 * `store: PATH` or `{path}`: embedded SQLite (the default). `store: postgres://...` or `{url, passwordFile}`:
 * PostgreSQL, shared by several replicas. One object type either way (other tools read `store.path`).
 */
const storeSchema = z.preprocess(
  (v, ctx) => {
    if (v === undefined || v === null) return {};
    if (typeof v === 'string') return /^postgres(ql)?:\/\//.test(v) ? { url: v } : { path: v };
    if (typeof v === 'object' && 'url' in v && 'path' in v) {
      ctx.addIssue({ code: 'custom', message: 'give either path (SQLite) or url (PostgreSQL), not both' });
    }
    return v;
  },
  z.strictObject({
    /** SQLite file (ignored with url). */
    path: nonEmpty.default('selfheal-webhook.db'),
    /** SQLite synchronous mode: full = every acknowledged alert survives a power cut. */
    synchronous: z.enum(['full', 'normal']).default('full'),
    retention: duration.default(30 * 86400),
    /** PostgreSQL instead of SQLite: postgres://user@host:5432/db (a password here is better in passwordFile). */
    url: postgresUrl.optional(),
    /** The PostgreSQL password, read from this file at start (not kept in the config). */
    passwordFile: nonEmpty.optional(),
    /** PostgreSQL connections per replica. */
    poolSize: z.number().int().min(2).max(100).default(10),
    /** PostgreSQL: how long to wait for a connection before failing (start-up, readiness, requests). */
    connectTimeout: duration.default(10),
    /** PostgreSQL: a replica that has not renewed its lease for this long is dead; its unfinished incidents are taken over. */
    lease: duration.default(15),
  }).superRefine((st, ctx) => {
    if (!st.url && st.passwordFile) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'passwordFile is for the PostgreSQL store; set url too' });
    if (st.lease < 0.5) ctx.addIssue({ code: 'custom', path: ['lease'], message: 'must be at least 0.5s' });
  }),
);
export type StoreConfig = z.infer<typeof storeSchema>;

/** HOST:PORT to listen on (an empty host: every interface). Also checks `--listen`. */
export const LISTEN = { example: '127.0.0.1:9189' } as const;
export const listenProblem = (text: string): string | undefined => listenAddressProblem(text, LISTEN);
const listenAddress = listenAddressSchema(LISTEN);

const rateLimit = z.strictObject({ window: duration, max: z.number().int().nonnegative() });

/**
 * How long an action held back by a guardrail that lifts by itself (cooldown, rate limit, maxConcurrent) may wait
 * to be decided again; past it (or when the guardrail lifts only later), a person is told. 0: never wait (skip).
 */
const maxDefer = duration.refine((s) => s <= 86400, 'must be at most 1d: an action held back longer acts on a situation nobody is watching any more; tell a person instead');

const verifySchema = z.strictObject({
  /**
   * PromQL template that returns a non-empty result once healed; `{{ entity }}` is the alert's entity. Default: the
   * entity's anomaly score back under the alerting threshold (`selfheal_anomaly_score{ {{ entity }} } < 1`).
   */
  query: template.default(`${SCORE_FAMILIES.anomalyScore.name}{ {{ entity }} } < ${ANOMALY_THRESHOLD}`),
  interval: duration.default(15),
  timeout: duration.default(300),
});

const matcherString = z.string().superRefine((text, ctx) => {
  try {
    parseMatcher(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Trust level: shadow (record what would run, never act; the old dryRun: true), approve (a person decides), auto. */
const trustMode = z.enum(TRUST_MODES, { error: `must be one of ${TRUST_MODES.join(', ')}` });

/** How long an action in approve mode waits for a person before it is given up and escalated. */
const approvalTimeout = duration.refine((s) => s > 0 && s <= 7 * 86400, 'must be more than 0s and at most 7d');

/** `restart`, or `{action: restart, params: {...}, mode: approve}` (a bare name is read as the object, so errors name the field). */
const actionStep = z.preprocess(
  (v) => (typeof v === 'string' ? { action: v } : v),
  z.strictObject({ action: actionName, params: z.record(z.string(), z.unknown()).default({}), mode: trustMode.optional() }),
);

/** `dryRun` is the old spelling of `mode: shadow`: both may be written only when they agree. */
function dryRunContradiction(dryRun: boolean | undefined, mode: string | undefined): string | undefined {
  if (dryRun === undefined || mode === undefined || dryRun === (mode === 'shadow')) return undefined;
  return `dryRun: ${String(dryRun)} contradicts mode: ${mode} (dryRun: true is the old spelling of mode: shadow); keep only mode`;
}

/**
 * Change awareness: where rollout times come from, and how soon after one an anomaly counts as caused by it.
 * Rules may then say `when: recentChange` / `when: noRecentChange`; `rollback` needs it.
 */
const changesSchema = z.strictObject({
  window: duration.refine((s) => s > 0 && s <= 7 * 86400, 'must be more than 0s and at most 7d (e.g. 30m)'),
  source: z.union([
    z.strictObject({ kubernetes: z.strictObject({}) }),
    z.strictObject({
      prometheus: z.strictObject({
        /** PromQL returning, per workload, the Unix time (seconds) of its last rollout. Default: kube-state-metrics'. */
        query: nonEmpty.default(DEFAULT_CHANGE_QUERY),
        /** The label whose value names the target (its Kubernetes workload name, else the target's name). */
        targetLabel: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Prometheus label name, e.g. owner_name').default(DEFAULT_TARGET_LABEL),
      }),
    }),
  ], { error: 'give either kubernetes: {} (the Deployment\'s ReplicaSets) or prometheus: {query, targetLabel} (e.g. kube-state-metrics)' }),
});

/** A rule's condition on the target's last rollout. */
export const CHANGE_CONDITIONS = ['recentChange', 'noRecentChange'] as const;

const ruleSchema = z.strictObject({
  name: nonEmpty,
  matchers: z.array(matcherString).default([]),
  /** A target name from `targets`, or a template (e.g. `{{ labels.service }}`) that must render to one. */
  target: template,
  /**
   * `recentChange`: the rule applies only when the anomaly began within changes.window of the target's last rollout;
   * `noRecentChange`: only when it did not. Absent: either way.
   */
  when: z.enum(CHANGE_CONDITIONS, { error: `must be ${CHANGE_CONDITIONS.join(' or ')}` }).optional(),
  /** Tried in order: the next one only if the previous failed verification. Default: by `feature`. */
  actions: z.array(actionStep).optional(),
  /** The old spelling of `mode: shadow` (still accepted). */
  dryRun: z.boolean().optional(),
  /** Trust level of the rule's actions (an action may set its own); default: the top-level mode. */
  mode: trustMode.optional(),
  /** approve mode: how long to wait for a person (default: the top-level approvalTimeout). */
  approvalTimeout: approvalTimeout.optional(),
  /** Blast-radius guard: PromQL template that must return a non-empty result before acting. */
  precondition: template.optional(),
  cooldown: duration.optional(),
  maxDefer: maxDefer.optional(),
  verify: z.union([verifySchema.partial(), z.literal(false)]).optional(),
});

const targetSchema = z.strictObject({
  actuator: nonEmpty,
  ...targetSettingsSchemas,
  /** Per-action parameters (the actuator's own schema); rules may override them. */
  actions: z.partialRecord(actionName, z.unknown()).default({}),
});

/**
 * An Amazon SNS topic ARN: arn:<partition>:sns:<region>:<12-digit account>:<topic name> (partitions aws, aws-cn,
 * aws-us-gov; names of 1 to 256 letters, digits, - and _, a FIFO topic's ending in .fifo).
 */
export const SNS_TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const snsTopicArn = z.string().regex(SNS_TOPIC_ARN, 'must be an SNS topic ARN, e.g. arn:aws:sns:us-east-1:123456789012:selfheal-alerts');

/** Deliveries from Amazon SNS (alert manager of Amazon Managed Service for Prometheus) at POST /api/v1/alerts/sns. */
const snsSchema = z.strictObject({
  /** Only messages of these topics are taken (the rest is 403). */
  topicArns: z.array(snsTopicArn).min(1, 'name at least one SNS topic ARN whose messages are taken'),
  /**
   * A message whose Timestamp (when SNS published it) is older than this is refused. SNS retries an HTTP(S)
   * delivery for at most an hour (its hard limit), so the default lets every retry in.
   */
  maxAge: duration.refine((s) => s >= 60 && s <= 86400, 'must be between 1m and 1d').default(3600),
});
export type SnsConfig = z.infer<typeof snsSchema>;

const configObject = z.strictObject({
  listen: listenAddress.default('127.0.0.1:9189'),
  auth: authSchema,
  /** Largest accepted webhook body (Alertmanager's max_alerts: 0 sends whole groups). */
  bodyLimit: z.union([z.string(), z.number()]).transform((v) => String(v)).superRefine((text, ctx) => {
    if (parseByteSize(text) === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a size; write e.g. 512kb, 1mb, 4mb (or bytes as a number)` });
  }).default('1mb'),
  store: storeSchema,
  /**
   * Where verification, preconditions and revert conditions query. `auth`: the exporter's `prometheus.auth`
   * (bearerTokenFile, basic, sigv4 for Amazon Managed Service for Prometheus, azure for Azure Monitor).
   */
  prometheus: z.strictObject({ url, timeout: duration.default(5), auth: prometheusAuthSchema.optional() }).optional(),
  /** true: every action in shadow mode, whatever rules and actions say (as --dry-run); the old spelling of mode: shadow. */
  dryRun: z.boolean().optional(),
  /** Default trust level of the rules' actions: shadow, approve or auto (default auto). */
  mode: trustMode.optional(),
  /** approve mode: how long an action waits for a person before it is given up and escalated. */
  approvalTimeout: approvalTimeout.default(1800),
  /** The service's URL as people reach it (the approve link of notifications); default: http://<listen>. */
  externalUrl: url.optional(),
  /** While this file exists, no action runs (each decision is recorded as skipped: paused). */
  pauseFile: z.string().optional(),
  guardrails: z.strictObject({
    cooldown: duration.default(600),
    rateLimits: z.strictObject({
      perTarget: z.array(rateLimit).default([{ window: 3600, max: 3 }, { window: 86400, max: 10 }]),
      global: z.array(rateLimit).default([{ window: 3600, max: 20 }]),
    }).prefault({}),
    maxConcurrent: z.number().int().positive().default(2),
    maxDefer: maxDefer.default(1800),
  }).prefault({}),
  verify: verifySchema.extend({
    /** Alert labels that are not entity labels (removed when building `{{ entity }}`). */
    nonEntityLabels: z.array(z.string()).default(['alertname', 'severity', 'feature']),
  }).prefault({}),
  escalation: z.strictObject({
    /** Slack-compatible incoming webhook (JSON {text}) told when every action failed. */
    notify: z.union([z.strictObject({ url, timeout: duration.default(5) }), z.strictObject({ urlFile: nonEmpty, timeout: duration.default(5) })]).optional(),
  }).prefault({}),
  /** Alerts delivered by Amazon SNS (Amazon Managed Service for Prometheus): the allowed topics. */
  sns: snsSchema.optional(),
  grafana: z.strictObject({ url, tokenFile: nonEmpty, tags: z.array(z.string()).default(['selfheal']), timeout: duration.default(5) }).optional(),
  /**
   * The efficacy ledger: success rate and time to recover per (feature, action, target) over `window`, and what
   * healing costs. With `demoteBelow`, an action whose success rate on a target fell below it (over at least
   * `minAttempts` attempts) is demoted to approve mode there until a person lifts it; without it, nothing is demoted.
   */
  efficacy: z.strictObject({
    window: duration.refine((s) => s >= 60, 'must be at least 1m').default(7 * 86400),
    minAttempts: z.number({ error: 'must be a whole number of attempts, at least 1' }).int('must be a whole number of attempts, at least 1').min(1, 'must be at least 1').default(3),
    demoteBelow: z.number({ error: 'must be a success ratio between 0 and 1, e.g. 0.5' }).gt(0, 'must be more than 0 (0 would never demote; leave demoteBelow out to turn demotion off)').max(1, 'must be at most 1 (a success ratio)').optional(),
  }).prefault({}),
  /** Change awareness (rollouts): `window` and `source`; needed by `when:` rules and the `rollback` action. */
  changes: changesSchema.optional(),
  /** Overrides of the default feature → action mapping, by feature prefix (e.g. cpu: restart). */
  featureActions: z.record(z.string(), actionName).default({}),
  actuators: z.record(z.string(), actuatorConfigSchema).default({}),
  targets: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'target names use letters, digits, . _ -'), targetSchema).default({}),
  rules: z.array(ruleSchema).default([]),
});

/**
 * `when:` rules and `rollback` need `changes:`; its prometheus source needs prometheus.url, its kubernetes source
 * Kubernetes targets; `rollback` (Kubernetes) rolls back Deployments only.
 */
function checkChanges(cfg: z.output<typeof configObject>, ctx: z.RefinementCtx): void {
  const needs = 'needs changes: {window, source} (how soon after a rollout an anomaly counts as caused by it, and where rollouts are read)';
  if (cfg.changes && 'prometheus' in cfg.changes.source && !cfg.prometheus) {
    ctx.addIssue({ code: 'custom', path: ['changes', 'source', 'prometheus'], message: 'needs prometheus.url: the rollout times are queried from Prometheus' });
  }
  const kubernetesSource = cfg.changes !== undefined && 'kubernetes' in cfg.changes.source;
  const rollbackOn = (targetName: string, path: (string | number)[]) => {
    const target = cfg.targets[targetName];
    const type = target ? cfg.actuators[target.actuator]?.type : undefined;
    if (type === 'kubernetes' && target?.kubernetes?.kind !== 'Deployment') ctx.addIssue({ code: 'custom', path, message: `rollback rolls back Deployments; target "${targetName}" is a ${target?.kubernetes?.kind ?? '?'}` });
  };
  for (const [name, target] of Object.entries(cfg.targets)) {
    if (target.actions.rollback === undefined) continue;
    if (!cfg.changes) ctx.addIssue({ code: 'custom', path: ['targets', name, 'actions', 'rollback'], message: `rollback ${needs}` });
    rollbackOn(name, ['targets', name, 'actions', 'rollback']);
  }
  for (const [prefix, action] of Object.entries(cfg.featureActions)) {
    if (action === 'rollback' && !cfg.changes) ctx.addIssue({ code: 'custom', path: ['featureActions', prefix], message: `rollback ${needs}` });
  }
  cfg.rules.forEach((rule, i) => {
    if (rule.when && !cfg.changes) ctx.addIssue({ code: 'custom', path: ['rules', i, 'when'], message: `when: ${rule.when} ${needs}` });
    const named = rule.target.includes('{{') ? undefined : rule.target;
    if (rule.when && kubernetesSource && named && cfg.targets[named] && !cfg.targets[named].kubernetes) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'when'], message: `the kubernetes change source reads a Deployment's ReplicaSets; target "${named}" is not a Kubernetes target (use changes.source.prometheus)` });
    }
    (rule.actions ?? []).forEach((entry, j) => {
      if (entry.action !== 'rollback') return;
      if (!cfg.changes) ctx.addIssue({ code: 'custom', path: ['rules', i, 'actions', j], message: `rollback ${needs}` });
      if (named) rollbackOn(named, ['rules', i, 'actions', j]);
    });
  });
}

export const configSchema = configObject.superRefine((cfg, ctx) => {
  // Cross-references: each target's actuator exists and its action parameters fit that actuator.
  for (const [name, target] of Object.entries(cfg.targets)) {
    const actuator = cfg.actuators[target.actuator];
    if (!actuator) {
      ctx.addIssue({ code: 'custom', path: ['targets', name, 'actuator'], message: `no actuator named "${target.actuator}" (defined: ${Object.keys(cfg.actuators).join(', ') || 'none'})` });
      continue;
    }
    if (actuator.type === 'kubernetes' && !target.kubernetes) {
      ctx.addIssue({ code: 'custom', path: ['targets', name, 'kubernetes'], message: 'a kubernetes target needs kubernetes: {namespace, kind, name}' });
    }
    for (const [action, settings] of Object.entries(target.actions)) {
      // `revertAfter` and `revert` (a fix that undoes itself) are split off before the actuator's schema.
      const split = splitRevert(actuator.type, action as ActionName, settings ?? {});
      for (const issue of split.issues) ctx.addIssue({ code: 'custom', path: ['targets', name, 'actions', action, ...issue.path], message: issue.message });
      if (split.revert && !cfg.prometheus) {
        ctx.addIssue({ code: 'custom', path: ['targets', name, 'actions', action, 'revertAfter'], message: 'needs prometheus.url: the revert waits until a PromQL condition (the anomaly score stayed below 1 that long) holds' });
      }
      const params = split.params;
      const schema = actionParamsSchema(actuator.type, action as ActionName);
      const parsed = schema.safeParse(params ?? {});
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ code: 'custom', path: ['targets', name, 'actions', action, ...issue.path.map(String)], message: issue.message });
        }
      }
    }
  }
  if (cfg.efficacy.window > cfg.store.retention) {
    ctx.addIssue({ code: 'custom', path: ['efficacy', 'window'], message: `must be at most store.retention (${cfg.store.retention}s): older actions are pruned from the store the ledger is read from` });
  }
  checkChanges(cfg, ctx);
  const top = dryRunContradiction(cfg.dryRun, cfg.mode);
  if (top) ctx.addIssue({ code: 'custom', path: ['dryRun'], message: top });
  cfg.rules.forEach((rule, i) => {
    const contradiction = dryRunContradiction(rule.dryRun, rule.mode);
    if (contradiction) ctx.addIssue({ code: 'custom', path: ['rules', i, 'dryRun'], message: contradiction });
    if (!rule.target.includes('{{') && !cfg.targets[rule.target]) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'target'], message: `no target named "${rule.target}" (defined: ${Object.keys(cfg.targets).join(', ') || 'none'})` });
    }
    // A rule's params may declare a revert too: checked with the actuator of its target (or, for a templated
    // target, of every target that declares the action), so a revert on restart is refused here, not at the alert.
    const named = rule.target.includes('{{') ? undefined : cfg.targets[rule.target];
    (rule.actions ?? []).forEach((entry, j) => {
      if (typeof entry === 'string') return;
      const types = new Set((named ? [named] : Object.values(cfg.targets)).map((t) => cfg.actuators[t.actuator]?.type).filter((t) => t !== undefined));
      for (const type of types) {
        const split = splitRevert(type, entry.action, entry.params);
        for (const issue of split.issues) ctx.addIssue({ code: 'custom', path: ['rules', i, 'actions', j, 'params', ...issue.path], message: issue.message });
        if (split.issues.length > 0) break;
        if (split.revert && !cfg.prometheus) {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'actions', j, 'params', 'revertAfter'], message: 'needs prometheus.url: the revert waits until a PromQL condition (the anomaly score stayed below 1 that long) holds' });
          break;
        }
      }
    });
  });
});

export type Config = z.infer<typeof configSchema>;
export type RuleConfig = Config['rules'][number];
export type TargetConfig = Config['targets'][string];
export type ActuatorConfig = Config['actuators'][string];
