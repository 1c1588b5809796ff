// The efficacy ledger's demotions through the healing service's API: GET /api/v1/demotions (?status=) and
// POST /api/v1/demotions/{target}/{action}/lift. Rows are checked (zod): a field that does not match is named.
import { z } from 'zod';

export const demotionRowSchema = z.object({
  id: z.number().int(),
  target: z.string(),
  action: z.string(),
  status: z.enum(['active', 'lifted']),
  demoted_at: z.number(),
  attempts: z.number().int(),
  successes: z.number().int(),
  success_ratio: z.number(),
  floor: z.number(),
  window_seconds: z.number(),
  reason: z.string(),
  lifted_at: z.number().nullable(),
  lifted_by: z.string().nullable(),
  lift_reason: z.string().nullable(),
});
export type DemotionRow = z.infer<typeof demotionRowSchema>;

async function call(url: string, token: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(3000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { status?: unknown; data?: unknown };
  if (body.status !== 'success') throw new Error(`${init.method ?? 'GET'} ${url}: status ${String(body.status)}, not success`);
  return body.data;
}

function rows(data: unknown, where: string): DemotionRow[] {
  const parsed = z.array(demotionRowSchema).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: demotion row field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'does not match'}`);
  }
  return parsed.data;
}

/** The demotions (GET /api/v1/demotions), newest first. */
export async function healingDemotions(webhookUrl: string, token: string, status?: 'active' | 'lifted'): Promise<DemotionRow[]> {
  const url = `${webhookUrl}/api/v1/demotions${status ? `?status=${status}` : ''}`;
  return rows(await call(url, token), `GET ${url}`);
}

/** A person lifts the active demotion of `action` on `target`; the lifted row. */
export async function liftDemotion(webhookUrl: string, token: string, target: string, action: string, body: { by: string; reason: string }): Promise<DemotionRow> {
  const url = `${webhookUrl}/api/v1/demotions/${encodeURIComponent(target)}/${encodeURIComponent(action)}/lift`;
  const [row] = rows([await call(url, token, { method: 'POST', body: JSON.stringify(body) })], `POST ${url}`);
  return row as DemotionRow;
}
