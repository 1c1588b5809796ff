// A runner's warnings about its configuration or its data, logged once each (they would otherwise repeat every cycle).
import type { Logger } from 'pino';

/** Logs a warning once per key for the runner's life (a misconfigured query would otherwise warn every cycle). */
export class WarnOnce {
  private readonly warned = new Set<string>();

  constructor(private readonly logger: Logger) {}

  warn(key: string, message: string, extra: Record<string, unknown> = {}): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(extra, message);
  }
}
