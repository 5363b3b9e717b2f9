/**
 * The deduplication ledger [DEDUP-1] (seed 002: "a rolling Deduplication Ledger, in-memory
 * key-value with a 15-minute TTL"). A receiving broker records each guaranteed event it has taken
 * responsibility for, per destination it handled; a retry of the same event for the same
 * destination is discarded and acknowledged again, so retries never reach a subscriber twice.
 *
 * Entries expire `ttlMs` after they were recorded. The TTL is the same for every entry, so
 * insertion order is expiry order and a Map's own order is the expiry queue.
 */
import type { BrokerId, Millis } from './types.ts';

/** Bytes per entry for the report: key string (~50 B), Map slot and number (modeled, not measured). */
export const LEDGER_ENTRY_BYTES = 96;

export class DedupLedger {
  private readonly expiry = new Map<string, Millis>();

  constructor(readonly ttlMs: Millis) {}

  /** True if (id, dest) is recorded and not expired. */
  has(now: Millis, id: string, dest: BrokerId): boolean {
    this.expire(now);
    return this.expiry.has(key(id, dest));
  }

  record(now: Millis, id: string, dest: BrokerId): void {
    const k = key(id, dest);
    // Re-recording moves the key to the back, keeping insertion order = expiry order.
    this.expiry.delete(k);
    this.expiry.set(k, now + this.ttlMs);
  }

  get size(): number {
    return this.expiry.size;
  }

  /**
   * Every entry, in expiry order, with the time it was recorded (expired ones too, until a `has`
   * clears them): what a store's snapshot writes back [DUR-2].
   */
  *entries(): Generator<{ readonly id: string; readonly dest: BrokerId; readonly atMs: Millis }> {
    for (const [k, at] of this.expiry) {
      const i = k.indexOf('\u0000');
      yield { id: k.slice(i + 1), dest: k.slice(0, i), atMs: at - this.ttlMs };
    }
  }

  private expire(now: Millis): void {
    for (const [k, at] of this.expiry) {
      if (at > now) break;
      this.expiry.delete(k);
    }
  }
}

function key(id: string, dest: BrokerId): string {
  return `${dest}\u0000${id}`;
}
