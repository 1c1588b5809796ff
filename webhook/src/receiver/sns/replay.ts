// The MessageIds of SNS messages already acted on, kept as long as such a message could still be accepted (its
// Timestamp + maxAge): SNS redelivers with the same MessageId, and a replayed copy must not be acted on twice.
// In memory, per replica: after a restart, or on another replica, the store's idempotency key (fingerprint +
// startsAt of each alert) still makes a copy a duplicate; this only spares it the work.
export class SeenMessages {
  private readonly until = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  has(id: string, now: number): boolean {
    const t = this.until.get(id);
    return t !== undefined && t >= now;
  }

  add(id: string, keepUntil: number, now: number): void {
    this.until.delete(id);
    this.until.set(id, keepUntil);
    // Oldest first (insertion order): drop the expired ones, and the oldest past the bound.
    for (const [key, t] of this.until) {
      if (t >= now && this.until.size <= this.maxEntries) break;
      this.until.delete(key);
    }
  }

  get size(): number {
    return this.until.size;
  }
}
