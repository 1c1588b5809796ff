// Minimal typed reads of the Prometheus and Alertmanager HTTP APIs, for tests and the demo's live view.
// (The exporter has its own full client with retries and metrics; this one only needs to be correct.)

export interface PromSample {
  metric: Record<string, string>;
  value: number;
  timestamp: number;
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

/** An alert as Alertmanager's v2 API returns it. */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
}

interface PromEnvelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function promData<T>(url: string): Promise<T> {
  const body = await getJson<PromEnvelope<T>>(url);
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`GET ${url}: ${body.errorType ?? 'error'}: ${body.error ?? 'no data'}`);
  }
  return body.data;
}

/** Instant query; returns the vector's samples (scalars and strings are rejected). */
export async function promQuery(prometheusUrl: string, promql: string): Promise<PromSample[]> {
  const data = await promData<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  if (data.resultType !== 'vector') throw new Error(`query ${promql} returned a ${data.resultType}, expected a vector`);
  return data.result.map((r) => ({ metric: r.metric, timestamp: r.value[0], value: Number(r.value[1]) }));
}

export async function promTargets(prometheusUrl: string): Promise<PromTarget[]> {
  const data = await promData<{ activeTargets: PromTarget[] }>(`${prometheusUrl}/api/v1/targets?state=active`);
  return data.activeTargets;
}

export async function promAlerts(prometheusUrl: string): Promise<PromAlert[]> {
  const data = await promData<{ alerts: PromAlert[] }>(`${prometheusUrl}/api/v1/alerts`);
  return data.alerts;
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
