// Webhook ingest benchmark: Alertmanager-shaped notifications (one alert each, every one a new alert
// occurrence, so each is recorded durably and decided by the policy) posted over loopback with autocannon.
// Durability on: SQLite WAL with synchronous=FULL, and the 2xx only after the commit.
// Prints throughput and acknowledgement latency, a reference measured in the same run (GET /-/healthy
// on the same server: the HTTP stack alone), and checks that every acknowledged alert is in the store.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { freePort } from '../test/support/ports.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10); // seconds per phase
const RATE = Number(process.env.BENCH_RATE ?? 1000); // alerts/s for the sustained phase
const TOKEN = 'bench-token-0123456789abcdef';

const dir = mkdtempSync(join(tmpdir(), 'selfheal-bench-'));
const port = await freePort();
writeFileSync(join(dir, 'token'), TOKEN);
const config = join(dir, 'config.yml');
writeFileSync(config, stringify({
  listen: `127.0.0.1:${port}`,
  auth: { type: 'bearer', tokenFile: join(dir, 'token') },
  store: { path: join(dir, 'bench.db'), synchronous: 'full' },
  actuators: { admin: { type: 'http' } },
  targets: { checkout: { actuator: 'admin', actions: { scale_up: { url: 'http://127.0.0.1:9/scale' } } } },
  // Every alert matches and is decided; dry-run so nothing leaves the machine.
  rules: [{ name: 'bench', matchers: ['alertname = SelfhealAnomaly'], target: 'checkout', actions: ['scale_up'], dryRun: true }],
}));

const runner = fileURLToPath(new URL('../test/support/run-healer.ts', import.meta.url));
const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', runner, config], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
  child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
});

let seq = 0;
function body(): string {
  const n = seq++;
  return JSON.stringify({
    receiver: 'selfheal-healer', status: 'firing', version: '4', groupKey: `{}/{alertname="SelfhealAnomaly"}:{instance="i${n}"}`, truncatedAlerts: 0,
    groupLabels: { instance: `i${n}` }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
    alerts: [{
      status: 'firing', labels: { alertname: 'SelfhealAnomaly', service: 'checkout', group: 'shop', feature: 'cpu_usage', severity: 'warning', instance: `i${n}` },
      annotations: { summary: 'Anomaly in checkout, driven by cpu_usage', anomaly_score: '1.734' },
      startsAt: new Date(Date.UTC(2026, 10, 23, 22) + n * 1000).toISOString(), endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph', fingerprint: `b${n.toString(16).padStart(15, '0')}`,
    }],
  });
}

/** CPU seconds (user + system) the service process has used so far (Linux /proc; clock ticks of 10 ms). */
function serviceCpuSeconds(): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function run(opts: autocannon.Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    void inst;
  });
}

const url = `http://127.0.0.1:${port}`;
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const ingest = (extra: Partial<autocannon.Options>) => run({
  url: `${url}/api/v1/alerts`, method: 'POST', headers, connections: 10, duration: DURATION,
  requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: body() }) }], ...extra,
});
const cpu = new Map<Result, number>();
async function measured(fn: () => Promise<Result>): Promise<Result> {
  const before = serviceCpuSeconds();
  const r = await fn();
  cpu.set(r, serviceCpuSeconds() - before);
  return r;
}
const line = (name: string, r: Result) => {
  const ok = r['2xx'];
  const cpuPer = (cpu.get(r) ?? Number.NaN) / Math.max(1, ok);
  console.log(`${name.padEnd(34)} ${(ok / r.duration).toFixed(0).padStart(6)} alerts/s  p50 ${String(r.latency.p50).padStart(4)} ms  p99 ${String(r.latency.p99).padStart(4)} ms  max ${String(r.latency.max).padStart(5)} ms  non-2xx ${r.non2xx}  errors ${r.errors}  service CPU ${(cpuPer * 1e6).toFixed(0)} µs/alert`);
};

console.log(`selfheal webhook ingest benchmark — loopback, ${DURATION}s per phase, durability on (WAL, synchronous=FULL, ack after commit)`);
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine skews every figure, the reference included)`);
await ingest({ duration: 2 }); // warm-up (JIT, page cache)
const reference = await measured(() => run({ url: `${url}/-/healthy`, connections: 10, duration: DURATION }));
const sustained = await measured(() => ingest({ overallRate: RATE, connections: 50 }));
const peak = await measured(() => ingest({ connections: 50 }));
const refCpu = (cpu.get(reference) ?? Number.NaN) / Math.max(1, reference['2xx']);
console.log(`${'reference: GET /-/healthy'.padEnd(34)} ${(reference['2xx'] / reference.duration).toFixed(0).padStart(6)} req/s     p50 ${String(reference.latency.p50).padStart(4)} ms  p99 ${String(reference.latency.p99).padStart(4)} ms  service CPU ${(refCpu * 1e6).toFixed(0)} µs/request`);
line(`sustained at ${RATE} alerts/s`, sustained);
line('peak (as fast as it goes)', peak);
const peakCpu = (cpu.get(peak) ?? Number.NaN) / Math.max(1, peak['2xx']);
console.log(`ratio peak ingest / reference: ${(peak['2xx'] / peak.duration / (reference['2xx'] / reference.duration)).toFixed(2)} (throughput), ${(peakCpu / refCpu).toFixed(2)} (service CPU per request)`);
console.log(`service CPU capacity: ${(1 / peakCpu).toFixed(0)} alerts/s per fully available core (${(peakCpu * 1e6).toFixed(0)} µs CPU per acknowledged alert, HTTP + validation + durable record + decision)`);

await new Promise((r) => setTimeout(r, 500));
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
const db = new Database(join(dir, 'bench.db'), { readonly: true });
const stored = (db.prepare('SELECT COUNT(*) AS n FROM incidents').get() as { n: number }).n;
const acked = sustained['2xx'] + peak['2xx'];
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(`durability: ${acked} alerts acknowledged in the measured phases, ${stored} incidents in the store (warm-up included)`);

const sustainedRate = sustained['2xx'] / sustained.duration;
const pass = sustainedRate >= RATE * 0.97 && sustained.latency.p99 < 50 && sustained.non2xx === 0 && stored >= acked;
console.log(`target (>= ${RATE} alerts/s sustained, p99 ack < 50 ms, nothing lost): ${pass ? 'MET' : 'NOT MET'}`);
// A benchmark reports; a missed target is a figure, not a failure (a crash still exits non-zero).
