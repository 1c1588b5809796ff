// `selfheal demo`: the whole loop, live in the terminal. Starts everything, waits for the models, injects each
// fault in turn, shows each step with its time, prints the summary and writes the report.
import { resolve } from 'node:path';
import type { FaultKind } from '../workload/spec.js';
import { DEFAULT_SERVICES, FAULT_KINDS } from '../workload/spec.js';
import { startClosedLoop, type ClosedLoop } from './closed-loop.js';
import type { FaultRunResult } from './fault-milestones.js';
import { clearFaults, resetService, runFault, waitQuiet, type FaultPlan } from './fault-run.js';
import { followRevert, type RevertRunResult } from './revert-run.js';
import { releaseNote } from './release-note.js';
import { runDemotion, type DemotionRunResult } from './demotion-run.js';
import { writeReport } from './report.js';
import { loopFigures, resultsTable, seconds } from './summary.js';
import { waitForModels } from './warmup.js';

export interface DemoOptions {
  faults?: readonly FaultKind[];
  reportDir?: string;
  /** Detector warm-up in samples (1 s each); lower is faster and less careful. */
  warmupSamples?: number;
  /** Stay up after the last fault until Ctrl-C. */
  keepRunning?: boolean;
  /**
   * After the faults, show a demotion (demotion-run.ts: a cache that cannot help fails twice, the efficacy ledger
   * demotes it to approve mode, the next alert waits for a person). Default: when the faults include slow_dependency.
   */
  demotion?: boolean;
  out?: NodeJS.WritableStream;
}

/** Fault i goes to service i mod n, so consecutive faults hit different services. */
export function faultPlan(kinds: readonly FaultKind[], services: readonly string[]): FaultPlan[] {
  return kinds.map((kind, i) => ({ kind, service: services[i % services.length] ?? 'checkout' }));
}

/** What a demo run showed: each fault's run, and the demotion phase (when it was asked for). */
export interface DemoResult {
  faults: FaultRunResult[];
  /** The demotion phase's run; undefined when not asked for or when it stopped on an error. */
  demotion?: DemotionRunResult;
  /**
   * Whether the run showed what it set out to: every fault healed, and, when the demotion phase was asked for, the
   * action demoted and the next alert waiting for a person (the CLI's exit code).
   */
  ok: boolean;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? process.stdout;
  const tty = 'isTTY' in out && Boolean((out as NodeJS.WriteStream).isTTY);
  const print = (line = ''): void => void out.write(`${line}\n`);
  let statusShown = false;
  const status = (line: string): void => {
    if (tty) {
      out.write(`\r\x1b[2K${line}`);
      statusShown = true;
    } else print(line);
  };
  const endStatus = (): void => {
    if (statusShown) out.write('\n');
    statusShown = false;
  };

  const services = DEFAULT_SERVICES.map((s) => s.name);
  const kinds = options.faults ?? FAULT_KINDS;
  const warmupSamples = options.warmupSamples ?? 120;
  const plan = faultPlan(kinds, services);
  const demotion = options.demotion ?? kinds.includes('slow_dependency');
  const loadMs = (warmupSamples + 60 + plan.length * 150 + (demotion ? 480 : 0)) * 1000 + (options.keepRunning ? 3600_000 : 0);

  let loop: ClosedLoop | undefined;
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    endStatus();
    print('\nCtrl-C: stopping everything the demo started ...');
    void (loop?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    print('Selfheal demo: workload -> Prometheus -> anomaly exporter -> alert -> Alertmanager -> healing service -> repair');
    loop = await startClosedLoop({
      loadDurationMs: loadMs,
      detector: { warmup: warmupSamples },
      onProgress: (message) => status(`starting: ${message}`),
    });
    endStatus();
    const l = loop;
    print('');
    print('Watch it live (all on 127.0.0.1):');
    print(`  workload (admin API /admin/state, metrics /metrics)  ${l.workload.url}/admin/state`);
    print(`  Prometheus                                         ${l.stack.prometheusUrl}/alerts`);
    print(`  Alertmanager                                       ${l.stack.alertmanagerUrl ?? '-'}`);
    print(`  anomaly exporter                                   ${l.exporterUrl}/api/v1/entities`);
    print(`  healing service (bearer token in ${l.workDir}/webhook-token)  ${l.webhookUrl}/metrics`);
    print('  Grafana view: with Docker, `docker compose up -d` in the repository root runs the same loop with Grafana');
    print('  (http://localhost:3000, Selfheal overview dashboard with the health-timeline panel; see docker-compose.yml).');
    print('');

    const started = Date.now();
    await waitForModels(l.exporterUrl, services, (warmupSamples + 240) * 1000, (ready, entities) => {
      const seen = Math.max(0, ...entities.map((e) => e.samplesSeen));
      const width = 30;
      const done = Math.min(width, Math.round((Math.min(seen, warmupSamples) / warmupSamples) * width));
      status(`warm-up: models learn normal load [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${Math.min(seen, warmupSamples)}/${warmupSamples} samples, ${ready}/${services.length} ready, ${Math.round((Date.now() - started) / 1000)} s`);
    });
    endStatus();
    // A few scored cycles so the calibration settles before the first fault.
    for (const service of services) await waitQuiet(l, service, 5000, 60_000);
    print(`models ready after ${Math.round((Date.now() - started) / 1000)} s; injecting ${plan.length} faults, one at a time`);

    const results: FaultRunResult[] = [];
    const reverts: RevertRunResult[] = [];
    for (const [i, fault] of plan.entries()) {
      print('');
      print(`[${i + 1}/${plan.length}] ${fault.kind} on ${fault.service} (expected repair: ${REPAIR_NOTE[fault.kind]})`);
      const result = await runFault(l, fault, {
        onEvent: (message, t) => print(`  +${t.toFixed(1).padStart(5)} s  ${message}`),
      });
      results.push(result);
      print(`  => ${result.outcome}: MTTD ${seconds(result.firingAfter)}, action after ${seconds(result.actionAfter)}, MTTR ${seconds(result.recoveredAfter)}`);
      if (fault.kind === 'bad_release') for (const line of await releaseNote(l, result)) print(`  ${line}`);
      if (result.outcome === 'healed' && (result.action === 'enable_cache' || result.action === 'scale_up')) {
        // The demo's cache and scale-up are fixes that undo themselves (revertAfter in demo/config/policy.yml): clear
        // the fault and leave the fix in place; once the service has been calm that long the healing service undoes it
        // (the cache off; the replicas back to the baseline).
        await clearFaults(l, fault.service);
        const replicas = (): number | undefined => l.workload.state().find((s) => s.service === fault.service)?.replicas;
        print(`  fault cleared, ${result.action === 'scale_up' ? `the ${replicas() ?? '?'} instances left running` : 'the cache left on'}: the fix undoes itself once the service has been calm for revertAfter (GET /api/v1/reverts)`);
        const revert = await followRevert(l, { service: fault.service, action: result.action, since: result.injectedAt }, {
          onEvent: (message, t) => print(`  +${t.toFixed(1).padStart(5)} s  ${message}`),
        });
        reverts.push(revert);
        print(`  => revert ${revert.revert?.status ?? 'not seen'}${revert.endedAfter !== undefined ? ` after ${seconds(revert.endedAfter)}` : ''}; workload calls: ${revert.adminActions.join(', ') || 'none'}${result.action === 'scale_up' ? `; replicas now ${replicas() ?? '?'}` : ''}`);
      }
      for (const service of [fault.service, ...result.collateralServices]) await resetService(l, service);
      status('  back to normal: fault cleared, repair undone; waiting for the service to be quiet ...');
      await waitQuiet(l, fault.service, 8000, 120_000);
      endStatus();
    }

    let demoted: DemotionRunResult | undefined;
    if (demotion) {
      // Not one of the plan's slow-dependency services: enable_cache has no successes there to outweigh the failures.
      const service = services.find((s) => !plan.some((f) => f.kind === 'slow_dependency' && f.service === s)) ?? services[0] ?? 'checkout';
      print('');
      print(`Demotion: a slow dependency on ${service} whose answers cannot be cached, again and again. The policy answers with`);
      print('enable_cache, which cannot help; below the efficacy floor (demo/config/policy.yml: efficacy) the ledger demotes it to approve mode.');
      // A failed API call ends this phase, said, and the summary and report still come.
      demoted = await runDemotion(l, service, { onEvent: (message, t) => print(`  +${t.toFixed(1).padStart(5)} s  ${message}`) }).catch((err: unknown) => {
        print(`  demotion phase stopped: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      const d = demoted?.demotion;
      if (demoted) print(`  => ${d ? `demoted after ${demoted.attempts.length} failed attempts (${d.successes}/${d.attempts} healed, floor ${Math.round(d.floor * 100)} %)` : 'not demoted'}` +
        `${demoted.approval ? `; the next alert waited for approval #${demoted.approval.id} (${demoted.approval.status} by ${demoted.approval.decided_by ?? '?'})` : ''}; took ${seconds(demoted.tookSeconds)}`);
    }

    print('');
    print('Summary');
    print(resultsTable(results));
    const figures = loopFigures(results);
    print('');
    print(`healed ${figures.healed}/${figures.faults}; median MTTD ${seconds(figures.mttd.median)}, median time to action ${seconds(figures.timeToAction.median)}, median MTTR ${seconds(figures.mttr.median)}`);
    const collateral = results.flatMap((r) => r.collateralActions);
    print(`actions on services without a fault: ${collateral.length ? collateral.join(', ') : 'none'}`);
    const approved = results.filter((r) => r.approval !== undefined);
    print(`trust levels: ${approved.length} action(s) waited for a person and were approved through POST /api/v1/approvals/{id}${approved.length ? ` (${approved.map((r) => `${r.expectedAction} on ${r.service}`).join(', ')})` : ''}`);
    const reverted = reverts.filter((r) => r.revert?.status === 'reverted').length;
    print(`fixes that undo themselves: ${reverts.length} followed (${reverts.map((r) => r.revert?.action ?? '?').join(', ') || 'none'}), ${reverted} reverted once the service was calm${reverts.length > reverted ? `, ${reverts.length - reverted} not (${reverts.map((r) => r.revert?.status ?? 'none').join(', ')})` : ''}`);
    if (demoted) {
      print(`efficacy ledger: ${demoted.demotion ? `enable_cache demoted to approve mode on ${demoted.service} after ${demoted.attempts.map((a) => a.status ?? 'no verdict').join(', ')} (GET /api/v1/demotions; audit: demoted)${demoted.approval ? ', the next alert waited for a person' : ', but no approval request was seen'}${demoted.lifted ? ', then lifted' : ''}` : `enable_cache not demoted on ${demoted.service} (${demoted.attempts.map((a) => a.status ?? 'no verdict').join(', ')})`}`);
    }
    const dir = resolve(options.reportDir ?? 'demo-report');
    const report = await writeReport(dir, results, 'Selfheal demo: the closed loop', [`Run at ${new Date(started).toISOString()}.`]);
    print(`report: ${report.html}`);
    for (const png of report.pngs) print(`chart:  ${png}`);
    if (report.pngError) print(report.pngError);

    if (options.keepRunning) {
      print('');
      print('Everything keeps running; Ctrl-C stops it.');
      await new Promise(() => undefined);
    }
    const demotionShown = !demotion || (demoted?.demotion !== undefined && demoted.approval !== undefined);
    if (!demotionShown) print('the demotion phase did not show a demotion followed by an approval request (see above): exit code 1');
    return { faults: results, ...(demoted ? { demotion: demoted } : {}), ok: results.every((r) => r.outcome === 'healed') && demotionShown };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) await loop?.stop();
  }
}

const REPAIR_NOTE: Record<FaultKind, string> = {
  cpu_saturation: 'scale_up, more instances spread the load',
  memory_leak: 'restart, fresh processes free the leak',
  slow_dependency: 'enable_cache, the cache serves the slow path',
  failing_dependency: 'open_circuit_breaker, fail fast with a fallback',
  bad_instance: 'quarantine, the bad instance leaves the rotation',
  bad_release: 'rollback, the previous version replaces the new one (the alert began right after a rollout: when: recentChange)',
};
