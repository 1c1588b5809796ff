import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertmanagerConfig, prometheusConfig, ruleFileWithFor, shippedRuleFiles } from '../src/config.js';

describe('configs generated from the shipped ones', () => {
  it('keeps named jobs with new targets, drops the others, adds new jobs, and points alerting at the Alertmanager', () => {
    const config = parse(
      prometheusConfig({
        prometheusAddress: '127.0.0.1:1001',
        alertmanagerAddress: '127.0.0.1:1002',
        scrapeInterval: '1s',
        evaluationInterval: '2s',
        scrapeTargets: { 'selfheal-exporter': ['127.0.0.1:1003'], extra: ['127.0.0.1:1004'] },
        ruleFiles: ['/tmp/a.yml'],
      }),
    ) as {
      global: Record<string, string>;
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '2s', external_labels: { monitor: 'selfheal' } });
    expect(config.rule_files).toEqual(['/tmp/a.yml']);
    expect(config.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['127.0.0.1:1002']);
    expect(config.scrape_configs.map((j) => [j.job_name, j.static_configs[0]?.targets])).toEqual([
      ['prometheus', ['127.0.0.1:1001']],
      ['selfheal-exporter', ['127.0.0.1:1003']],
      ['extra', ['127.0.0.1:1004']],
    ]);
  });

  it('replaces the healer webhook URL and token file and retimes every route', () => {
    const config = parse(
      alertmanagerConfig({
        webhookUrl: 'http://127.0.0.1:9/api/v1/alerts',
        tokenFile: '/tmp/token',
        groupWait: '0s',
        groupInterval: '1s',
        repeatInterval: '1h',
      }),
    ) as {
      route: { group_wait: string; routes: { group_interval: string; receiver: string }[] };
      receivers: { name: string; webhook_configs?: { url: string; send_resolved: boolean; http_config: unknown }[] }[];
    };
    expect(config.route.group_wait).toBe('0s');
    expect(config.route.routes[0]).toMatchObject({ receiver: 'selfheal-healer', group_interval: '1s' });
    const webhook = config.receivers.find((r) => r.name === 'selfheal-healer')?.webhook_configs?.[0];
    expect(webhook).toMatchObject({
      url: 'http://127.0.0.1:9/api/v1/alerts',
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials_file: '/tmp/token' } },
    });
  });

  it('drops the authorization block when no token is given', () => {
    const config = parse(alertmanagerConfig({ groupWait: '0s', groupInterval: '1s', repeatInterval: '1h' })) as {
      receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[];
    };
    expect(config.receivers.find((r) => r.name === 'selfheal-healer')?.webhook_configs?.[0]?.http_config).toBeUndefined();
  });

  it('overrides `for:` of alerting rules only, leaving expressions untouched', () => {
    const file = shippedRuleFiles().find((f) => f.endsWith('selfheal-alerts.yml'));
    expect(file).toBeDefined();
    const doc = parse(ruleFileWithFor(file ?? '', '0s')) as { groups: { rules: { alert?: string; for?: string; expr: string }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(2);
    for (const rule of rules) expect(rule.for).toBe('0s');
    expect(rules.find((r) => r.alert === 'SelfhealAnomaly')?.expr).toContain('selfheal_anomaly_top_feature_info');
  });
});
