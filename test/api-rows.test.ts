// The healing service's API rows as @selfheal/contracts declares them, checked against the real service over
// real HTTP: a repair carried out through its HTTP actuator (a small admin server here) and a dry run, then
// GET /api/v1/actions, /incidents and /audit parsed with the contracts' strict schemas (a field added, dropped
// or of another type fails with its name). The demo and the closed-loop test read the API through them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseActionsResponse, parseAuditResponse, parseIncidentsResponse, parseRevertsResponse } from '@selfheal/contracts';
import { createHealer, parseConfig, type Healer } from '@selfheal/webhook';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'api-rows-test-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'selfheal-api-rows-'));
let admin: Server;
let healer: Healer;
let url: string;

const alert = (service: string) => ({
  status: 'firing',
  labels: { alertname: 'SelfhealAnomaly', service, feature: 'cpu_usage', group: 'shop', severity: 'warning' },
  annotations: { summary: `Anomaly in ${service}` },
  startsAt: new Date(Date.now() - 1000).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://127.0.0.1:9090/graph',
  fingerprint: service === 'checkout' ? 'a1b2c3d4e5f60718' : '0f1e2d3c4b5a6978',
});

async function get(path: string): Promise<unknown> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  admin = createServer((_req, res) => res.end('{"replicas":4}'));
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const config = parseConfig({
    auth: { type: 'bearer', tokenFile: join(dir, 'token') },
    store: { path: join(dir, 'healer.db') },
    actuators: { admin: { type: 'http', retries: 0 } },
    // The revert of checkout's fix is due in an hour: its row is written (waiting) when the fix succeeds (applied,
    // not verified: verify false), and Prometheus is not asked before then.
    prometheus: { url: 'http://127.0.0.1:9' },
    targets: {
      checkout: { actuator: 'admin', actions: { scale_up: { url: `${adminUrl}/scale`, revertAfter: '1h', revert: { url: `${adminUrl}/scale`, body: { delta: -1 } } } } },
      catalog: { actuator: 'admin', actions: { scale_up: { url: `${adminUrl}/scale` } } },
    },
    rules: [
      { name: 'checkout', matchers: ['service = checkout'], target: 'checkout', verify: false },
      { name: 'catalog', matchers: ['service = catalog'], target: 'catalog', dryRun: true },
    ],
  });
  healer = createHealer(config, { logger: pino({ level: 'silent' }), defaultMetrics: false });
  url = await healer.listen(0, '127.0.0.1');
  const body = {
    receiver: 'selfheal-healer', status: 'firing', alerts: [alert('checkout'), alert('catalog')], groupLabels: {}, commonLabels: {},
    commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093', version: '4', groupKey: '{}:{}', truncatedAlerts: 0,
  };
  const response = await fetch(`${url}/api/v1/alerts`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(200);
  await healer.engine.idle();
}, 30_000);

afterAll(async () => {
  await healer?.close();
  await new Promise<void>((resolve) => admin?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe("the healing service's API rows match @selfheal/contracts (real service, real HTTP)", () => {
  it('GET /api/v1/actions', async () => {
    const rows = parseActionsResponse(await get('/api/v1/actions'));
    expect(rows.map((r) => [r.service, r.action, r.status])).toEqual(
      expect.arrayContaining([['checkout', 'scale_up', expect.any(String)], ['catalog', 'scale_up', 'dry_run']]),
    );
  });

  it('GET /api/v1/incidents', async () => {
    const rows = parseIncidentsResponse(await get('/api/v1/incidents'));
    expect(rows.map((r) => r.service).sort()).toEqual(['catalog', 'checkout']);
    expect(rows[0]?.labels.alertname).toBe('SelfhealAnomaly');
  });

  it('GET /api/v1/reverts', async () => {
    const rows = parseRevertsResponse(await get('/api/v1/reverts'));
    expect(rows.map((r) => [r.service, r.action, r.status, r.after_seconds])).toEqual([['checkout', 'scale_up', 'waiting', 3600]]);
  });

  it('GET /api/v1/audit', async () => {
    const rows = parseAuditResponse(await get('/api/v1/audit'));
    expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(['received', 'matched', 'dry_run']));
  });
});
