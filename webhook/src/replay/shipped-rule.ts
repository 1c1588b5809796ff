// The labels and annotations the shipped alerting rule SelfhealAnomaly (prometheus/rules/selfheal-alerts.yml)
// gives an alert, so a replay from Prometheus's ALERTS series sends what Alertmanager would have sent. The
// templates are the rule file's, word for word (test/shipped-rule.test.ts compares them with the file); only the
// two forms they use are rendered: {{ $labels.NAME }} and {{ $value | printf "%.Nf" }}.
import { ANOMALY_ALERT_FOR_SECONDS } from '@selfheal/contracts';

export const SHIPPED_ANOMALY_RULE = {
  alert: 'SelfhealAnomaly',
  /** `for:` of the rule (an occurrence's alert starts this long before it fires). */
  forSeconds: ANOMALY_ALERT_FOR_SECONDS,
  labels: { severity: 'warning' } as Record<string, string>,
  annotations: {
    summary: 'Anomaly in {{ $labels.service }}, driven by {{ $labels.feature }}',
    description: 'The anomaly exporter scores {{ $labels.service }} (group {{ $labels.group }}) at {{ $value | printf "%.2f" }}, above the alerting threshold 1.0; the feature that drives it is {{ $labels.feature }}. The healing service acts on this alert according to its policy.',
    anomaly_score: '{{ $value | printf "%.3f" }}',
    runbook_url: 'https://github.com/selfheal/selfheal/blob/main/docs/runbooks.md#selfhealanomaly',
  } as Record<string, string>,
} as const;

/** Labels of an ALERTS series that are not the entity's: the alert's own and the rule's static ones, and feature. */
export const NON_ENTITY_LABELS = new Set(['alertname', 'alertstate', 'feature', ...Object.keys(SHIPPED_ANOMALY_RULE.labels)]);

/**
 * The rule's annotations for an alert with these labels and value (the anomaly score when it was sent); without a
 * value, the annotations that show it are left out rather than invented.
 */
export function shippedAnnotations(labels: Record<string, string>, value: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, template] of Object.entries(SHIPPED_ANOMALY_RULE.annotations)) {
    if (value === undefined && template.includes('$value')) continue;
    out[name] = template
      // Go's template prints "<no value>" for a label the alert lacks.
      .replace(/\{\{ \$labels\.([A-Za-z_][A-Za-z0-9_]*) \}\}/g, (_, l: string) => labels[l] ?? '<no value>')
      .replace(/\{\{ \$value \| printf "%\.(\d)f" \}\}/g, (_, d: string) => (value ?? 0).toFixed(Number(d)));
  }
  return out;
}
