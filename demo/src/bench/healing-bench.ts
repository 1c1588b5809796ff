// The healing benchmark (`npm run bench -w demo`, part of the root `npm run bench`; never in `npm test`):
//  1. the loop over 30 injected faults (5 per kind, 6 kinds), scrape and evaluation every 1 s: median and p95 of MTTD,
//     time to action and MTTR, and the healing success rate, against the targets and the design reference;
//  2. false actions: a fault-free soak of varied normal load with legitimate ramps (>= 10 min): healing
//     actions taken (target 0) and the anomaly-score quantiles over the soak.
// Figures are printed and written to bench-results/closed-loop.json (and an HTML report with a chart per fault).
import { mkdirSync, writeFileSync } from 'node:fs';
import { ANOMALY_THRESHOLD, SCORE_FAMILIES, type PrometheusClient } from '@selfheal/contracts';
import { join } from 'node:path';
import { FAULT_KINDS, type FaultKind } from '../workload/spec.js';
import { DEFAULT_SERVICES } from '../workload/spec.js';
import { REPO_ROOT, startClosedLoop } from '../loop/closed-loop.js';
import { ADMIN_TO_ACTION, type FaultRunResult } from '../loop/fault-milestones.js';
import { resetService, runFault, waitQuiet } from '../loop/fault-run.js';
import { writeReport } from '../loop/report.js';
import { featureQueries } from '../loop/features.js';
import { loopFigures, quantile, resultsTable, seconds, table } from '../loop/summary.js';
import { waitForModels } from '../loop/warmup.js';

const env = (name: string, fallback: number, min = 1): number => {
  const raw = process.env[name];
  const v = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(v) && v >= min ? v : fallback;
};
const SOAK_MINUTES = env('BENCH_SOAK_MINUTES', 10);
/** 0 runs the soak only. */
const PER_KIND = env('BENCH_FAULTS_PER_KIND', 5, 0);
const WARMUP = env('BENCH_WARMUP_SAMPLES', 200);
const OUT_DIR = join(REPO_ROOT, 'bench-results');
const REFERENCE = { mttd: 5.2, mttr: 42, success: 0.975 };
const TARGET = { mttd: 5, mttr: 20, success: 1 };

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const { anomalyScore, featureScore } = SCORE_FAMILIES;
const since = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s`;

async function scoreQuantiles(prometheus: PrometheusClient, startS: number, endS: number): Promise<Record<string, number>> {
  const series = await prometheus.queryRange(`${anomalyScore.name}{group="demo"}`, { start: startS, end: endS, stepSeconds: 1 });
  const values = series.flatMap((r) => r.values.map(([, v]) => v));
  return {
    samples: values.length,
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    p99: quantile(values, 0.99),
    p999: quantile(values, 0.999),
    max: values.length ? Math.max(...values) : Number.NaN,
    aboveThreshold: values.filter((v) => v > ANOMALY_THRESHOLD).length,
  };
}

/**
 * Every series the diagnosis of a miss needs, over the whole run at 1 s: per service the anomaly score, the
 * per-feature scores and each feature's value. Written beside the results (bench-results/closed-loop-series.json).
 */
async function dumpSeries(prometheus: PrometheusClient, startS: number, endS: number): Promise<Record<string, Record<string, [number, number][]>>> {
  const queries: Record<string, string> = {
    score: `max by (service) (${anomalyScore.name}{group="demo"})`,
    ...Object.fromEntries(Object.entries(featureQueries()).map(([name, q]) => [`feature:${name}`, q])),
  };
  const out: Record<string, Record<string, [number, number][]>> = {};
  const range = async (name: string, query: string, start: number, end: number): Promise<void> => {
    for (const r of await prometheus.queryRange(query, { start, end, stepSeconds: 1 })) {
      const service = r.metric.service ?? '';
      const key = r.metric.feature ? `${name}:${r.metric.feature}` : name;
      ((out[service] ??= {})[key] ??= []).push(...r.values);
    }
  };
  // Prometheus answers at most 11,000 points per series: read in 10,000 s chunks.
  for (let s = startS; s < endS; s += 10_000) {
    const e = Math.min(endS, s + 9_999);
    for (const [name, query] of Object.entries(queries)) await range(name, query, s, e);
    await range('feature_score', `max by (service, feature) (${featureScore.name}{group="demo"})`, s, e);
  }
  return out;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const services = DEFAULT_SERVICES.map((s) => s.name);
  const kinds: FaultKind[] = [];
  for (let i = 0; i < PER_KIND; i++) kinds.push(...FAULT_KINDS);
  // Each round of kinds starts one service further on, so that every kind meets every service (with six kinds and
  // three services, i mod 3 alone would put each kind on the same service every round).
  const plan = kinds.map((kind, i) => ({ kind, service: services[(i + Math.floor(i / FAULT_KINDS.length)) % services.length] ?? 'checkout' }));
  log(`healing benchmark: warm-up ${WARMUP} samples, soak ${SOAK_MINUTES} min, ${plan.length} faults`);

  const loop = await startClosedLoop({
    loadDurationMs: (WARMUP + 120 + SOAK_MINUTES * 60 + plan.length * 200) * 1000,
    detector: { warmup: WARMUP },
    onProgress: (m) => log(`${since(t0)}  ${m}`),
  });
  const stop = (): void => void loop.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    await waitForModels(loop.exporterUrl, services, (WARMUP + 300) * 1000, (ready, entities) => {
      const seen = Math.max(0, ...entities.map((e) => e.samplesSeen));
      if (seen % 30 === 0) log(`${since(t0)}  warm-up ${seen}/${WARMUP} samples, ${ready}/${services.length} models ready`);
    });
    for (const service of services) await waitQuiet(loop, service, 5000, 120_000);

    // 1. The loop over the faults.
    const results: FaultRunResult[] = [];
    for (const [i, fault] of plan.entries()) {
      const result = await runFault(loop, fault, { timeoutMs: 120_000 });
      results.push(result);
      log(`${since(t0)}  [${i + 1}/${plan.length}] ${fault.kind} on ${fault.service}: ${result.outcome}, MTTD ${seconds(result.firingAfter)}, action ${result.action ?? '—'} after ${seconds(result.actionAfter)}, MTTR ${seconds(result.recoveredAfter)}`);
      for (const service of [fault.service, ...result.collateralServices]) await resetService(loop, service);
      await waitQuiet(loop, fault.service, 8000, 120_000);
    }
    // 2. Soak (after the faults, so that the models have also seen incidents and repairs): normal load only, with legitimate ramps every 3 minutes (x1.6 over 60 s, hold 30 s, back in 60 s).
    log(`${since(t0)}  soak: ${SOAK_MINUTES} min of fault-free varied load`);
    const soakStart = Date.now();
    const cursor = loop.adminEvents.length;
    const soakEnd = soakStart + SOAK_MINUTES * 60_000;
    let nextRamp = soakStart + 30_000;
    let ramps = 0;
    while (Date.now() < soakEnd) {
      if (Date.now() >= nextRamp) {
        loop.workload.load?.ramp(1.6, 60, 30, 60);
        ramps += 1;
        nextRamp += 180_000;
        log(`${since(t0)}  soak: legitimate load ramp ${ramps} (x1.6)`);
      }
      await new Promise((r) => setTimeout(r, Math.min(10_000, Math.max(0, soakEnd - Date.now()))));
    }
    const falseActions = loop.adminEvents.slice(cursor).filter((e) => ADMIN_TO_ACTION[e.action] !== undefined);
    const soakScores = await scoreQuantiles(loop.stack.prometheusClient, soakStart / 1000, Date.now() / 1000);
    log(`${since(t0)}  soak done: ${falseActions.length} healing actions; anomaly score p50 ${soakScores.p50?.toFixed(3)}, p99 ${soakScores.p99?.toFixed(3)}, max ${soakScores.max?.toFixed(3)}`);

    const figures = loopFigures(results);
    mkdirSync(OUT_DIR, { recursive: true });
    const faultsAt = results.map((r) => ({ kind: r.kind, service: r.service, at: r.injectedAt / 1000, outcome: r.outcome }));
    const series = await dumpSeries(loop.stack.prometheusClient, Math.floor(t0 / 1000), Math.ceil(Date.now() / 1000)).catch((e: unknown) => ({ error: String(e) }));
    writeFileSync(join(OUT_DIR, 'closed-loop-series.json'), JSON.stringify({ faults: faultsAt, series }));

    log('');
    log(resultsTable(results));
    log('');
    const f = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : '—');
    log(
      table(
        ['figure', 'median', 'p95', 'target', 'design reference', 'median / reference'],
        [
          ['MTTD (fault -> alert firing)', f(figures.mttd.median), f(figures.mttd.p95), `<= ${TARGET.mttd} s`, `${REFERENCE.mttd} s`, (figures.mttd.median / REFERENCE.mttd).toFixed(2)],
          ['time to action', f(figures.timeToAction.median), f(figures.timeToAction.p95), '', '', ''],
          ['MTTR (fault -> metrics normal)', f(figures.mttr.median), f(figures.mttr.p95), `<= ${TARGET.mttr} s`, `${REFERENCE.mttr} s`, (figures.mttr.median / REFERENCE.mttr).toFixed(2)],
          ['alert resolved', f(figures.resolve.median), f(figures.resolve.p95), '', '', ''],
          ['healing success', `${(figures.successRate * 100).toFixed(1)} % (${figures.healed}/${figures.faults})`, '', '100 %', `${REFERENCE.success * 100} %`, ''],
          ['false actions in the soak', `${falseActions.length} in ${SOAK_MINUTES} min (${ramps} ramps)`, '', '0', '', ''],
          ['soak anomaly score', `p50 ${soakScores.p50?.toFixed(3)}`, `p99 ${soakScores.p99?.toFixed(3)}`, `max ${soakScores.max?.toFixed(3)}`, '', ''],
        ],
      ),
    );
    mkdirSync(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, 'closed-loop.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          at: new Date(t0).toISOString(),
          settings: { soakMinutes: SOAK_MINUTES, faults: plan.length, warmupSamples: WARMUP, scrapeInterval: '1s', evaluationInterval: '1s' },
          figures,
          soak: { falseActions: falseActions.map((e) => ({ ...e, action: ADMIN_TO_ACTION[e.action] })), ramps, scores: soakScores },
          targets: TARGET,
          reference: REFERENCE,
          results: results.map((r) => ({ ...r, samples: undefined, featureSamples: undefined })),
        },
        null,
        2,
      ),
    );
    const report = await writeReport(join(OUT_DIR, 'closed-loop-report'), results, 'Selfheal healing benchmark');
    log(`results: ${file}; report: ${report.html}`);
  } finally {
    await loop.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`healing benchmark failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
