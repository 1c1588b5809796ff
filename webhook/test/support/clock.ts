// A clock that only moves when the test says so: waits on it end when advance() passes their time.
import type { Clock } from '../../src/util/clock.js';

export class ManualClock implements Clock {
  private t: number;
  private readonly sleepers = new Set<{ at: number; wake: () => void }>();

  constructor(start = Math.floor(Date.now() / 1000)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    if (at <= this.t || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = { at, wake: () => { this.sleepers.delete(sleeper); signal.removeEventListener('abort', sleeper.wake); resolve(); } };
      this.sleepers.add(sleeper);
      signal.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** Moves time forward by `seconds`, waking every wait that is due. */
  advance(seconds: number): void {
    this.t += seconds;
    for (const s of [...this.sleepers]) if (s.at <= this.t) s.wake();
  }

  /** Waits that have not ended yet (a test can tell the engine is waiting before it moves time). */
  get waiting(): number {
    return this.sleepers.size;
  }

  /** The earliest time a wait ends at, if any. */
  get nextWake(): number | undefined {
    let next: number | undefined;
    for (const s of this.sleepers) if (next === undefined || s.at < next) next = s.at;
    return next;
  }
}
