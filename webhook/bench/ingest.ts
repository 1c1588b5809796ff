// Webhook ingest benchmark: Alertmanager-shaped notifications (one alert each, every one a new alert
// occurrence, so each is recorded durably and decided by the policy) posted over loopback.
// Durability on: SQLite WAL with synchronous=FULL (or PostgreSQL with fsync and synchronous_commit on), and
// the 2xx only after the commit.
// Phases: a reference measured in the same run (GET /-/healthy on the same server: the HTTP stack alone,
// autocannon), a sustained phase at a fixed arrival rate (open loop: requests are sent on schedule whether or
// not earlier ones were answered, and latency counts from the scheduled send, so a stall is not hidden by
// the client waiting: no coordinated omission), and a peak phase (autocannon, 50 connections, closed loop).
// Finally it checks that every acknowledged alert is in the store.
//   npx tsx webhook/bench/ingest.ts [--store sqlite|postgres]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { stringify } from 'yaml';
import { freePort } from '../test/support/ports.js';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../test/support/postgres.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10); // seconds per phase
const RATE = Number(process.env.BENCH_RATE ?? 1000); // alerts/s for the sustained phase
const TOKEN = 'bench-token-0123456789abcdef';
const storeArg = process.argv.indexOf('--store');
const STORE = (storeArg > 0 ? process.argv[storeArg + 1] : process.env.BENCH_STORE) ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error(`--store must be sqlite or postgres, not ${STORE}`);
let postgres: PostgresServer | undefined;
if (STORE === 'postgres') {
  const why = postgresUnavailable();
  if (why) {
    console.log(`selfheal webhook ingest benchmark (PostgreSQL): skipped: ${why}`);
    process.exit(0);
  }
  postgres = await startPostgres({ fsync: true });
}

const dir = mkdtempSync(join(tmpdir(), 'selfheal-bench-'));
const port = await freePort();
writeFileSync(join(dir, 'token'), TOKEN);
const config = join(dir, 'config.yml');
writeFileSync(config, stringify({
  listen: `127.0.0.1:${port}`,
  auth: { type: 'bearer', tokenFile: join(dir, 'token') },
  store: postgres ? { url: postgres.url } : { path: join(dir, 'bench.db'), synchronous: 'full' },
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
const exited = new Promise((r) => child.once('exit', r));

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

interface OpenLoopResult { sent: number; ok: number; non2xx: number; errors: number; seconds: number; latencies: number[] }

/**
 * Open-loop load: `rate` requests per second for `seconds`, each sent at its scheduled time on a keep-alive
 * connection pool (up to 256 sockets), whatever happened to the earlier ones. Latency is measured from the
 * scheduled send time. Bounded: exactly rate*seconds requests, then waits (at most 30 s) for the answers.
 */
function openLoop(rate: number, seconds: number): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const res: OpenLoopResult = { sent: 0, ok: 0, non2xx: 0, errors: 0, seconds: 0, latencies: [] };
  const start = performance.now();
  let done = 0;
  return new Promise((resolve) => {
    const finish = () => { res.seconds = (performance.now() - start) / 1000; agent.destroy(); resolve(res); };
    const giveUp = setTimeout(finish, (seconds + 30) * 1000);
    const answered = () => { if (++done === total) { clearTimeout(giveUp); finish(); } };
    const send = (scheduled: number) => {
      const data = body();
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/alerts', method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(data) } }, (r) => {
        r.resume();
        r.on('end', () => {
          if (r.statusCode && r.statusCode >= 200 && r.statusCode < 300) { res.ok++; res.latencies.push(performance.now() - scheduled); } else res.non2xx++;
          answered();
        });
      });
      req.on('error', () => { res.errors++; answered(); });
      req.end(data);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      while (res.sent < due) send(start + (res.sent++ * 1000) / rate);
      if (res.sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

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

const storeText = postgres ? 'PostgreSQL 15 on loopback, fsync + synchronous_commit on' : 'SQLite WAL, synchronous=FULL';
console.log(`selfheal webhook ingest benchmark — loopback, ${DURATION}s per phase, durability on (${storeText}, ack after commit)`);
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine skews every figure, the reference included)`);
await ingest({ duration: 2 }); // warm-up (JIT, page cache)
const reference = await measured(() => run({ url: `${url}/-/healthy`, connections: 10, duration: DURATION }));
const cpuBefore = serviceCpuSeconds();
const clientBefore = process.cpuUsage();
const sustained = await openLoop(RATE, DURATION);
const sustainedCpu = serviceCpuSeconds() - cpuBefore;
const clientCpu = process.cpuUsage(clientBefore);
const peak = await measured(() => ingest({ connections: 50 }));
const refCpu = (cpu.get(reference) ?? Number.NaN) / Math.max(1, reference['2xx']);
console.log(`${'reference: GET /-/healthy'.padEnd(34)} ${(reference['2xx'] / reference.duration).toFixed(0).padStart(6)} req/s     p50 ${String(reference.latency.p50).padStart(4)} ms  p99 ${String(reference.latency.p99).padStart(4)} ms  service CPU ${(refCpu * 1e6).toFixed(0)} µs/request`);
const lat = sustained.latencies.sort((a, b) => a - b);
const ms = (v: number) => v.toFixed(1).padStart(6);
const sustainedRate = sustained.ok / Math.max(DURATION, sustained.seconds);
console.log(`${`sustained at ${RATE}/s (open loop)`.padEnd(34)} ${sustainedRate.toFixed(0).padStart(6)} alerts/s  p50 ${ms(pct(lat, 0.5))} ms  p99 ${ms(pct(lat, 0.99))} ms  max ${ms(lat[lat.length - 1] ?? Number.NaN)} ms  non-2xx ${sustained.non2xx}  errors ${sustained.errors}  service CPU ${((sustainedCpu / Math.max(1, sustained.ok)) * 1e6).toFixed(0)} µs/alert (load generator: ${((clientCpu.user + clientCpu.system) / Math.max(1, sustained.sent)).toFixed(0)} µs/request)`);
line('peak (as fast as it goes)', peak);
const peakCpu = (cpu.get(peak) ?? Number.NaN) / Math.max(1, peak['2xx']);
console.log(`ratio peak ingest / reference: ${(peak['2xx'] / peak.duration / (reference['2xx'] / reference.duration)).toFixed(2)} (throughput), ${(peakCpu / refCpu).toFixed(2)} (service CPU per request)`);
console.log(`service CPU capacity: ${(1 / peakCpu).toFixed(0)} alerts/s per fully available core (${(peakCpu * 1e6).toFixed(0)} µs CPU per acknowledged alert, HTTP + validation + durable record + decision)`);

await new Promise((r) => setTimeout(r, 500));
child.kill('SIGTERM');
await exited;
let stored: number;
if (postgres) {
  const c = new pg.Client(postgres.url);
  await c.connect();
  stored = (await c.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM incidents')).rows[0]?.n ?? 0;
  await c.end();
  await postgres.stop();
} else {
  const db = new Database(join(dir, 'bench.db'), { readonly: true });
  stored = (db.prepare('SELECT COUNT(*) AS n FROM incidents').get() as { n: number }).n;
  db.close();
}
const acked = sustained.ok + peak['2xx'];
rmSync(dir, { recursive: true, force: true });
console.log(`durability: ${acked} alerts acknowledged in the measured phases, ${stored} incidents in the store (warm-up included)`);

const pass = sustainedRate >= RATE * 0.97 && pct(lat, 0.99) < 50 && sustained.non2xx === 0 && sustained.errors === 0 && stored >= acked;
console.log(`target (>= ${RATE} alerts/s sustained, p99 ack < 50 ms, nothing lost): ${pass ? 'MET' : 'NOT MET'}`);
// A benchmark reports; a missed target is a figure, not a failure (a crash still exits non-zero).
