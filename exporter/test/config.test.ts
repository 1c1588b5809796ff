import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '@selfheal/contracts';
import { loadExporterConfig, parseExporterConfig } from '../src/config/load.js';
import { groupDetectorOptions } from '../src/config/schema.js';
import { defaultDetectorFactory } from '../src/detector/default-factory.js';
import { configProblems } from './helpers.js';

// The `detector:` section is validated by the detector's own schema (detector/options.ts).
const DEFAULTS = defaultDetectorFactory();

const VALID = `
prometheus:
  url: http://127.0.0.1:9090/
groups:
  - name: services
    groupBy: [service]
    features:
      cpu: sum by (service) (rate(process_cpu_seconds_total[1m]))
      latency_p95: histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket[1m])))
`;

const problemsOf = (text: string): string[] => configProblems(text, DEFAULTS);

describe('durations', () => {
  it('parses Prometheus durations', () => {
    expect(parseDuration('15s')).toBe(15);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('15')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0.25)).toBe('250ms');
  });
});

describe('exporter config', () => {
  it('accepts a minimal config and fills the defaults', () => {
    const config = parseExporterConfig(VALID, 'exporter.yml', DEFAULTS);
    expect(config.prometheus.url).toBe('http://127.0.0.1:9090');
    expect(config.prometheus.acceptEncoding).toBe('identity');
    expect(config.listen).toBe('127.0.0.1:9188');
    const group = config.groups[0];
    expect(group?.schedule).toEqual({ interval: 15, step: 15, trainWindow: 21600, vanishGrace: 300, maxScoreAge: 45 });
    expect(Object.keys(group?.features ?? {})).toEqual(['cpu', 'latency_p95']);
  });

  it('accepts the shipped example', () => {
    const file = new URL('../examples/exporter.yml', import.meta.url).pathname;
    const config = loadExporterConfig(file, DEFAULTS);
    expect(config.groups.map((g) => g.name)).toEqual(['services']);
    expect(Object.keys(config.groups[0]?.features ?? {})).toEqual(['cpu', 'memory', 'latency_p95', 'error_ratio']);
    expect(config.stateDir).toMatch(/examples\/selfheal-state$/);
  });

  // A dozen broken files, each with the message a person needs to fix it (file:line:col, key, what).
  const broken: [string, string, RegExp][] = [
    ['YAML syntax', 'prometheus:\n  url: [unclosed\n', /exporter\.yml:\d+:\d+: YAML syntax/],
    ['empty file', '', /the file is empty/],
    ['missing prometheus', 'groups: []\n', /prometheus: missing \(required\)/],
    ['bad URL', VALID.replace('http://127.0.0.1:9090/', 'localhost:9090'), /exporter\.yml:3:8: prometheus\.url: expected an http:\/\/ or https:\/\/ URL/],
    ['unknown key (typo)', VALID.replace('  url:', '  timout: 5s\n  url:'), /exporter\.yml:3:3: prometheus\.timout: unknown key/],
    ['bad duration', VALID + '    schedule:\n      interval: 15 seconds\n', /groups\[0\]\.schedule\.interval: "15 seconds" is not a duration/],
    ['no groups', 'prometheus:\n  url: http://127.0.0.1:9090\ngroups: []\n', /groups: define at least one group/],
    ['groupBy missing', VALID.replace('    groupBy: [service]\n', ''), /groups\[0\]\.groupBy: missing \(required\)/],
    ['reserved entity label', VALID.replace('[service]', '[group]'), /groups\[0\]\.groupBy\[0\]: the exporter sets the labels/],
    ['invalid label name', VALID.replace('[service]', '[my-service]'), /groupBy\[0\]: must be a Prometheus label name/],
    ['empty PromQL', VALID.replace(/cpu: .*\n/, 'cpu: ""\n'), /groups\[0\]\.features\.cpu: must not be empty/],
    ['duplicate group names', VALID + VALID.slice(VALID.indexOf('  - name')), /groups\[1\]\.name: "services" is also the name of groups\[0\]/],
    ['trainWindow shorter than two steps', VALID + '    schedule:\n      interval: 1m\n      trainWindow: 1m\n', /trainWindow: must span at least two steps/],
    ['unknown detector setting', VALID + '    detector:\n      tress: 50\n', /groups\[0\]\.detector\.tress: unknown key \(unknown detector setting\(s\) "tress"; known: warmup, trainWindow, retrainEvery, windows, seasonality, trees, sampleSize/],
    ['detector setting of the wrong type', VALID + '    detector:\n      trees: many\n', /groups\[0\]\.detector\.trees: expected a number \(default 100\)/],
    ['detector list of the wrong type', VALID + '    detector:\n      windows: 12\n', /groups\[0\]\.detector\.windows: expected a list \(default \[12,96,288\]\)/],
    ['detector section not a map', VALID + '    detector: fast\n', /groups\[0\]\.detector: expected a map of detector settings/],
    ['detector setting out of range', VALID + '    detector:\n      trainWindow: 10\n', /groups\[0\]\.detector\.trainWindow: Too small/],
    ['schedule too short for the detector', VALID + '    schedule:\n      interval: 1m\n      trainWindow: 10m\n', /groups\[0\]: invalid detector options: trainWindow: Too small: expected number to be >=20/],
    ['auth with both kinds', VALID.replace('  url:', '  auth:\n    bearerTokenFile: /t\n    basic: {username: a, passwordFile: /p}\n  url:'), /prometheus\.auth: set one kind of authentication, not bearerTokenFile and basic/],
    ['unreadable token file', VALID.replace('  url:', '  auth:\n    bearerTokenFile: /nonexistent/token\n  url:'), /prometheus\.auth\.bearerTokenFile: cannot read \/nonexistent\/token/],
    ['wrong type for listen', VALID + 'listen: 9188\n', /listen: .*expected string/],
    ['feature control with a bad direction', VALID.replace(/cpu: (.*)\n/, 'cpu:\n        query: $1\n        direction: sideways\n'), /groups\[0\]\.features\.cpu\.direction: expected up, down or both/],
    ['feature control without a query', VALID.replace(/cpu: (.*)\n/, 'cpu:\n        direction: up\n'), /groups\[0\]\.features\.cpu\.query: expected a string \(PromQL/],
    ['feature control with an empty minimum', VALID.replace(/cpu: (.*)\n/, 'cpu:\n        query: $1\n        minDeviation: {}\n'), /groups\[0\]\.features\.cpu\.minDeviation: give absolute and\/or relative/],
    ['detector control of an unknown feature', VALID + '    detector:\n      controls:\n        memory: {direction: up}\n', /groups\[0\]\.detector\.controls\.memory: "memory" is not a feature of this group \(features: cpu, latency_p95\)/],
    ['features not a map', VALID.replace(/features:\n(\s+\w+: .*\n)+/, 'features: [cpu]\n'), /groups\[0\]\.features: expected a map of feature name to PromQL/],
  ];
  it.each(broken)('rejects %s with an actionable message', (_what, text, expected) => {
    const problems = problemsOf(text);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('a feature may carry controls (direction, minDeviation): its query stays the feature, the controls go to its detectors', () => {
    const text = VALID.replace(/cpu: (.*)\n/, 'cpu:\n        query: $1\n        direction: up\n        minDeviation: {relative: 0.2}\n');
    const config = parseExporterConfig(text, 'exporter.yml', DEFAULTS);
    const group = config.groups[0];
    expect(group?.features.cpu).toBe('sum by (service) (rate(process_cpu_seconds_total[1m]))');
    expect(group?.controls).toEqual({ cpu: { direction: 'up', minDeviation: { relative: 0.2 } } });
    expect(groupDetectorOptions(group!).controls).toEqual({ cpu: { direction: 'up', minDeviation: { relative: 0.2 } } });
    // Without controls the detector options carry none (saved states keep their bytes).
    expect('controls' in groupDetectorOptions(parseExporterConfig(VALID, 'exporter.yml', DEFAULTS).groups[0]!)).toBe(false);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = problemsOf(VALID.replace('http://127.0.0.1:9090/', 'nope').replace('[service]', '[]'));
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('names a missing config file', () => {
    expect(() => loadExporterConfig('/nonexistent/exporter.yml', DEFAULTS)).toThrow(/cannot read the config file/);
  });

  it('resolves relative file paths against the config file directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfheal-config-'));
    writeFileSync(join(dir, 'token'), 'secret\n');
    const file = join(dir, 'exporter.yml');
    writeFileSync(file, VALID.replace('  url:', '  auth:\n    bearerTokenFile: token\n  url:') + 'stateDir: state\n');
    const config = loadExporterConfig(file, DEFAULTS);
    expect(config.prometheus.auth?.bearerTokenFile).toBe(join(dir, 'token'));
    expect(config.stateDir).toBe(join(dir, 'state'));
  });
});
