// `selfheal demo`: the closed loop on this machine (see demo/README.md).
import { InvalidArgumentError, type Command } from 'commander';
import { FAULT_KINDS, injectOverHttp, parseParams, runDemo, serveWorkload, type FaultKind } from '@selfheal/demo';

function faultList(value: string): FaultKind[] {
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError(`unknown fault "${kind}"; choose from ${FAULT_KINDS.join(', ')}`);
    }
  }
  return kinds as FaultKind[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 20) throw new InvalidArgumentError('must be a whole number of samples, at least 20');
  return n;
}

export function registerDemo(program: Command): void {
  const demo = program
    .command('demo')
    .description('Run the closed loop on 127.0.0.1: demo workload, Prometheus, Alertmanager, exporter, healing service; inject each fault and watch it heal')
    .option('--faults <list>', `comma-separated fault kinds, in order (default: all: ${FAULT_KINDS.join(',')})`, faultList)
    .option('--report-dir <dir>', 'where the HTML report and PNG charts go', 'demo-report')
    .option('--warmup <samples>', 'normal-load samples (1 s each) the models learn from before the first fault', positiveInt, 120)
    .option('--keep-running', 'keep everything running after the last fault, until Ctrl-C')
    .option('--no-demotion', 'skip the demotion shown after the faults (a cache that cannot help, demoted to approve mode; ~3 min)')
    .action(async (opts: { faults?: FaultKind[]; reportDir: string; warmup: number; keepRunning?: boolean; demotion: boolean }) => {
      try {
        const run = await runDemo({
          ...(opts.faults ? { faults: opts.faults } : {}),
          reportDir: opts.reportDir,
          warmupSamples: opts.warmup,
          ...(opts.keepRunning ? { keepRunning: true } : {}),
          ...(opts.demotion ? {} : { demotion: false }),
        });
        // Non-zero unless every fault healed and the demotion phase (when run) showed the demotion.
        process.exitCode = run.ok ? 0 : 1;
      } catch (error) {
        console.error(`selfheal demo: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });

  demo
    .command('workload')
    .description('Run only the demo workload (services, load balancer, load generator, admin API), e.g. for docker-compose')
    .option('--listen <host:port>', 'where the load balancer, admin API and /metrics listen', '127.0.0.1:8081')
    .option('--load-hours <hours>', 'the load generator stops by itself after this long', (v) => {
      const n = Number(v);
      if (!(n > 0 && n <= 24 * 30)) throw new InvalidArgumentError('must be a number of hours, > 0 and at most 720');
      return n;
    }, 8)
    .action(async (opts: { listen: string; loadHours: number }) => {
      try {
        const workload = await serveWorkload({ listen: opts.listen, loadHours: opts.loadHours });
        console.log(`demo workload on ${workload.url}: /svc/<service>/items/<id>, /admin/state, /metrics`);
        const stop = (): void => void workload.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (error) {
        console.error(`selfheal demo workload: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });

  demo
    .command('inject <kind> <service> [params...]')
    .description(`Inject a fault into a running demo workload (kinds: ${FAULT_KINDS.join(', ')}; "clear" removes them), e.g. inject slow_dependency search latencyMs=400`)
    .option('--url <url>', 'the workload', 'http://127.0.0.1:8081')
    .action(async (kind: string, service: string, params: string[], opts: { url: string }) => {
      try {
        console.log(JSON.stringify(await injectOverHttp(opts.url, service, kind as FaultKind | 'clear', parseParams(params))));
      } catch (error) {
        console.error(`selfheal demo inject: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });
}
