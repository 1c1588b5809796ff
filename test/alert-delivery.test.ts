// Foundation end-to-end: the shipped rule and Alertmanager config, on the real Prometheus and Alertmanager.
// A tiny target publishes what the exporter would; the alert fires and resolves; Alertmanager delivers webhook
// payloads (version 4, bearer token) to a receiver in the test.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveProcesses, startStack, waitFor, type Stack } from '@selfheal/stack';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: {
    version: string;
    status: 'firing' | 'resolved';
    receiver: string;
    groupKey: string;
    externalURL: string;
    truncatedAlerts: number;
    alerts: {
      status: 'firing' | 'resolved';
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
      generatorURL: string;
      fingerprint: string;
    }[];
  };
}

/** Listens on a port the kernel picks (no window in which another test can take it, as a port probed first has). */
function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('alert delivery through real Prometheus and Alertmanager', () => {
  const token = 'e2e-token-3f9a';
  let score = 0.3;
  const deliveries: Delivery[] = [];
  let target: Server;
  let receiver: Server;
  let stack: Stack;

  beforeAll(async () => {
    target = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# TYPE selfheal_anomaly_score gauge',
          `selfheal_anomaly_score{group="e2e",service="checkout"} ${score}`,
          '# TYPE selfheal_anomaly_top_feature_info gauge',
          'selfheal_anomaly_top_feature_info{group="e2e",service="checkout",feature="cpu"} 1',
          '',
        ].join('\n'),
      );
    });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Delivery['body'] });
        res.end('ok');
      });
    });
    const [targetPort, receiverPort] = await Promise.all([listen(target), listen(receiver)]);
    stack = await startStack({
      scrapeTargets: { 'selfheal-exporter': [`127.0.0.1:${targetPort}`] },
      alertFor: '0s',
      webhook: { url: `http://127.0.0.1:${receiverPort}/api/v1/alerts`, token },
    });
    await stack.waitForTargetsUp(['selfheal-exporter']);
  });

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([target && close(target), receiver && close(receiver)]);
  });

  it('does not fire while the score is below 1', async () => {
    // Wait until the score is in Prometheus and the rule has been evaluated on it.
    await waitFor(async () => (await stack.prometheusClient.query('selfheal_anomaly_score')).length === 1, {
      what: 'the score to be scraped',
    });
    const evaluated = await waitFor(
      async () => {
        const res = await fetch(`${stack.prometheusUrl}/api/v1/rules?type=alert`);
        const body = (await res.json()) as { data: { groups: { rules: { name: string; lastEvaluation: string }[] }[] } };
        const rule = body.data.groups.flatMap((g) => g.rules).find((r) => r.name === 'SelfhealAnomaly');
        return rule && Date.parse(rule.lastEvaluation) > Date.now() - 1500 ? rule : undefined;
      },
      { what: 'SelfhealAnomaly to be evaluated' },
    );
    expect(evaluated.name).toBe('SelfhealAnomaly');
    expect(await stack.prometheusClient.query('ALERTS{alertname="SelfhealAnomaly"}')).toEqual([]);
    expect(deliveries).toEqual([]);
  });

  it('delivers a firing notification, version 4 with the bearer token, when the score crosses 1', async () => {
    score = 2.5;
    const firing = await waitFor(() => deliveries.find((d) => d.body.status === 'firing'), {
      what: 'a firing webhook',
      timeoutMs: 20_000,
    });
    expect(firing.headers.authorization).toBe(`Bearer ${token}`);
    expect(firing.headers['content-type']).toBe('application/json');
    expect(firing.body.version).toBe('4');
    expect(firing.body.receiver).toBe('selfheal-healer');
    expect(firing.body.externalURL).toBe(stack.alertmanagerUrl);
    expect(firing.body.truncatedAlerts).toBe(0);
    expect(firing.body.alerts).toHaveLength(1);
    const [alert] = firing.body.alerts;
    expect(alert?.status).toBe('firing');
    expect(alert?.labels).toMatchObject({
      alertname: 'SelfhealAnomaly',
      severity: 'warning',
      group: 'e2e',
      service: 'checkout',
      feature: 'cpu',
      job: 'selfheal-exporter',
    });
    expect(alert?.annotations.summary).toBe('Anomaly in checkout, driven by cpu');
    expect(alert?.annotations.anomaly_score).toBe('2.500');
    expect(alert?.annotations.runbook_url).toMatch(/^https:\/\/.+#selfhealanomaly$/);
    expect(alert?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(alert?.startsAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(alert?.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(alert?.generatorURL.startsWith(stack.prometheusUrl)).toBe(true);
  });

  it('delivers the resolved notification for the same alert when the score drops', async () => {
    const firing = deliveries.find((d) => d.body.status === 'firing');
    score = 0.2;
    const resolved = await waitFor(() => deliveries.find((d) => d.body.status === 'resolved'), {
      what: 'a resolved webhook',
      timeoutMs: 20_000,
    });
    const [alert] = resolved.body.alerts;
    expect(alert?.status).toBe('resolved');
    expect(alert?.fingerprint).toBe(firing?.body.alerts[0]?.fingerprint);
    expect(alert?.startsAt).toBe(firing?.body.alerts[0]?.startsAt);
    expect(Date.parse(alert?.endsAt ?? '')).toBeGreaterThanOrEqual(Date.parse(alert?.startsAt ?? ''));
    expect(resolved.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('stops every process it started', async () => {
    const pids = [stack.prometheus.pid, stack.alertmanager?.pid];
    await stack.stop();
    expect(liveProcesses()).toEqual([]);
    for (const pid of pids) {
      expect(() => process.kill(pid ?? -1, 0)).toThrow();
    }
  });
});
