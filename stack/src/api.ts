// Minimal reads of Alertmanager's HTTP API and the servers' readiness, for tests. Prometheus's API is read
// through the one client in @selfheal/contracts (Stack.prometheusClient).

/** An alert as Alertmanager's v2 API returns it. */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export async function amAlerts(alertmanagerUrl: string): Promise<AmAlert[]> {
  return getJson<AmAlert[]>(`${alertmanagerUrl}/api/v2/alerts`);
}

/** True when GET url/-/ready answers 200. */
export async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/-/ready`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
