// `npm run bench` (exporter): runs each benchmark of this package in its own process, in order, and prints its
// figures. Names after `--` pick a subset, e.g. `npm run bench -w exporter -- forest-speed`; any other argument is
// passed to the benchmarks picked, e.g. `npm run bench -w exporter -- nab --seeds 1,2,3,4,5`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = ['forest-speed', 'nab', 'smd', 'exporter-bench', 'shard-bench'];
const argv = process.argv.slice(2);
const wanted = argv.filter((a) => BENCHES.includes(a));
const forwarded = argv.filter((a) => !BENCHES.includes(a));
if (forwarded.length > 0 && wanted.length === 0) {
  console.error(`bench options (${forwarded.join(' ')}) need the name of the bench they are for: one of ${BENCHES.join(', ')}`);
  process.exit(2);
}
const here = (name: string): string => fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

let failed = 0;
for (const name of BENCHES) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  if (!existsSync(here(name))) continue;
  console.log(`\n#### exporter bench: ${name}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [tsx, here(name), ...forwarded], { stdio: 'inherit' });
  console.log(`#### ${name}: ${r.status === 0 ? 'done' : `FAILED (exit ${String(r.status ?? r.signal)})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
