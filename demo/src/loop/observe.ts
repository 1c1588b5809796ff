// Reading the loop's state: the exporter's scores (its /metrics, fresher than a Prometheus round trip), the
// alert's state in Prometheus, and the healing service's rows, all through @selfheal/contracts (one Prometheus
// client, one exposition parser, the API's row schemas).
import {
  PrometheusClient,
  SCORE_FAMILIES,
  parseActionsResponse,
  parseApprovalsResponse,
  parseAuditResponse,
  parseIncidentsResponse,
  parseRevertsResponse,
  scrapeMetrics,
  type ActionRow,
  type ApprovalRow,
  type AuditRow,
  type ExposedSample,
  type IncidentRow,
  type RevertRow,
} from '@selfheal/contracts';

export interface EntityScore {
  score: number;
  health: number;
  feature: string | undefined;
}

const { anomalyScore, healthScore, topFeature } = SCORE_FAMILIES;

/** Scores per service from the exporter's samples (the anomaly score, health score and top feature families). */
export function scoresFrom(samples: readonly ExposedSample[]): Map<string, EntityScore> {
  const scores = new Map<string, EntityScore>();
  const entry = (service: string): EntityScore => {
    let e = scores.get(service);
    if (!e) scores.set(service, (e = { score: Number.NaN, health: Number.NaN, feature: undefined }));
    return e;
  };
  for (const s of samples) {
    const service = s.labels.service;
    if (!service) continue;
    if (s.name === anomalyScore.name) entry(service).score = s.value;
    else if (s.name === healthScore.name) entry(service).health = s.value;
    else if (s.name === topFeature.name && s.value === 1) entry(service).feature = s.labels.feature;
  }
  return scores;
}

/** Scores per service from the exporter's /metrics. */
export async function exporterScores(exporterUrl: string): Promise<Map<string, EntityScore>> {
  return scoresFrom(await scrapeMetrics(`${exporterUrl}/metrics`, { timeoutMs: 3000 }));
}

export interface FiringAnomaly {
  feature: string | undefined;
  severity: string | undefined;
}

/** SelfhealAnomaly alerts firing in Prometheus, by service. */
export async function firingAnomalies(prometheus: PrometheusClient): Promise<Map<string, FiringAnomaly>> {
  const firing = new Map<string, FiringAnomaly>();
  for (const alert of await prometheus.alerts()) {
    if (alert.labels.alertname !== 'SelfhealAnomaly' || alert.state !== 'firing' || !alert.labels.service) continue;
    firing.set(alert.labels.service, { feature: alert.labels.feature, severity: alert.labels.severity });
  }
  return firing;
}

async function apiGet(webhookUrl: string, token: string, path: string): Promise<{ endpoint: string; body: unknown }> {
  const url = `${webhookUrl}${path}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(3000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} answered ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { endpoint: `GET ${url} (HTTP ${response.status})`, body };
}

const query = (params: Record<string, string | number | undefined>): string => {
  const defined = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return defined.length ? `?${new URLSearchParams(defined.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : '';
};

/** The healing service's action rows (GET /api/v1/actions), newest first. */
export async function healingActions(webhookUrl: string, token: string, service?: string): Promise<ActionRow[]> {
  const { endpoint, body } = await apiGet(webhookUrl, token, `/api/v1/actions${query({ service })}`);
  return parseActionsResponse(body, endpoint);
}

/** Approvals of one status (GET /api/v1/approvals?status=), newest first. */
export async function healingApprovals(webhookUrl: string, token: string, service?: string, status?: ApprovalRow['status']): Promise<ApprovalRow[]> {
  const { endpoint, body } = await apiGet(webhookUrl, token, `/api/v1/approvals${query({ status, service })}`);
  return parseApprovalsResponse(body, endpoint);
}

/** Decides an approval as a person does (POST /api/v1/approvals/{id}); a refusal (404, 409) is an error naming it. */
export async function decideApproval(webhookUrl: string, token: string, id: number, decision: { decision: 'approve' | 'reject'; by: string; reason: string }): Promise<ApprovalRow> {
  const url = `${webhookUrl}/api/v1/approvals/${id}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(decision),
    signal: AbortSignal.timeout(3000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { status?: unknown; data?: unknown };
  const [row] = parseApprovalsResponse({ status: body.status, data: [body.data] }, `POST ${url} (HTTP ${response.status})`);
  return row as ApprovalRow;
}

/** The reverts of fixes that undo themselves (GET /api/v1/reverts), newest first. */
export async function healingReverts(webhookUrl: string, token: string, service?: string): Promise<RevertRow[]> {
  const { endpoint, body } = await apiGet(webhookUrl, token, `/api/v1/reverts${query({ service })}`);
  return parseRevertsResponse(body, endpoint);
}

/** The healing service's incidents (GET /api/v1/incidents), newest first. */
export async function healingIncidents(webhookUrl: string, token: string, service?: string): Promise<IncidentRow[]> {
  const { endpoint, body } = await apiGet(webhookUrl, token, `/api/v1/incidents${query({ service })}`);
  return parseIncidentsResponse(body, endpoint);
}

/** The healing service's audit log (GET /api/v1/audit), of one incident when given, newest first. */
export async function healingAudit(webhookUrl: string, token: string, incidentId?: number): Promise<AuditRow[]> {
  const { endpoint, body } = await apiGet(webhookUrl, token, `/api/v1/audit${query({ incident: incidentId })}`);
  return parseAuditResponse(body, endpoint);
}
