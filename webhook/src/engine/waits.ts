// Where incidents of this process wait: for time on the engine's clock, or to be woken early (the alert resolved,
// capacity freed up, the engine stopped). Also what idle() waits for: incidents being worked on, apart from the
// deferred ones waiting for their guardrail to lift.
import type { Guardrail } from '@selfheal/contracts';
import type { Clock } from '../util/clock.js';

/** Why a wait ended early. */
export type Wake = 'resolved' | 'capacity' | 'stop' | 'decided';

export class Waits {
  private readonly wakers = new Map<number, Set<(why: Wake) => void>>();
  /** Incidents whose task waits for a guardrail to lift (not busy: idle() does not wait for them). */
  private readonly deferred = new Set<number>();
  /** Of those, the ones held back by maxConcurrent: woken when an action here ends. */
  private readonly capacity = new Set<number>();
  /** Incidents whose task waits for a person's approval (not busy either). */
  private readonly awaiting = new Set<number>();
  private readonly idleListeners = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Waits until `until` (the engine's clock), or until woken: the incident resolved, capacity freed, or a stop. */
  async sleep(incidentId: number, until: number): Promise<Wake | 'time'> {
    let wake: (why: Wake) => void = () => undefined;
    const woken = new Promise<Wake>((resolve) => { wake = resolve; });
    const set = this.wakers.get(incidentId) ?? new Set();
    set.add(wake);
    this.wakers.set(incidentId, set);
    const timer = new AbortController();
    try {
      return await Promise.race([woken, this.clock.sleepUntil(until, timer.signal).then(() => 'time' as const)]);
    } finally {
      timer.abort();
      set.delete(wake);
      if (set.size === 0) this.wakers.delete(incidentId);
    }
  }

  /** Wakes every wait of the incident. */
  wake(incidentId: number, why: Wake): void {
    for (const wake of this.wakers.get(incidentId) ?? []) wake(why);
  }

  wakeAll(why: Wake): void {
    for (const set of this.wakers.values()) for (const wake of set) wake(why);
  }

  /** An action of this process ended: deferrals held back by maxConcurrent are decided again now. */
  capacityFreed(): void {
    for (const id of this.capacity) this.wake(id, 'capacity');
  }

  /** Runs `fn` (the wait of a deferral) with the incident counted as deferred, not busy. */
  async deferredWhile<T>(incidentId: number, guardrail: Guardrail | undefined, fn: () => Promise<T>): Promise<T> {
    this.deferred.add(incidentId);
    if (guardrail === 'max_concurrent') this.capacity.add(incidentId);
    this.changed();
    try {
      return await fn();
    } finally {
      this.deferred.delete(incidentId);
      this.capacity.delete(incidentId);
      this.changed();
    }
  }

  /** Runs `fn` (the wait for a person's decision) with the incident counted as awaiting approval, not busy. */
  async awaitingWhile<T>(incidentId: number, fn: () => Promise<T>): Promise<T> {
    this.awaiting.add(incidentId);
    this.changed();
    try {
      return await fn();
    } finally {
      this.awaiting.delete(incidentId);
      this.changed();
    }
  }

  isAwaiting(incidentId: number): boolean {
    return this.awaiting.has(incidentId);
  }

  get awaitingCount(): number {
    return this.awaiting.size;
  }

  isDeferred(incidentId: number): boolean {
    return this.deferred.has(incidentId);
  }

  get deferredCount(): number {
    return this.deferred.size;
  }

  /** Resolves at the next change (a task ended, a deferral started or ended). */
  nextChange(): Promise<void> {
    return new Promise<void>((resolve) => this.idleListeners.add(resolve));
  }

  changed(): void {
    const listeners = [...this.idleListeners];
    this.idleListeners.clear();
    for (const l of listeners) l();
  }
}
