// Group commit: alerts from every request that arrives while the previous transaction is being written are
// recorded together in ONE store transaction; each request is acknowledged once that commit is durable.
// At most one ingest transaction is in flight per process: requests arriving meanwhile form the next batch,
// so under load batches grow by themselves and each commit (and disk sync) is shared by more requests.
import type { IngestDecider, IngestOutcome, Store } from '../audit/types.js';
import type { ReceivedAlert } from '@selfheal/contracts';

interface Pending {
  alerts: ReceivedAlert[];
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (err: unknown) => void;
}

export class IngestQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private writing = 0;

  /**
   * @param concurrency transactions in flight at once: 1 for SQLite (one writer anyway), more for a network
   *   store where a commit waits on a round trip rather than on this process.
   */
  constructor(private readonly store: Store, private readonly decide?: IngestDecider, private readonly maxBatch = 512, private readonly concurrency = 1) {}

  write(alerts: ReceivedAlert[]): Promise<IngestOutcome[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ alerts, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing >= this.concurrency || this.pending.length === 0) return;
    this.scheduled = true;
    // Let every request already parsed in this event-loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.writing >= this.concurrency || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.writing++;
    this.store.ingest(batch.map((p) => p.alerts), this.decide).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i] ?? [])),
      (err: unknown) => { for (const p of batch) p.reject(err); },
    ).finally(() => {
      this.writing--;
      this.schedule();
    });
  }
}
