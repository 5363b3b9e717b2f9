/**
 * The spool [SPOOL-1]: guaranteed events a broker holds because it cannot pass them on yet — no
 * path to their destination broker, or a local subscriber too slow to take them. Bounded in
 * bytes per broker (seed 002: "up to a configured limit, e.g. 50 GB"); FIFO, so it drains in
 * the order events were spooled, which for one origin is publish order.
 *
 * The seed's spool is disk-backed: it lives in the broker's `DurableState` and survives a crash.
 *
 * [SPOOL-2] The limit bounds the broker's whole custody: spooled events, slow subscribers'
 * overflow, and guaranteed events sent but not yet acknowledged (which fall back into the spool
 * when their link dies). A publish that would go over it is refused (backpressure); a transit
 * frame that would is not acknowledged, so its sender keeps it and retries. So the spool never
 * holds more than its limit, even when a link dies with a full window in flight.
 */
import type { BrokerId, Envelope } from './types.ts';

export interface SpoolEntry {
  readonly env: Envelope;
  /** The destination broker it waits for. */
  readonly dest: BrokerId;
  /** Its number in the stream from its origin to `dest` (see GuaranteedFrame.seqs). */
  readonly seq: number;
  readonly bytes: number;
}

export class Spool {
  private entries: SpoolEntry[] = [];
  usedBytes = 0;
  /** Bytes held elsewhere that count against the same limit (slow subscribers' overflow). */
  externalBytes = 0;
  /**
   * [SPOOL-2] Guaranteed events sent but not yet acknowledged (reliable.ts Outbox keeps it): they
   * are in this broker's custody too, and land here if their link dies, so they count against
   * the same limit. Admission checks the sum, which keeps the spool itself within its limit.
   */
  inFlightBytes = 0;
  peakBytes = 0;
  /** Events ever spooled. */
  spooled = 0;

  constructor(readonly limitBytes: number) {}

  get length(): number {
    return this.entries.length;
  }

  /** Room for `bytes` more? */
  hasRoom(bytes: number): boolean {
    return this.usedBytes + this.externalBytes + this.inFlightBytes + bytes <= this.limitBytes;
  }

  push(e: SpoolEntry): void {
    this.entries.push(e);
    this.usedBytes += e.bytes;
    this.spooled++;
    this.notePeak();
  }

  notePeak(): void {
    const held = this.usedBytes + this.externalBytes;
    if (held > this.peakBytes) this.peakBytes = held;
  }

  /** Every spooled entry, in FIFO order (read only). */
  forEach(visit: (e: SpoolEntry) => void): void {
    for (const e of this.entries) visit(e);
  }

  /**
   * Removes and returns, in FIFO order, every entry `ready` accepts; the others keep their order.
   * A destination that is not ready blocks only its own entries.
   */
  drain(ready: (dest: BrokerId) => boolean): SpoolEntry[] {
    if (this.length === 0) return [];
    const out: SpoolEntry[] = [];
    const keep: SpoolEntry[] = [];
    const verdict = new Map<BrokerId, boolean>();
    for (const e of this.entries) {
      let ok = verdict.get(e.dest);
      if (ok === undefined) verdict.set(e.dest, (ok = ready(e.dest)));
      if (ok) {
        out.push(e);
        this.usedBytes -= e.bytes;
      } else keep.push(e);
    }
    this.entries = keep;
    return out;
  }
}

/**
 * Bytes a held guaranteed event is charged against the spool limit: payload, topic and id plus
 * 64 B of record overhead (modeled: the spool's on-disk record, not a measured heap size).
 */
export function heldBytes(env: Envelope): number {
  return env.payload.length + env.topic.length + env.id.length + 64;
}
