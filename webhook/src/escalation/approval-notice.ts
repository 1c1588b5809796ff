// The message that asks people to approve an action (approve mode), sent through the Slack-compatible escalation
// webhook: what would run where, the alert's evidence (which feature drove the anomaly, its score: the labels and
// annotations the shipped alerting rules set), until when, and the approve link with the request to send.
import type { ApprovalRecord } from '../audit/approvals.js';
import type { IncidentRow } from '../audit/types.js';
import type { Config } from '../config/schema.js';

/** What the alert said when the approval was asked for (stored with the approval, shown to people). */
export function approvalEvidence(inc: Pick<IncidentRow, 'labels' | 'annotations' | 'fingerprint' | 'starts_at'>): Record<string, string> {
  const labels = JSON.parse(inc.labels) as Record<string, string>;
  const annotations = JSON.parse(inc.annotations) as Record<string, string>;
  const evidence: Record<string, string> = { alert: labels.alertname ?? '', fingerprint: inc.fingerprint, startsAt: inc.starts_at };
  if (labels.feature !== undefined) evidence.feature = labels.feature;
  // The shipped rules write the score in the anomaly_score annotation (prometheus/rules/selfheal-alerts.yml).
  const score = annotations.anomaly_score ?? labels.anomaly_score;
  if (score !== undefined) evidence.score = score;
  if (annotations.summary !== undefined) evidence.summary = annotations.summary;
  return evidence;
}

/** The service's URL as people reach it: `externalUrl`, or the listen address. */
export function externalBase(config: Pick<Config, 'externalUrl' | 'listen'>): string {
  if (config.externalUrl) return config.externalUrl.replace(/\/+$/, '');
  const listen = config.listen.startsWith(':') ? `localhost${config.listen}` : config.listen;
  return `http://${listen}`;
}

export function approvalLink(config: Pick<Config, 'externalUrl' | 'listen'>, id: number): string {
  return `${externalBase(config)}/api/v1/approvals/${id}`;
}

export function approvalNotice(config: Pick<Config, 'externalUrl' | 'listen'>, row: ApprovalRecord, rule: string): { text: string; fields: Record<string, string> } {
  const evidence = JSON.parse(row.evidence) as Record<string, string>;
  const link = approvalLink(config, row.id);
  const until = new Date(row.expires_at * 1000).toISOString();
  const why = [evidence.feature ? `feature ${evidence.feature}` : '', evidence.score ? `score ${evidence.score}` : ''].filter(Boolean).join(', ');
  const text = `:raised_hand: Selfheal asks to approve ${row.action} on ${row.target} (${row.service})`
    + `${evidence.alert ? ` for ${evidence.alert}${why ? ` (${why})` : ''}` : ''}. Approve or reject before ${until}: ${link}`;
  const fields: Record<string, string> = {
    approval: String(row.id), service: row.service, action: row.action, target: row.target, rule,
    ...evidence,
    expires: until,
    approve: link,
    request: `POST ${link} with {"decision": "approve" | "reject", "by": "<who>", "reason": "<why>"} and the service's credentials`,
  };
  return { text, fields };
}
