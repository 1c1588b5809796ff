// The policy: which rule an alert matches, which allowed target it names, and which actions to try in order.
import { DEFAULT_FEATURE_ACTIONS, labelMatchers, type ActionName, type ChangeRecord, type TrustMode } from '@selfheal/contracts';
import { actionParamsSchema } from '../actuators/registry.js';
import { splitRevert, type RevertSpec } from '../actuators/revert-spec.js';
import type { ActuatorConfig, Config, RuleConfig, TargetConfig } from '../config/schema.js';
import { render, TemplateError, type TemplateVars } from '../util/template.js';
import { matchesAll, parseMatcher, type Matcher } from '../util/matchers.js';

export interface PlannedStep {
  action: ActionName;
  /** Parameters validated against the actuator's schema (target defaults merged with rule overrides). */
  params: unknown;
  /** The fix undoes itself once the anomaly is over (`revertAfter`, and `revert` for http/exec). */
  revert?: RevertSpec;
  /** Its trust level: shadow (record, never act), approve (a person decides first) or auto. */
  mode: TrustMode;
}

export interface Plan {
  rule: RuleConfig;
  targetName: string;
  target: TargetConfig;
  actuator: ActuatorConfig;
  steps: PlannedStep[];
  /** Every step in shadow mode. */
  dryRun: boolean;
  /** The rule said `when:`: the change (last rollout) the decision relied on, if one is known. */
  change?: ChangeRecord;
  /** The rule said `when:`: what the change source answered, for the audit (`recentChange: ...`). */
  changeNote?: string;
}

/** What the change source said about a target (see changes/source.ts): recent or not, the rollout, or an error. */
export interface TargetChange {
  recent: boolean;
  change?: ChangeRecord;
  error?: string;
}

export interface DecideOptions {
  /** Per target name, whether the anomaly began right after a rollout (rules with `when:`). */
  changes?: ReadonlyMap<string, TargetChange>;
  /** An incident decided before (a restart, a deferral): keep its rule, whatever `when:` would say now. */
  rule?: string;
}

export type Decision = { kind: 'plan'; plan: Plan } | { kind: 'skip'; reason: string; rule?: string; action?: ActionName };

interface CompiledRule {
  rule: RuleConfig;
  matchers: Matcher[];
}

const TARGET_NAME = /^[A-Za-z0-9._-]+$/;

export class Policy {
  private readonly rules: CompiledRule[];

  constructor(private readonly config: Config) {
    this.rules = config.rules.map((rule) => ({ rule, matchers: rule.matchers.map(parseMatcher) }));
  }

  /** The default action for a feature: the policy's overrides first (longest prefix wins), then the built-in mapping. */
  actionForFeature(feature: string | undefined): ActionName | undefined {
    if (!feature) return undefined;
    const overrides = Object.entries(this.config.featureActions).sort((a, b) => b[0].length - a[0].length);
    for (const [prefix, action] of overrides) if (feature.startsWith(prefix)) return action;
    for (const [prefix, action] of DEFAULT_FEATURE_ACTIONS) if (feature.startsWith(prefix)) return action;
    return undefined;
  }

  /** Whether the first rule the labels match says `when:` (its decision needs the change source: not at ingest). */
  needsChange(labels: Record<string, string>): boolean {
    return this.rules.find((r) => matchesAll(r.matchers, labels))?.rule.when !== undefined;
  }

  /**
   * The targets whose last rollout the decision needs: those of the matching rules with `when:`, up to the first
   * matching rule without one (which is taken whatever the change). Templated targets that do not render are left out.
   */
  changeTargets(labels: Record<string, string>, vars: TemplateVars): { targetName: string; target: TargetConfig }[] {
    const out: { targetName: string; target: TargetConfig }[] = [];
    for (const { rule } of this.rules.filter((r) => matchesAll(r.matchers, labels))) {
      if (!rule.when) break;
      let name: string;
      try {
        name = render(rule.target, vars);
      } catch {
        continue;
      }
      const target = TARGET_NAME.test(name) && Object.hasOwn(this.config.targets, name) ? this.config.targets[name] : undefined;
      if (target && !out.some((t) => t.targetName === name)) out.push({ targetName: name, target });
    }
    return out;
  }

  decide(labels: Record<string, string>, vars: TemplateVars, opts: DecideOptions = {}): Decision {
    const matching = this.rules.filter((r) => matchesAll(r.matchers, labels));
    if (matching.length === 0) return { kind: 'skip', reason: 'no policy rule matches the alert' };
    // Resumed with a rule that still matches: that one (a config changed since decides afresh, as before).
    const pinned = opts.rule !== undefined && matching.some((r) => r.rule.name === opts.rule) ? opts.rule : undefined;
    // First match wins; a rule with `when:` matches only if the target's change says so. Resumed: the same rule.
    let chosen: { rule: RuleConfig; targetName: string; change?: TargetChange } | undefined;
    for (const { rule } of matching) {
      // The target comes from the policy; a templated target must render to a name the policy defines.
      let targetName: string;
      try {
        targetName = render(rule.target, vars);
      } catch (err) {
        if (rule.when && pinned !== rule.name) continue;
        return { kind: 'skip', rule: rule.name, reason: `rule "${rule.name}": cannot resolve the target: ${(err as TemplateError).message}` };
      }
      if (pinned !== undefined) {
        if (rule.name !== pinned) continue;
      } else if (rule.when) {
        const recent = opts.changes?.get(targetName)?.recent ?? false;
        if ((rule.when === 'recentChange') !== recent) continue;
      }
      chosen = { rule, targetName, change: rule.when ? opts.changes?.get(targetName) : undefined };
      break;
    }
    if (!chosen) {
      return { kind: 'skip', reason: 'no policy rule matches the alert and its targets\' changes (when: recentChange / noRecentChange)' };
    }
    const { rule, targetName } = chosen;
    const target = TARGET_NAME.test(targetName) ? this.config.targets[targetName] : undefined;
    if (!target || !Object.hasOwn(this.config.targets, targetName)) {
      return { kind: 'skip', rule: rule.name, reason: `rule "${rule.name}": target "${targetName.slice(0, 100)}" is not one of the policy's targets` };
    }
    const actuator = this.config.actuators[target.actuator];
    if (!actuator) return { kind: 'skip', rule: rule.name, reason: `target "${targetName}" names an unknown actuator` };

    const requested = rule.actions ?? [];
    let entries: { action: ActionName; params: Record<string, unknown>; mode?: TrustMode }[] = [...requested];
    if (entries.length === 0) {
      const action = this.actionForFeature(labels.feature);
      if (!action) return { kind: 'skip', rule: rule.name, reason: `rule "${rule.name}" lists no actions and feature "${labels.feature ?? ''}" has no default action` };
      entries = [{ action, params: {} }];
    }
    const steps: PlannedStep[] = [];
    for (const entry of entries) {
      const base = target.actions[entry.action];
      if (base === undefined && actuator.type !== 'kubernetes') {
        return { kind: 'skip', rule: rule.name, action: entry.action, reason: `target "${targetName}" has no settings for ${entry.action}` };
      }
      const merged = { ...((base as Record<string, unknown> | undefined) ?? {}), ...entry.params };
      const split = splitRevert(actuator.type, entry.action, merged);
      const parsed = actionParamsSchema(actuator.type, entry.action).safeParse(split.params);
      if (!parsed.success || split.issues.length > 0) {
        const issues = [...split.issues.map((i) => ({ path: i.path, message: i.message })), ...(parsed.success ? [] : parsed.error.issues)];
        const why = issues.map((i) => `${i.path.join('.') || entry.action}: ${i.message}`).join('; ');
        return { kind: 'skip', rule: rule.name, action: entry.action, reason: `target "${targetName}" cannot run ${entry.action}: ${why}` };
      }
      steps.push({ action: entry.action, params: parsed.data, mode: this.modeOf(rule, entry.mode), ...(split.revert ? { revert: split.revert } : {}) });
    }
    const plan: Plan = { rule, targetName, target, actuator, steps, dryRun: steps.every((s) => s.mode === 'shadow') };
    if (rule.when) {
      const c = chosen.change;
      if (c?.change) plan.change = c.change;
      plan.changeNote = c?.error ?? (c?.change ? `last rollout of ${targetName} at ${c.change.at}${c.change.revision ? ` (revision ${c.change.revision})` : ''} from ${c.change.source}: ${c.recent ? 'recent' : 'not recent'}` : `no rollout of ${targetName} known`);
    }
    return { kind: 'plan', plan };
  }

  /**
   * An action's trust level: the most specific one written (action, rule, top level), `dryRun: true` counting as
   * `mode: shadow`; the top-level `dryRun: true` (and --dry-run) puts everything in shadow mode whatever the rest says.
   */
  modeOf(rule: RuleConfig, actionMode: TrustMode | undefined): TrustMode {
    if (this.config.dryRun === true) return 'shadow';
    return actionMode ?? rule.mode ?? (rule.dryRun === true ? 'shadow' : undefined) ?? this.config.mode ?? 'auto';
  }
}

/** PromQL label matchers for the alert's entity: its labels minus the ones that are not entity labels. */
export function entityMatchers(labels: Record<string, string>, nonEntity: readonly string[]): string {
  return labelMatchers(Object.fromEntries(Object.entries(labels).filter(([k]) => !nonEntity.includes(k))));
}

export function templateVars(alert: { labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string; status: string; startsAt: string }, nonEntity: readonly string[], action = '', target = ''): TemplateVars {
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    fingerprint: alert.fingerprint,
    status: alert.status,
    startsAt: alert.startsAt,
    action,
    target,
    entity: entityMatchers(alert.labels, nonEntity),
  };
}
