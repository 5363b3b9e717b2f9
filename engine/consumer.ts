/**
 * Slow consumers [SLOW-1..3] (seed 002, "Subscriber Slow-Consumer Backpressure Cascades").
 *
 * A paced subscription (its host says its clients consume at a finite rate) gets a bounded queue
 * at its broker. The broker hands the client one message at a time; the host calls back when the
 * client has consumed it. When the queue is full:
 * [SLOW-1] a realtime event evicts the oldest queued realtime event (newest wins), counted;
 * [SLOW-2] a guaranteed event overflows into the broker's spool (its bytes count against the
 *          spool limit); when the spool is full it is dropped, counted, and the broker pushes its
 *          publishers back (PublishResult 'backpressure');
 * [SLOW-3] nothing here waits on anything shared: other subscriptions are never slowed.
 */
import type { Envelope } from './types.ts';

interface Queued {
  readonly env: Envelope;
  readonly guaranteed: boolean;
  readonly bytes: number;
}

export type Offer = 'deliver-now' | 'queued' | 'evicted-oldest' | 'dropped-newest' | 'overflow';

export class ConsumerQueue {
  private items: Queued[] = [];
  private head = 0;
  /** Guaranteed events beyond the queue, in arrival order (bytes charged to the spool). */
  private overflow: Queued[] = [];
  private overflowHead = 0;
  /** The client is busy with a message (we wait for its consumed callback). */
  busy = false;
  evicted = 0;
  /** The event the last 'evicted-oldest' offer pushed out (the host counts what it lost). */
  lastEvicted: Envelope | undefined = undefined;
  peakDepth = 0;

  constructor(readonly limit: number) {}

  get depth(): number {
    return this.items.length - this.head;
  }

  get overflowDepth(): number {
    return this.overflow.length - this.overflowHead;
  }

  /** A matched event for this subscription. */
  offer(env: Envelope, guaranteed: boolean, bytes: number, spoolHasRoom: boolean): Offer {
    if (!this.busy && this.depth === 0 && this.overflowDepth === 0) {
      this.busy = true;
      return 'deliver-now';
    }
    if (this.depth < this.limit && this.overflowDepth === 0) {
      this.push({ env, guaranteed, bytes });
      return 'queued';
    }
    if (guaranteed) {
      if (!spoolHasRoom) return 'dropped-newest';
      this.overflow.push({ env, guaranteed, bytes });
      return 'overflow';
    }
    // [SLOW-1] newest wins: evict the oldest realtime event.
    for (let i = this.head; i < this.items.length; i++) {
      if ((this.items[i] as Queued).guaranteed) continue;
      this.lastEvicted = (this.items.splice(i, 1)[0] as Queued).env;
      this.evicted++;
      this.push({ env, guaranteed, bytes });
      return 'evicted-oldest';
    }
    return 'dropped-newest';
  }

  /**
   * The client consumed its message: returns the next one to hand over (or undefined: idle).
   * Call `refill()` first: next() takes only from the queue, and would go idle with overflow left.
   */
  next(): { env: Envelope; guaranteed: boolean } | undefined {
    // An emptied queue starts over at index 0.
    if (this.depth === 0 && this.head > 0) {
      this.items = [];
      this.head = 0;
    }
    const q = this.items[this.head];
    if (q === undefined) {
      this.busy = false;
      return undefined;
    }
    this.head++;
    this.busy = true;
    return q;
  }

  /** Moves overflow back into the queue while it has room; returns the bytes released. */
  refill(): number {
    let released = 0;
    while (this.overflowDepth > 0 && this.depth < this.limit) {
      const q = this.overflow[this.overflowHead++] as Queued;
      released += q.bytes;
      this.push(q);
    }
    if (this.overflowDepth === 0 && this.overflowHead > 0) {
      this.overflow = [];
      this.overflowHead = 0;
    }
    return released;
  }

  /** The subscription is gone: empties the queue and overflow; returns the overflow's bytes (charged to the spool). */
  clear(): number {
    let bytes = 0;
    for (let i = this.overflowHead; i < this.overflow.length; i++) bytes += (this.overflow[i] as Queued).bytes;
    this.items = [];
    this.head = 0;
    this.overflow = [];
    this.overflowHead = 0;
    this.busy = false;
    return bytes;
  }

  /** Every event waiting here (queue, then overflow), oldest first: what a crash or the run's end leaves. */
  forEachWaiting(visit: (env: Envelope, guaranteed: boolean) => void): void {
    for (let i = this.head; i < this.items.length; i++) visit((this.items[i] as Queued).env, (this.items[i] as Queued).guaranteed);
    for (let i = this.overflowHead; i < this.overflow.length; i++) visit((this.overflow[i] as Queued).env, true);
  }

  private push(q: Queued): void {
    this.items.push(q);
    if (this.depth > this.peakDepth) this.peakDepth = this.depth;
  }
}
