// Runs the exporter as a process: config from a file, SIGHUP reloads it (validated first, the old one kept
// on error), SIGTERM/SIGINT stop it cleanly (cycles in flight finish, models are saved).
import { pino } from 'pino';
import { loadExporterConfig } from '../config/load.js';
import type { ExporterConfig } from '../config/schema.js';
import type { Shard } from '../shard/shard.js';
import type { DetectorFactory, DetectorScheduleSettings } from '../detector/factory.js';
import { ExporterService } from './exporter-service.js';

export interface RunOptions<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  configFile: string;
  factory: DetectorFactory<O>;
  /** Overrides of the file's settings from the command line. */
  overrides?: { listen?: string | undefined; logLevel?: ExporterConfig['logLevel'] | undefined; stateDir?: string | undefined; shard?: Shard | undefined };
}

export interface RunningExporter<O extends DetectorScheduleSettings = DetectorScheduleSettings> {
  service: ExporterService<O>;
  url: string;
  /** Resolves when the process has been asked to stop and has stopped. */
  stopped: Promise<void>;
}

function withOverrides<O extends DetectorScheduleSettings>(config: ExporterConfig<O>, overrides: RunOptions['overrides']): ExporterConfig<O> {
  return {
    ...config,
    ...(overrides?.listen ? { listen: overrides.listen } : {}),
    ...(overrides?.logLevel ? { logLevel: overrides.logLevel } : {}),
    ...(overrides?.stateDir ? { stateDir: overrides.stateDir } : {}),
    // The flag wins over the file's `shard:` (a StatefulSet derives it from the pod ordinal).
    ...(overrides?.shard ? { shard: { ...config.shard, index: overrides.shard.index, count: overrides.shard.count } } : {}),
  };
}

/** Loads the config (throws ConfigError with every problem) and starts the service with signal handling. */
export async function runExporter<O extends DetectorScheduleSettings>(options: RunOptions<O>): Promise<RunningExporter<O>> {
  const load = (): ExporterConfig<O> => withOverrides(loadExporterConfig(options.configFile, options.factory), options.overrides);
  const config = load();
  const logger = pino({ level: config.logLevel });
  const service = new ExporterService({ config, factory: options.factory, logger });
  const url = await service.start();

  let reloading = Promise.resolve();
  const onHangup = (): void => {
    reloading = reloading.then(async () => {
      logger.info({ file: options.configFile }, 'SIGHUP: reloading the configuration');
      let next: ExporterConfig<O>;
      try {
        next = load();
      } catch (error) {
        service.reloadRejected(error as Error);
        return;
      }
      try {
        await service.reload(next);
      } catch (error) {
        service.reloadRejected(error as Error);
      }
    });
  };
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    process.off('SIGHUP', onHangup);
    void reloading
      .then(() => service.stop())
      .catch((error: unknown) => logger.error({ error: (error as Error).message }, 'error while stopping'))
      .finally(() => {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
        resolveStopped();
      });
  };
  process.on('SIGHUP', onHangup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return { service, url, stopped };
}
