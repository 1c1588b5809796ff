// Fault injection from the command line (`selfheal demo inject`): a thin client of the admin API.
import { FAULT_KINDS, type FaultKind } from './spec.js';

export async function injectOverHttp(url: string, service: string, kind: FaultKind | 'clear', params: Record<string, number | string | boolean>): Promise<unknown> {
  if (kind !== 'clear' && !FAULT_KINDS.includes(kind)) throw new Error(`unknown fault "${kind}"; choose from ${FAULT_KINDS.join(', ')} or clear`);
  const base = `${url.replace(/\/+$/, '')}/admin/services/${encodeURIComponent(service)}/faults`;
  const response = await fetch(kind === 'clear' ? base : `${base}/${kind}`, {
    method: kind === 'clear' ? 'DELETE' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(kind === 'clear' ? {} : { body: JSON.stringify(params) }),
    signal: AbortSignal.timeout(30_000),
  });
  const body: unknown = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status}: ${(body as { error?: string }).error ?? JSON.stringify(body)}`);
  return body;
}

/** key=value pairs; numeric values become numbers, true and false booleans (cacheable=false). */
export function parseParams(pairs: readonly string[]): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`fault parameter "${pair}" is not KEY=VALUE (e.g. latencyMs=400)`);
    const value = pair.slice(eq + 1);
    out[pair.slice(0, eq)] = value === 'true' || value === 'false' ? value === 'true' : value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}
