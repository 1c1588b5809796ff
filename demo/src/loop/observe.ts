// Reading the loop's state: the exporter's scores (its /metrics, fresher than a Prometheus round trip), the
// alert's state in Prometheus, and the healing service's action records.
import { promAlerts } from '@selfheal/stack';

export interface EntityScore {
  score: number;
  health: number;
  feature: string | undefined;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text exposition lines of the given metric names into (labels, value). */
export function parseSeries(text: string, names: ReadonlySet<string>): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match || !names.has(match[1] ?? '')) continue;
    const labels: Record<string, string> = {};
    for (const l of (match[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return out;
}

const SCORE_METRICS = new Set(['selfheal_anomaly_score', 'selfheal_health_score', 'selfheal_anomaly_top_feature_info']);

/** Scores per service from the exporter's /metrics. */
export async function exporterScores(exporterUrl: string): Promise<Map<string, EntityScore>> {
  const response = await fetch(`${exporterUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
  const text = await response.text();
  const scores = new Map<string, EntityScore>();
  const entry = (service: string): EntityScore => {
    let e = scores.get(service);
    if (!e) scores.set(service, (e = { score: Number.NaN, health: Number.NaN, feature: undefined }));
    return e;
  };
  for (const s of parseSeries(text, SCORE_METRICS)) {
    const service = s.labels.service;
    if (!service) continue;
    if (s.name === 'selfheal_anomaly_score') entry(service).score = s.value;
    else if (s.name === 'selfheal_health_score') entry(service).health = s.value;
    else if (s.value === 1) entry(service).feature = s.labels.feature;
  }
  return scores;
}

/** SelfhealAnomaly alerts firing in Prometheus, by service. */
export async function firingAnomalies(prometheusUrl: string): Promise<Map<string, { feature: string | undefined; severity: string | undefined }>> {
  const firing = new Map<string, { feature: string | undefined; severity: string | undefined }>();
  for (const alert of await promAlerts(prometheusUrl)) {
    if (alert.labels.alertname !== 'SelfhealAnomaly' || alert.state !== 'firing' || !alert.labels.service) continue;
    firing.set(alert.labels.service, { feature: alert.labels.feature, severity: alert.labels.severity });
  }
  return firing;
}

export interface HealingAction {
  id: number;
  service: string;
  action: string;
  target: string;
  status: string;
  reason: string | null;
  started_at: number;
  finished_at: number | null;
}

/** The healing service's action records (GET /api/v1/actions). */
export async function healingActions(webhookUrl: string, token: string, service?: string): Promise<HealingAction[]> {
  const query = service ? `?service=${encodeURIComponent(service)}` : '';
  const response = await fetch(`${webhookUrl}/api/v1/actions${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(3000),
  });
  if (!response.ok) throw new Error(`GET ${webhookUrl}/api/v1/actions answered ${response.status}`);
  const body = (await response.json()) as { data: HealingAction[] };
  return body.data;
}
