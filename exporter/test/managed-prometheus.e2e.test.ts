// The exporter reading "managed" Prometheus end to end (no AWS or Azure account here): a fixture target scraped by a
// real Prometheus with backfilled history, behind a local reverse proxy on 127.0.0.1 that plays the managed
// endpoint. SigV4: the proxy recomputes every signature (Amazon Managed Service for Prometheus's check), the
// exporter's credentials come from the environment through the AWS SDK's default chain. Azure: the proxy accepts
// only tokens a local IMDS endpoint issued to DefaultAzureCredential.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearerCheck, sigv4Check, startAuthProxy, startImdsTokenEndpoint, startStack, waitFor, type AuthProxy, type ImdsTokenEndpoint, type Stack } from '@selfheal/stack';
import { matchingSamples as series, parseExposition } from '@selfheal/contracts';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseExporterConfig } from '../src/config/load.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { ExporterService } from '../src/runner/exporter-service.js';
import { FIXTURE_FEATURES, backfillFixtureHistory, startFixtureTarget, type FixtureTarget } from './fixtures/fixture-target.js';

const SERVICES = ['checkout', 'cart'];
const HISTORY_SECONDS = 10 * 60;
const SECRET = { accessKeyId: 'AKIDEXPORTERTEST', secretAccessKey: 'exporter-test-secret' };
const factory = defaultDetectorFactory();

let fixture: FixtureTarget;
let stack: Stack;
let work: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fixture = await startFixtureTarget(SERVICES);
  work = mkdtempSync(join(tmpdir(), 'selfheal-managed-prom-'));
  const historyEnd = Math.floor(Date.now() / 1000) + 30;
  const dataDir = backfillFixtureHistory(work, SERVICES, HISTORY_SECONDS + 30, { job: 'fixture', instance: fixture.address }, historyEnd);
  stack = await startStack({ scrapeTargets: { fixture: [fixture.address] }, withAlertmanager: false, includeShippedRules: false, prometheusDataDir: dataDir });
  await stack.waitForTargetsUp(['fixture']);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await fixture?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

function configText(url: string, auth: string): string {
  return `
prometheus:
  url: ${url}
  timeout: 5s
  retries: 0
  auth:
${auth}
listen: 127.0.0.1:0
groups:
  - name: services
    groupBy: [service]
    features:
${Object.entries(FIXTURE_FEATURES).map(([name, promql]) => `      ${name}: '${promql}'`).join('\n')}
    schedule:
      interval: 1s
      trainWindow: ${HISTORY_SECONDS}s
`;
}

const parseExpositionText = (text: string) => parseExposition(text, 'exporter /metrics');

async function scoresOf(service: ExporterService): Promise<string[]> {
  await waitFor(async () => service.ready, { what: 'the first (training) cycle', timeoutMs: 60_000, intervalMs: 200 });
  await service.runCycles();
  const exposed = await waitFor(
    async () => {
      const text = await service.metricsText();
      const samples = series(parseExpositionText(text), 'selfheal_anomaly_score');
      return samples.length === SERVICES.length ? samples : undefined;
    },
    { what: 'scores for every service', timeoutMs: 30_000, intervalMs: 200 },
  );
  return exposed.map((s) => s.labels.service ?? '').sort();
}


describe('exporter with prometheus.auth.sigv4 through a local SigV4-verifying proxy (no AWS account here)', () => {
  let proxy: AuthProxy;
  beforeAll(async () => {
    proxy = await startAuthProxy({ upstream: stack.prometheusUrl, prefix: '/workspaces/ws-exporter-test', check: sigv4Check(SECRET, { region: 'us-west-2', service: 'aps' }) });
  });
  afterAll(async () => proxy?.close());

  it('trains from the history and scores every service; every query_range and query was signed and verified', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    process.env.AWS_ACCESS_KEY_ID = SECRET.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET.secretAccessKey;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const config = parseExporterConfig(configText(proxy.url, '    sigv4:\n      region: us-west-2'), 'managed.yml', factory);
    expect(config.prometheus.auth).toEqual({ sigv4: { region: 'us-west-2', service: 'aps' } });
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false });
    try {
      await service.start();
      expect(await scoresOf(service)).toEqual([...SERVICES].sort());
      const paths = new Set(proxy.requests.map((r) => r.target));
      expect(paths).toEqual(new Set(['/workspaces/ws-exporter-test/api/v1/query_range', '/workspaces/ws-exporter-test/api/v1/query']));
      expect(proxy.requests.filter((r) => !r.ok)).toEqual([]);
      expect(proxy.requests.every((r) => r.authorization?.startsWith(`AWS4-HMAC-SHA256 Credential=${SECRET.accessKeyId}/`))).toBe(true);
      const samples = parseExpositionText(await service.metricsText());
      expect(series(samples, 'selfheal_prometheus_requests_total', { outcome: 'client_error' })[0]?.value ?? 0).toBe(0);
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('with the wrong secret the proxy refuses (403) and the exporter counts client errors, no scores', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    process.env.AWS_ACCESS_KEY_ID = SECRET.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    const config = parseExporterConfig(configText(proxy.url, '    sigv4:\n      region: us-west-2'), 'managed.yml', factory);
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false });
    try {
      await service.start();
      await service.runCycles();
      const samples = parseExpositionText(await service.metricsText());
      expect(series(samples, 'selfheal_prometheus_requests_total', { outcome: 'client_error' })[0]?.value ?? 0).toBeGreaterThan(0);
      expect(series(samples, 'selfheal_anomaly_score')).toEqual([]);
      expect(proxy.requests.at(-1)).toMatchObject({ ok: false, reason: 'signature does not match' });
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('no AWS credentials anywhere: start() fails naming the provider chain and what to set', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'no-credentials');
    process.env.AWS_CONFIG_FILE = join(work, 'no-config');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const config = parseExporterConfig(configText(proxy.url, '    sigv4:\n      region: us-west-2'), 'managed.yml', factory);
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false });
    const before = proxy.requests.length;
    await expect(service.start()).rejects.toThrow(/^prometheus\.auth\.sigv4: no AWS credentials: the AWS default provider chain found nothing.*AWS_WEB_IDENTITY_TOKEN_FILE/s);
    expect(proxy.requests.length).toBe(before);
    await service.stop();
  }, 30_000);
});

describe('exporter with prometheus.auth.azure: a managed identity token from a local IMDS endpoint (no Azure account here)', () => {
  let imds: ImdsTokenEndpoint;
  let proxy: AuthProxy;
  beforeAll(async () => {
    imds = await startImdsTokenEndpoint();
    proxy = await startAuthProxy({ upstream: stack.prometheusUrl, check: bearerCheck((token) => imds.issued.includes(token)) });
  });
  afterAll(async () => {
    await proxy?.close();
    await imds?.close();
  });

  it('trains and scores with the Entra token on every request, fetched once', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AZURE_') || k.startsWith('IDENTITY_') || k.startsWith('MSI_')) delete process.env[k];
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
    const config = parseExporterConfig(configText(proxy.url, '    azure: {}'), 'managed.yml', factory);
    const service = new ExporterService({ config, factory, logger: pino({ level: 'silent' }), processMetrics: false });
    try {
      await service.start();
      expect(await scoresOf(service)).toEqual([...SERVICES].sort());
      expect(imds.requests.map((r) => r.resource)).toEqual(['https://prometheus.monitor.azure.com']);
      expect(proxy.requests.length).toBeGreaterThan(2);
      expect(proxy.requests.every((r) => r.ok && r.authorization === 'Bearer imds-token-1')).toBe(true);
    } finally {
      await service.stop();
    }
  }, 120_000);
});

