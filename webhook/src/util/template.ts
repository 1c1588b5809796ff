// A deliberately tiny template language for targets, URLs, bodies and argv: `{{ labels.service }}`,
// `{{ annotations.summary }}`, `{{ action }}`, `{{ target }}`, `{{ fingerprint }}`, `{{ status }}`.
// No expressions, no functions: alert values are data and can never become code.
export interface TemplateVars {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  action: string;
  target: string;
  fingerprint: string;
  status: string;
  startsAt: string;
  /** The alert's entity as PromQL label matchers, e.g. `group="shop",service="checkout"` (already escaped). */
  entity: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;

export class TemplateError extends Error {}

/** Names referenced by a template, e.g. ["labels.service"]. */
export function templateRefs(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

const TOP_LEVEL = new Set(['labels', 'annotations', 'action', 'target', 'fingerprint', 'status', 'startsAt', 'entity']);

/** Checks at config-load time that every placeholder names a known variable. */
export function checkTemplate(template: string): string | undefined {
  for (const ref of templateRefs(template)) {
    const [head, tail] = ref.split('.');
    if (!head || !TOP_LEVEL.has(head)) return `unknown template variable "${ref}" (known: labels.X, annotations.X, action, target, fingerprint, status, startsAt, entity)`;
    if ((head === 'labels' || head === 'annotations') !== (tail !== undefined)) return `template variable "${ref}" must be written labels.NAME or annotations.NAME`;
  }
  if (/\{\{/.test(template.replace(PLACEHOLDER, ''))) return 'unbalanced or malformed "{{ ... }}" placeholder';
  return undefined;
}

export function lookup(vars: TemplateVars, ref: string): string {
  const [head, tail] = ref.split('.');
  if (head === 'labels' || head === 'annotations') {
    // Own properties only: `labels.constructor` must not render Object.prototype's constructor.
    const value = Object.hasOwn(vars[head], tail ?? '') ? vars[head][tail ?? ''] : undefined;
    if (value === undefined) throw new TemplateError(`the alert has no ${head.slice(0, -1)} "${tail}"`);
    return value;
  }
  const value = (vars as unknown as Record<string, unknown>)[head ?? ''];
  if (typeof value !== 'string') throw new TemplateError(`unknown template variable "${ref}"`);
  return value;
}

/**
 * Renders a template. `encode` escapes each substituted value for its context (URL component, argv
 * validation ...); it may throw to reject a value.
 */
export function render(template: string, vars: TemplateVars, encode: (value: string, ref: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_m, ref: string) => encode(lookup(vars, ref), ref));
}

/** Renders every string leaf of a JSON-like value (keeps the structure, so values cannot break out). */
export function renderDeep(value: unknown, vars: TemplateVars): unknown {
  if (typeof value === 'string') return render(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, vars)]));
  }
  return value;
}
