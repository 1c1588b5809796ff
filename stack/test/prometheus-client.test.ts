// The one Prometheus client (@selfheal/contracts) against a real Prometheus started by the stack: each call the
// demo and the tests use, and Prometheus's own error for a bad query carried in the message.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusError } from '@selfheal/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../src/stack.js';
import { waitFor } from '../src/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'selfheal-prom-client-'));
let stack: Stack;

beforeAll(async () => {
  const rules = join(dir, 'always.yml');
  writeFileSync(rules, 'groups:\n  - name: always\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n        labels: { severity: none }\n');
  stack = await startStack({ withAlertmanager: false, includeShippedRules: false, ruleFiles: [rules], scrapeInterval: '1s', evaluationInterval: '1s' });
  await waitFor(async () => ((await stack.prometheusClient.query('count_over_time(up{job="prometheus"}[1m])'))[0]?.value ?? 0) >= 2, {
    what: 'two self-scrapes',
    timeoutMs: 30_000,
    intervalMs: 200,
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('PrometheusClient against a real Prometheus', () => {
  it('instant query', async () => {
    const [up] = await stack.prometheusClient.query('up{job="prometheus"}');
    expect(up).toMatchObject({ metric: { __name__: 'up', job: 'prometheus' }, value: 1 });
    expect(Math.abs((up?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('range query', async () => {
    const end = Date.now() / 1000;
    const [series] = await stack.prometheusClient.queryRange('up{job="prometheus"}', { start: end - 30, end, stepSeconds: 1 });
    expect(series?.metric.job).toBe('prometheus');
    expect(series?.values.length).toBeGreaterThan(0);
    expect(series?.values.every(([t, v]) => t <= end + 1 && v === 1)).toBe(true);
  });

  it('series', async () => {
    expect(await stack.prometheusClient.series(['up'])).toContainEqual(expect.objectContaining({ __name__: 'up', job: 'prometheus' }));
  });

  it('alerts and targets', async () => {
    await waitFor(async () => (await stack.prometheusClient.alerts()).some((a) => a.labels.alertname === 'AlwaysFiring' && a.state === 'firing'), {
      what: 'AlwaysFiring to fire',
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(await stack.prometheusClient.targets()).toContainEqual(expect.objectContaining({ labels: expect.objectContaining({ job: 'prometheus' }), health: 'up' }));
  });

  it("a bad query is an error naming the URL, the query and Prometheus's error", async () => {
    const failure = await stack.prometheusClient.query('up{').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PrometheusError);
    expect(failure).toMatchObject({ status: 400, errorType: 'bad_data', retryable: false });
    expect((failure as Error).message).toContain(`${stack.prometheusUrl}/api/v1/query (query up{): HTTP 400: bad_data: `);
    expect((failure as Error).message).toMatch(/parse error/);
  });

  it('a scalar is not a vector', async () => {
    await expect(stack.prometheusClient.query('scalar(vector(1))')).rejects.toThrow(/returned a scalar, expected a vector/);
  });
});
