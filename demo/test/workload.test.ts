// The demo workload over real HTTP with real child processes: the load balancer, the metrics, the admin API,
// and each repair mechanism doing its job for real (no flag that resets a metric).
import { describe, expect, it } from 'vitest';
import { sampleValue, scrapeMetrics } from '@selfheal/contracts';
import { callAdmin, type AdminAnswer } from './support/admin.js';
import { useWorkload } from './support/workload.js';

const SERVICES = [
  { name: 'shop', dependency: 'payments', replicas: 3, maxReplicas: 6, rps: 5, cpuMsPerRequest: 1 },
  { name: 'tiny', dependency: 'ledger', replicas: 1, maxReplicas: 2, rps: 5, cpuMsPerRequest: 1 },
];

const workload = useWorkload(SERVICES);

interface Answer {
  status: number;
  instance: string | null;
  ms: number;
  body: { source?: string; item?: { fallback?: boolean }; error?: string };
}

async function get(path: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${workload().url}${path}`);
  const body = (await response.json()) as Answer['body'];
  return { status: response.status, instance: response.headers.get('x-instance'), ms: performance.now() - started, body };
}

/** `n` requests, `parallel` at a time. */
async function burst(n: number, item = (i: number) => i % 5, parallel = 3): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - i) }, (_, k) => get(`/svc/shop/items/${item(i + k)}`));
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}

const admin = (path: string, body?: unknown, method = 'POST'): Promise<AdminAnswer> => callAdmin(workload().url, path, body, method);

function countBy(answers: Answer[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a.instance ?? '?', (counts.get(a.instance ?? '?') ?? 0) + 1);
  return counts;
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  return sampleValue(await scrapeMetrics(`${workload().url}/metrics`), name, labels);
}

describe('demo workload', () => {
  it('balances requests round robin over the instances and answers from the dependency', async () => {
    const answers = await burst(30);
    expect(answers.every((a) => a.status === 200 && a.body.source === 'dependency')).toBe(true);
    const counts = countBy(answers);
    expect(counts.size).toBe(3);
    for (const n of counts.values()) expect(n).toBe(10);
  });

  it('exposes RED, CPU and memory metrics labelled by service and instance on one endpoint', async () => {
    await burst(6);
    const text = await (await fetch(`${workload().url}/metrics`)).text();
    for (const instance of ['shop-1', 'shop-2', 'shop-3', 'tiny-1']) {
      expect(text).toContain(`demo_http_requests_total{code="200",service="${instance.split('-')[0]}",instance="${instance}"}`);
    }
    expect(text).toMatch(/process_cpu_seconds_total\{service="shop",instance="shop-1"\} [\d.]+/);
    expect(text).toMatch(/process_resident_memory_bytes\{service="shop",instance="shop-2"\} \d+/);
    expect(text).toMatch(/demo_http_request_duration_seconds_bucket\{le="0.05",service="shop",instance="shop-3"\} \d+/);
    expect(text).toMatch(/demo_service_replicas\{service="shop"\} 3/);
  });

  it('scale up adds instances to the rotation, so each instance takes a smaller share of the load', async () => {
    const before = countBy(await burst(30));
    const scaled = await admin('/services/shop/scale', { delta: 3 });
    expect(scaled.json).toMatchObject({ from: 3, to: 6 });
    const after = countBy(await burst(30));
    expect(after.size).toBe(6);
    expect(Math.max(...after.values())).toBe(5);
    expect(Math.max(...before.values())).toBe(10);
    // Bounded by maxReplicas, and back down.
    expect((await admin('/services/shop/scale', { replicas: 7 })).status).toBe(400);
    expect((await admin('/services/shop/scale', { replicas: 3 })).json).toMatchObject({ from: 6, to: 3 });
    expect(countBy(await burst(9)).size).toBe(3);
  });

  it('restart replaces the leaking processes and really frees the leaked memory', async () => {
    const rss = async (instance: string) => (await metricValue('process_resident_memory_bytes', { instance })) ?? 0;
    const leak = await admin('/services/shop/faults/memory_leak', { leakBytesPerSecond: 32 * 1024 * 1024, leakCapBytes: 48 * 1024 * 1024 });
    expect(leak.status).toBe(200);
    const [first] = workload().state().find((s) => s.service === 'shop')?.instances ?? [];
    const name = first?.instance ?? 'missing';
    const baseline = await rss(name);
    const deadline = Date.now() + 10_000;
    while ((await metricValue('demo_leaked_bytes', { instance: name })) !== 48 * 1024 * 1024 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const leaked = await rss(name);
    expect(leaked - baseline).toBeGreaterThan(40 * 1024 * 1024);

    const restarted = await admin('/services/shop/restart');
    expect(restarted.status).toBe(200);
    const fresh = (restarted.json.started as string[]) ?? [];
    expect(fresh).toHaveLength(3);
    expect(restarted.json.replaced).toContain(name);
    const state = workload().state().find((s) => s.service === 'shop');
    expect(state?.instances.map((i) => i.instance).sort()).toEqual([...fresh].sort());
    expect(state?.instances.some((i) => i.pid === first?.pid)).toBe(false);
    for (const instance of fresh) {
      expect(await metricValue('demo_leaked_bytes', { instance })).toBe(0);
      expect(await rss(instance)).toBeLessThan(leaked - 30 * 1024 * 1024);
    }
    // The old process and its series are gone; the fresh ones serve.
    expect(await metricValue('process_resident_memory_bytes', { instance: name })).toBeUndefined();
    expect((await burst(6)).every((a) => a.status === 200 && fresh.includes(a.instance ?? ''))).toBe(true);
    await admin('/services/shop/faults', undefined, 'DELETE');
  });

  it('the cache really serves the slow path from memory', async () => {
    await admin('/services/shop/faults/slow_dependency', { latencyMs: 300 });
    const slow = await burst(6, () => 1);
    expect(slow.every((a) => a.status === 200 && a.ms >= 290 && a.body.source === 'dependency')).toBe(true);

    await admin('/services/shop/cache', { enabled: true });
    await burst(3, () => 1); // one miss per instance fills each instance's cache
    const cached = await burst(12, () => 1);
    expect(cached.every((a) => a.status === 200 && a.body.source === 'cache')).toBe(true);
    expect(Math.max(...cached.map((a) => a.ms))).toBeLessThan(150);
    expect(await metricValue('demo_dependency_requests_total', { outcome: 'cache_hit' })).toBeGreaterThan(0);

    await admin('/services/shop/cache', { enabled: false });
    expect((await burst(3, () => 1)).every((a) => a.body.source === 'dependency')).toBe(true);
    await admin('/services/shop/faults', undefined, 'DELETE');
  });

  it('a slow dependency whose answers cannot be cached (cacheable: false) stays slow with the cache on', async () => {
    const injected = await admin('/services/shop/faults/slow_dependency', { latencyMs: 300, cacheable: false });
    expect(injected.json).toMatchObject({ latencyMs: 300, cacheable: false });
    await admin('/services/shop/cache', { enabled: true });
    await burst(3, () => 1);
    const again = await burst(6, () => 1);
    expect(again.every((a) => a.status === 200 && a.ms >= 290 && a.body.source === 'dependency')).toBe(true);
    await admin('/services/shop/cache', { enabled: false });
    await admin('/services/shop/faults', undefined, 'DELETE');
  });

  it('an open circuit breaker fails fast with a fallback instead of the failing dependency', async () => {
    await admin('/services/shop/faults/failing_dependency', { errorRatio: 1 });
    const failing = await burst(9);
    expect(failing.every((a) => a.status === 502)).toBe(true);

    await admin('/services/shop/faults/slow_dependency', { latencyMs: 300 });
    await admin('/services/shop/circuit-breaker', { open: true });
    const open = await burst(9);
    expect(open.every((a) => a.status === 200 && a.body.item?.fallback === true && a.body.source === 'fallback')).toBe(true);
    // Fast even though the dependency now takes 300 ms: it is not called at all.
    expect(Math.max(...open.map((a) => a.ms))).toBeLessThan(150);

    await admin('/services/shop/circuit-breaker', { open: false });
    expect((await burst(3)).every((a) => a.status === 502)).toBe(true);
    await admin('/services/shop/faults', undefined, 'DELETE');
  });

  it('quarantine takes the worst instance out of rotation, which removes its errors', async () => {
    const injected = await admin('/services/shop/faults/bad_instance', { errorRatio: 1 });
    const bad = injected.json.instance as string;
    const before = await burst(30);
    const failed = before.filter((a) => a.status === 500);
    expect(failed).toHaveLength(10);
    expect(new Set(failed.map((a) => a.instance))).toEqual(new Set([bad]));

    const quarantined = await admin('/services/shop/quarantine', {});
    expect(quarantined.json.instance).toBe(bad);
    const after = await burst(30);
    expect(after.every((a) => a.status === 200 && a.instance !== bad)).toBe(true);
    expect(await metricValue('demo_service_replicas', { service: 'shop' })).toBe(2);

    // The explicit form, and the guard that keeps the last instance in rotation.
    expect((await admin('/services/tiny/quarantine', {})).status).toBe(409);
    expect((await admin(`/services/shop/instances/${bad}/quarantine`, { quarantined: false })).status).toBe(200);
    expect(countBy(await burst(30)).get(bad)).toBe(10);
    await admin('/services/shop/faults', undefined, 'DELETE');
  });

  it('rejects bad admin requests with messages naming what is wrong', async () => {
    const unknown = await admin('/services/nope/restart');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/unknown service "nope"; known: shop, tiny/);
    const both = await admin('/services/shop/scale', { replicas: 2, delta: 1 });
    expect(both.status).toBe(400);
    expect(both.json.error).toMatch(/exactly one of "replicas"/);
    const typo = await admin('/services/shop/cache', { enable: true });
    expect(typo.status).toBe(400);
    expect(typo.json.error).toMatch(/cache shop/);
    const badJson = await admin('/services/shop/circuit-breaker', '{"open": tru');
    expect(badJson.status).toBe(400);
    const kind = await admin('/services/shop/faults/disk_full', {});
    expect(kind.status).toBe(404);
    expect(kind.json.error).toMatch(/cpu_saturation/);
  });

  it('reset brings every service back to its start state with clean processes', async () => {
    await admin('/services/shop/scale', { replicas: 5 });
    await admin('/services/shop/cache', { enabled: true });
    await admin('/services/shop/faults/bad_instance', { errorRatio: 1 });
    await admin('/services/shop/faults/cpu_saturation', { loadMultiplier: 3 });
    const reset = await admin('/reset');
    expect(reset.status).toBe(200);
    const shop = workload().state().find((s) => s.service === 'shop');
    expect(shop).toMatchObject({ replicas: 3, cacheEnabled: false, breakerOpen: false, faults: {} });
    expect((await burst(12)).every((a) => a.status === 200)).toBe(true);
  });
});
