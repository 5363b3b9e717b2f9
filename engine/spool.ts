/**
 * The spool [SPOOL-1]: guaranteed events a broker holds because it cannot pass them on yet — no
 * path to their destination broker, or a local subscriber too slow to take them. Bounded in
 * bytes per broker (seed 002: "up to a configured limit, e.g. 50 GB"); FIFO, so it drains in
 * the order events were spooled, which for one origin is publish order.
 *
 * The seed's spool is disk-backed: it lives in the broker's `DurableState` and survives a crash.
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
  peakBytes = 0;
  /** Events ever spooled. */
  spooled = 0;

  constructor(readonly limitBytes: number) {}

  get length(): number {
    return this.entries.length;
  }

  /** Room for `bytes` more? */
  hasRoom(bytes: number): boolean {
    return this.usedBytes + this.externalBytes + bytes <= this.limitBytes;
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
