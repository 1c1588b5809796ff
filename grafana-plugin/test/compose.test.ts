// @vitest-environment node
// docker-compose.yml cannot run here (no Docker): checked statically instead. Every service the loop needs is
// there, every file and folder it mounts or names exists, every volume is declared, the commands are real
// `selfheal` subcommands with real options, and the ports the components listen on agree with the addresses
// the shipped configs give each other (Prometheus targets, Alertmanager's webhook, Grafana's data sources).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import semver from 'semver';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

import { PLUGIN_DIR } from './paths';

const REPO = join(PLUGIN_DIR, '..');
const PLUGIN_ID = (JSON.parse(readFileSync(join(PLUGIN_DIR, 'src/plugin.json'), 'utf8')) as { id: string }).id;
/** Mounted folders the compose `build` service produces (npm run build), not in a clean clone. */
const BUILD_OUTPUTS = ['grafana-plugin/dist'];

interface Service {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  working_dir?: string;
  network_mode?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// Compose files use YAML merge keys (`<<: *anchor`), off by default in YAML 1.2.
const yamlFile = <T>(path: string): T => parse(readFileSync(join(REPO, path), 'utf8'), { merge: true }) as T;
const compose = yamlFile<Compose>('docker-compose.yml');
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) {
    throw new Error(`docker-compose.yml has no service "${name}"`);
  }
  return s;
};

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}
function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = ''] = v.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}

/** The repository path a container path maps to through the service's bind mounts, if any. */
function hostPath(s: Service, containerPath: string): string | undefined {
  const abs = posix.isAbsolute(containerPath) ? containerPath : posix.join(s.working_dir ?? '/', containerPath);
  for (const m of mounts(s).filter((x) => x.bind)) {
    if (abs === m.target || abs.startsWith(`${m.target}/`)) {
      return join(REPO, m.source, abs.slice(m.target.length));
    }
  }
  return undefined;
}

function args(s: Service): string[] {
  return Array.isArray(s.command) ? s.command : [];
}
function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) {
    return argv[i + 1];
  }
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}
function portOf(address: string): number {
  const m = /:(\d+)(\/|$)/.exec(address.replace(/^\w+:\/\//, ''));
  if (!m) {
    throw new Error(`no port in "${address}"`);
  }
  return Number(m[1]);
}

const NODE_SERVICES = { workload: ['demo', 'workload'], exporter: ['exporter'], webhook: ['webhook'] } as const;

describe('docker-compose.yml (static: Docker cannot run here)', () => {
  it('has every component of the loop, the one-shot build and token services, on the host network', () => {
    for (const name of ['prometheus', 'alertmanager', 'grafana', 'exporter', 'webhook', 'workload', 'build', 'webhook-token']) {
      expect(compose.services, name).toHaveProperty(name);
    }
    for (const name of ['prometheus', 'alertmanager', 'grafana', 'exporter', 'webhook', 'workload']) {
      expect(service(name).network_mode, `${name} shares the host network (the shipped configs use localhost)`).toBe('host');
      expect(service(name).ports, `${name}: ports are ignored with host networking`).toBeUndefined();
    }
    for (const name of ['exporter', 'webhook', 'workload', 'grafana']) {
      expect(service(name).depends_on?.build?.condition, `${name} waits for the build`).toBe('service_completed_successfully');
    }
  });

  it('mounts only files and folders that exist, and declares every named volume it uses', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const used = new Set<string>();
    for (const [name, s] of Object.entries(compose.services)) {
      for (const m of mounts(s)) {
        if (m.bind) {
          const rel = posix.normalize(m.source);
          if (BUILD_OUTPUTS.includes(rel)) {
            expect(existsSync(join(REPO, posix.dirname(rel))), `${name}: parent of build output ${rel}`).toBe(true);
          } else {
            expect(existsSync(join(REPO, rel)), `${name} mounts ${m.source}, which does not exist`).toBe(true);
          }
        } else {
          expect(declared.has(m.source), `${name} uses volume "${m.source}" that is not declared`).toBe(true);
          used.add(m.source);
        }
      }
    }
    expect([...declared].filter((v) => !used.has(v)), 'declared but unused volumes').toEqual([]);
  });

  describe('images are pinned to exact releases (Docker Hub cannot be reached here: the tags were checked by hand)', () => {
    // [registry/]repository:tag[@sha256:digest], the tag an exact version (x.y.z, optionally v-prefixed and suffixed).
    const IMAGE = /^(?<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*):(?<tag>[\w][\w.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/;
    const images = Object.entries(compose.services).map(([name, s]) => ({ name, image: s.image ?? '' }));
    const parsed = (name: string) => {
      const image = service(name).image ?? '';
      const m = IMAGE.exec(image);
      if (!m?.groups) {
        throw new Error(`${name}: image "${image}" has no explicit tag`);
      }
      return { repo: m.groups.repo!, tag: m.groups.tag!, version: semver.coerce(m.groups.tag!)?.version };
    };

    /** Why an image reference is not pinned to an exact release, or undefined when it is. */
    const unpinned = (image: string): string | undefined => {
      const tag = IMAGE.exec(image)?.groups?.tag;
      if (tag === undefined) {
        return `"${image}" is untagged (Docker would pull :latest)`;
      }
      if (/latest/i.test(tag)) {
        return `"${image}" uses latest`;
      }
      return /^v?\d+\.\d+\.\d+(-[\w.]+)?$/.test(tag) ? undefined : `"${image}" is a floating tag, not an exact x.y.z release`;
    };

    it('every service names an image with an explicit tag that is an exact version, never latest', () => {
      expect(images.length).toBeGreaterThan(0);
      expect(images.map(({ name, image }) => [name, unpinned(image)]).filter(([, why]) => why !== undefined)).toEqual([]);
    });

    it('the check refuses untagged, latest and floating tags', () => {
      for (const bad of ['grafana/grafana', 'grafana/grafana:latest', 'node:20-bookworm', 'node:lts', 'prom/prometheus:v3', '']) {
        expect(unpinned(bad), bad).toBeDefined();
      }
      expect(unpinned('grafana/grafana:12.4.10')).toBeUndefined();
    });

    it('the images are the components the configs are written for, at versions that fit them', () => {
      const repoDir = join(PLUGIN_DIR, '..');
      const grafana = parsed('grafana');
      expect(grafana.repo).toBe('grafana/grafana');
      // The panel is built against @grafana/data x.y.z and declares a grafanaDependency range: Grafana must be both.
      const pluginJson = JSON.parse(readFileSync(join(PLUGIN_DIR, 'src/plugin.json'), 'utf8')) as { dependencies: { grafanaDependency: string } };
      const pluginPkg = JSON.parse(readFileSync(join(PLUGIN_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      expect(semver.satisfies(grafana.version!, pluginJson.dependencies.grafanaDependency), `Grafana ${grafana.version} vs ${pluginJson.dependencies.grafanaDependency}`).toBe(true);
      expect(grafana.version).toBe(semver.minVersion(pluginPkg.dependencies['@grafana/data']!)?.version);

      expect(parsed('prometheus').repo).toBe('prom/prometheus');
      expect(parsed('prometheus').tag).toMatch(/^v3\./);
      expect(parsed('alertmanager').repo).toBe('prom/alertmanager');
      expect(parsed('alertmanager').tag).toMatch(/^v0\./);

      // Every Node service runs the same image, a Node release the repository supports.
      const engines = (JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
      const nodeImages = new Set(['build', 'webhook-token', ...Object.keys(NODE_SERVICES)].map((n) => service(n).image));
      expect(nodeImages.size, [...nodeImages].join(', ')).toBe(1);
      const node = parsed('build');
      expect(node.repo).toBe('node');
      expect(semver.satisfies(node.version!, engines), `node ${node.version} vs engines ${engines}`).toBe(true);
    });
  });

  describe('the selfheal services run real subcommands', () => {
    beforeAll(() => {
      if (!existsSync(join(REPO, 'cli/dist/src/main.js'))) {
        throw new Error('cli/dist is missing: run `npm run build` first (the compose `build` service does the same)');
      }
    });

    for (const [name, path] of Object.entries(NODE_SERVICES)) {
      it(`${name}: \`selfheal ${path.join(' ')}\` exists with the options compose passes, and its files exist`, () => {
        const s = service(name);
        const argv = args(s);
        expect(argv[0]).toBe('node');
        const script = hostPath(s, argv[1]!);
        expect(script && existsSync(script), `${argv[1]} maps to a file of the repository`).toBe(true);
        expect(argv.slice(2, 2 + path.length)).toEqual(path);
        // Each word of the path is a command of its parent, then each option is one of the subcommand's.
        for (let i = 0; i < path.length; i++) {
          const help = spawnSync('node', [script!, ...path.slice(0, i), '--help'], { cwd: REPO, encoding: 'utf8' });
          expect(help.status, `selfheal ${path.slice(0, i).join(' ')} --help: ${help.stderr}`).toBe(0);
          const commands = help.stdout.split(/\nCommands:\n/)[1] ?? '';
          expect(commands, `\`selfheal ${path.slice(0, i).join(' ')}\` has no subcommand "${path[i]}"`).toMatch(new RegExp(`^\\s+${path[i]}\\b`, 'm'));
        }
        const help = spawnSync('node', [script!, ...path, '--help'], { cwd: REPO, encoding: 'utf8' });
        for (const flag of argv.slice(2 + path.length).filter((a) => a.startsWith('--'))) {
          expect(help.stdout, `\`selfheal ${path.join(' ')}\` has no option ${flag}`).toContain(flag);
        }
        const config = option(argv, '--config');
        if (config !== undefined) {
          const file = hostPath(s, config);
          expect(file && existsSync(file), `${name}: config ${config} maps to an existing file`).toBe(true);
        }
      });
    }
  });

  describe('ports and addresses agree across the shipped configs', () => {
    const prometheusYml = yamlFile<{
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
      rule_files: string[];
    }>('prometheus/prometheus.yml');
    const alertmanagerYml = yamlFile<{
      receivers: Array<{ name: string; webhook_configs?: Array<{ url: string; http_config?: { authorization?: { credentials_file?: string } } }> }>;
    }>('prometheus/alertmanager.yml');
    const scrapePort = (job: string) => {
      const targets = prometheusYml.scrape_configs.find((j) => j.job_name === job)?.static_configs.flatMap((c) => c.targets) ?? [];
      expect(targets, `prometheus.yml job ${job}`).toHaveLength(1);
      return portOf(targets[0]!);
    };
    const configOf = <T>(name: string): T => {
      const s = service(name);
      return parse(readFileSync(hostPath(s, option(args(s), '--config')!)!, 'utf8')) as T;
    };
    const exporterCfg = configOf<{ listen: string; prometheus: { url: string } }>('exporter');
    const policy = configOf<{
      listen: string;
      prometheus: { url: string };
      auth: { tokenFile: string };
      targets: Record<string, { actions: Record<string, { url: string }> }>;
    }>('webhook');
    const datasources = yamlFile<{ datasources: Array<{ uid: string; type: string; url: string }> }>('provisioning/datasources/selfheal.yml');
    const dsUrl = (type: string) => datasources.datasources.find((d) => d.type === type)!.url;
    const dsPort = (type: string) => portOf(dsUrl(type));

    const prometheusPort = portOf(/--web\.listen-address=(\S+)/.exec(String(service('prometheus').command))![1]!);
    const alertmanagerPort = portOf(option(args(service('alertmanager')), '--web.listen-address')!);
    const exporterPort = portOf(option(args(service('exporter')), '--listen') ?? exporterCfg.listen);
    const webhookPort = portOf(option(args(service('webhook')), '--listen') ?? policy.listen);
    const workloadPort = portOf(option(args(service('workload')), '--listen')!);
    const grafanaPort = Number(service('grafana').environment?.GF_SERVER_HTTP_PORT);

    it('Prometheus: where Grafana, the exporter and the healing service look for it, and its own scrape job', () => {
      expect(dsPort('prometheus')).toBe(prometheusPort);
      expect(portOf(exporterCfg.prometheus.url)).toBe(prometheusPort);
      expect(portOf(policy.prometheus.url)).toBe(prometheusPort);
      expect(scrapePort('prometheus')).toBe(prometheusPort);
    });

    it('Alertmanager: where Prometheus sends alerts and Grafana reads them', () => {
      const targets = prometheusYml.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
      expect(targets.map(portOf)).toEqual([alertmanagerPort]);
      expect(dsPort('alertmanager')).toBe(alertmanagerPort);
    });

    it('exporter, healing service and workload: scraped where they listen; the webhook receives where Alertmanager sends', () => {
      expect(scrapePort('selfheal-exporter')).toBe(exporterPort);
      expect(scrapePort('selfheal-webhook')).toBe(webhookPort);
      expect(scrapePort('demo')).toBe(workloadPort);
      const hooks = alertmanagerYml.receivers.flatMap((r) => r.webhook_configs ?? []);
      expect(hooks.length).toBeGreaterThan(0);
      expect(hooks.map((h) => portOf(h.url))).toEqual(hooks.map(() => webhookPort));
      const actionUrls = Object.values(policy.targets).flatMap((t) => Object.values(t.actions).map((a) => a.url));
      expect(actionUrls.length).toBeGreaterThan(0);
      expect(new Set(actionUrls.map(portOf))).toEqual(new Set([workloadPort]));
    });

    it('components listen on the loopback address the others use to reach them', () => {
      // Node resolves "localhost" to ::1 first on some hosts; a client dialling 127.0.0.1 would then miss it.
      const hostOf = (address: string) => address.replace(/^\w+:\/\//, '').replace(/:\d+.*$/, '');
      const listens: Array<[string, string, string[]]> = [
        ['workload', option(args(service('workload')), '--listen')!, Object.values(policy.targets).flatMap((t) => Object.values(t.actions).map((a) => a.url))],
        ['exporter', option(args(service('exporter')), '--listen') ?? exporterCfg.listen, []],
        ['webhook', option(args(service('webhook')), '--listen') ?? policy.listen, []],
        ['prometheus', /--web\.listen-address=(\S+)/.exec(String(service('prometheus').command))![1]!, [exporterCfg.prometheus.url, policy.prometheus.url, dsUrl('prometheus')]],
        ['alertmanager', option(args(service('alertmanager')), '--web.listen-address')!, [dsUrl('alertmanager')]],
      ];
      for (const [name, listen, urls] of listens) {
        expect(['127.0.0.1', '0.0.0.0'], `${name} listens on ${listen}`).toContain(hostOf(listen));
        for (const url of urls) {
          expect(['127.0.0.1', 'localhost'], `${name} is reached at ${url}`).toContain(hostOf(url));
        }
      }
    });

    it('no two components listen on one port (they share the host network)', () => {
      const ports = [prometheusPort, alertmanagerPort, exporterPort, webhookPort, workloadPort, grafanaPort];
      expect(ports.every((p) => Number.isInteger(p) && p > 0)).toBe(true);
      expect(new Set(ports).size).toBe(ports.length);
    });

    it('Alertmanager and the healing service share the bearer token the token service writes', () => {
      const credentials = alertmanagerYml.receivers.flatMap((r) => r.webhook_configs ?? []).map((h) => h.http_config?.authorization?.credentials_file);
      const tokenFile = policy.auth.tokenFile;
      expect(credentials).toEqual(credentials.map(() => tokenFile));
      const volumeAt = (name: string) =>
        mounts(service(name)).find((m) => !m.bind && posix.dirname(tokenFile).startsWith(m.target))?.source;
      expect(volumeAt('alertmanager')).toBeDefined();
      expect(volumeAt('webhook')).toBe(volumeAt('alertmanager'));
      expect(volumeAt('webhook-token')).toBe(volumeAt('alertmanager'));
      expect(JSON.stringify(service('webhook-token').command)).toContain(tokenFile);
    });
  });

  it('Prometheus runs the shipped prometheus.yml and rules (only the intervals changed, as `selfheal demo` does)', () => {
    const s = service('prometheus');
    const script = String(s.command);
    expect(hostPath(s, '/etc/selfheal-prometheus/prometheus.yml')).toBe(join(REPO, 'prometheus/prometheus.yml'));
    expect(script).toContain('cp -r /etc/selfheal-prometheus/rules /tmp/selfheal/');
    expect(script).toContain('/etc/selfheal-prometheus/prometheus.yml > /tmp/selfheal/prometheus.yml');
    expect(script).toContain('--config.file=/tmp/selfheal/prometheus.yml');
    const rules = yamlFile<{ rule_files: string[] }>('prometheus/prometheus.yml').rule_files;
    expect(rules.every((r) => r.startsWith('rules/'))).toBe(true);
    // The sed program only touches the two interval lines.
    const shipped = readFileSync(join(REPO, 'prometheus/prometheus.yml'), 'utf8');
    const rewritten = shipped
      .replace(/^( *)scrape_interval: .*/gm, '$1scrape_interval: 1s')
      .replace(/^( *)evaluation_interval: .*/gm, '$1evaluation_interval: 1s');
    const changed = shipped.split('\n').filter((line, i) => line !== rewritten.split('\n')[i]);
    expect(changed.length).toBeGreaterThanOrEqual(2);
    expect(changed.every((l) => /^\s*(scrape|evaluation)_interval:/.test(l))).toBe(true);
  });

  it('Grafana loads the built plugin, unsigned allowed for its id only, and the provisioning', () => {
    const g = service('grafana');
    expect(g.environment?.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).toBe(PLUGIN_ID);
    const plugin = mounts(g).find((m) => m.target.startsWith('/var/lib/grafana/plugins/'));
    expect(plugin?.source).toBe('./grafana-plugin/dist');
    expect(plugin?.target).toBe(`/var/lib/grafana/plugins/${PLUGIN_ID}`);
    expect(hostPath(g, '/etc/grafana/provisioning/datasources/selfheal.yml')).toBe(join(REPO, 'provisioning/datasources/selfheal.yml'));
    const provider = yamlFile<{ providers: Array<{ options: { path: string } }> }>('provisioning/dashboards/selfheal.yml');
    for (const p of provider.providers) {
      const dir = hostPath(g, p.options.path);
      expect(dir && existsSync(join(dir, 'selfheal-overview.json')), `provider path ${p.options.path}`).toBe(true);
    }
    const home = hostPath(g, g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!);
    expect(home && existsSync(home)).toBe(true);
  });
});
