import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConfigFile, detectKind, formatCheck } from '../src/commands/check-config.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'selfheal-check-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('selfheal check-config', () => {
  it.each([
    ['exporter/examples/exporter.yml', 'exporter'],
    // Every shipped exporter and healing service config: they must keep parsing under the one duration grammar.
    ['demo/config/exporter.yml', 'exporter'],
    ['deploy/kubernetes/config/exporter.yml', 'exporter'],
    ['webhook/examples/policy.yml', 'webhook'],
    ['webhook/examples/change-aware.yml', 'webhook'],
    ['demo/config/policy.yml', 'webhook'],
    ['deploy/kubernetes/config/policy.yml', 'webhook'],
    ['deploy/kubernetes/components/sqlite-store/policy.yml', 'webhook'],
    ['prometheus/prometheus.yml', 'prometheus'],
    ['prometheus/alertmanager.yml', 'alertmanager'],
    ['prometheus/rules/selfheal-alerts.yml', 'rules'],
    ['prometheus/rules/selfheal-recording.yml', 'rules'],
  ])('recognises and accepts the shipped %s (%s)', (path, kind) => {
    const result = checkConfigFile(join(repo, path));
    expect(result.kind).toBe(kind);
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('recognises a healing service config', () => {
    expect(detectKind({ listen: '127.0.0.1:9189', rules: [], actuators: {} })).toBe('webhook');
    expect(detectKind({ prometheus: { url: 'http://x' }, groups: [{ name: 'a', features: {} }] })).toBe('exporter');
    expect(detectKind({ groups: [{ name: 'a', rules: [] }] })).toBe('rules');
    expect(detectKind('text')).toBeUndefined();
  });

  it('reports an invalid exporter config with file:line and the key', () => {
    const path = file('exporter.yml', 'prometheus:\n  url: http://127.0.0.1:9090\ngroups:\n  - name: a\n    groupBy: [service]\n    features: {cpu: up}\n    schedule: {interval: fast}\n');
    const result = checkConfigFile(path);
    expect(result.ok).toBe(false);
    expect(formatCheck(result)).toMatch(/INVALID \(anomaly exporter config\)\n {2}- .*exporter\.yml:7:\d+: groups\[0\]\.schedule\.interval: "fast" is not a duration/);
  });

  it('reports an invalid rule file through promtool', () => {
    const path = file('rules.yml', 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(\n');
    const result = checkConfigFile(path);
    expect(result.kind).toBe('rules');
    expect(result.ok).toBe(false);
    expect(result.errors.join('\n')).toMatch(/promtool: .*parse error/);
  });

  it('reports an invalid Alertmanager config through amtool', () => {
    const path = file('am.yml', 'route:\n  receiver: nobody\nreceivers: []\n');
    const result = checkConfigFile(path);
    expect(result.kind).toBe('alertmanager');
    expect(result.ok).toBe(false);
    expect(result.errors.join('\n')).toMatch(/amtool: .*undefined receiver "nobody"/);
  });

  it('says when it cannot tell the kind, and how to name it', () => {
    const result = checkConfigFile(file('other.yml', 'foo: 1\n'));
    expect(result.ok).toBe(false);
    expect(result.errors[0]).toMatch(/cannot tell what kind of config this is.*--kind/);
    expect(checkConfigFile(file('broken.yml', 'a: [1\n')).errors[0]).toMatch(/not valid YAML/);
    expect(checkConfigFile(join(dir, 'missing.yml')).errors[0]).toMatch(/cannot read/);
    expect(checkConfigFile(file('k8s.yml', 'apiVersion: v1\nkind: ConfigMap\n')).errors[0]).toMatch(/a Kubernetes ConfigMap manifest, not a Selfheal config/);
    expect(checkConfigFile(file('multi.yml', 'a: 1\n---\nb: 2\n')).errors[0]).toMatch(/several YAML documents in one file/);
  });
});
