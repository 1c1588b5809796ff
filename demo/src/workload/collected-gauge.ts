// A gauge whose series are computed at scrape time from the workload's state (prom-client's `collect`): emptied
// first, so a series whose subject is gone (a scaled-down instance, a pruned revision) disappears with it.
import { Gauge, type Registry } from 'prom-client';

export function collectedGauge(registry: Registry, name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      collect(this);
    },
  });
}
