// Group commit: alerts from every request that arrives within one event-loop turn are written in a single
// SQLite transaction; requests are acknowledged once the WAL is synced to disk (syncs are shared).
import type { HealingStore, IngestOutcome } from '../store/store.js';
import type { ReceivedAlert } from './payload.js';

interface Pending {
  alerts: ReceivedAlert[];
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (err: unknown) => void;
}

export class IngestQueue {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly store: HealingStore, private readonly maxBatch = 512) {}

  write(alerts: ReceivedAlert[]): Promise<IngestOutcome[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ alerts, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let results: IngestOutcome[][];
    try {
      results = this.store.ingest(batch.map((p) => p.alerts));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.store.flushToDisk().then(
      () => batch.forEach((p, i) => p.resolve(results[i] ?? [])),
      (err: unknown) => { for (const p of batch) p.reject(err); },
    );
  }
}
