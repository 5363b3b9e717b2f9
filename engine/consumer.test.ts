import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConsumerQueue, type Offer } from './consumer.ts';
import type { Envelope } from './types.ts';

function env(id: string): Envelope {
  return { id, source: 'test', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload: new Uint8Array(0), publishedAtMs: 0, path: ['us-1'], hopLimit: 16 };
}

/**
 * A paced subscription driven the way broker.ts drives it: `offer` on each matching event (the
 * client gets 'deliver-now' events at once), and on each consumed callback `refill` then `next`.
 * Tracks the overflow bytes charged to the spool.
 */
class Driver {
  readonly q: ConsumerQueue;
  readonly handed: string[] = [];
  spoolBytes = 0;

  constructor(
    limit: number,
    readonly spoolLimit = Infinity,
  ) {
    this.q = new ConsumerQueue(limit);
  }

  offer(id: string, guaranteed = false, bytes = 10): Offer {
    const v = this.q.offer(env(id), guaranteed, bytes, this.spoolBytes + bytes <= this.spoolLimit);
    if (v === 'deliver-now') this.handed.push(id);
    if (v === 'overflow') this.spoolBytes += bytes;
    return v;
  }

  /** The client finished its message. Returns the id handed over next, if any. */
  consumed(): string | undefined {
    this.spoolBytes -= this.q.refill();
    const n = this.q.next();
    if (n !== undefined) this.handed.push(n.env.id);
    return n?.env.id;
  }
}

describe('ConsumerQueue [SLOW-1..3]', () => {
  it('an idle subscriber gets the event at once; a busy one queues up to exactly the limit', () => {
    const d = new Driver(2);
    expect(d.q.busy).toBe(false);
    expect(d.offer('a')).toBe('deliver-now');
    expect(d.q.busy).toBe(true);
    expect(d.offer('b')).toBe('queued');
    expect(d.offer('c', true)).toBe('queued');
    expect(d.q.depth).toBe(2);
    expect(d.q.peakDepth).toBe(2);
    expect(d.offer('d')).toBe('evicted-oldest'); // the limit is reached
    expect(d.q.depth).toBe(2);
  });

  it('hands queued events over in arrival order, then goes idle', () => {
    const d = new Driver(5);
    for (const id of ['a', 'b', 'c']) d.offer(id);
    expect(d.consumed()).toBe('b');
    expect(d.consumed()).toBe('c');
    expect(d.q.busy).toBe(true); // 'c' is in the client's hands
    expect(d.consumed()).toBeUndefined();
    expect(d.q.busy).toBe(false);
    expect(d.q.depth).toBe(0);
    expect(d.offer('d')).toBe('deliver-now');
    expect(d.handed).toEqual(['a', 'b', 'c', 'd']);
    expect(d.q.peakDepth).toBe(2);
  });

  it('[SLOW-1] a realtime event on a full queue evicts the oldest queued realtime one, skipping guaranteed ones', () => {
    const d = new Driver(3);
    d.offer('busy');
    d.offer('g1', true);
    d.offer('r1');
    d.offer('r2');
    expect(d.offer('r3')).toBe('evicted-oldest');
    expect(d.q.evicted).toBe(1);
    expect(d.offer('r4')).toBe('evicted-oldest');
    expect(d.q.evicted).toBe(2);
    while (d.consumed() !== undefined);
    expect(d.handed).toEqual(['busy', 'g1', 'r3', 'r4']);
  });

  it('[SLOW-1] a realtime event on a queue full of guaranteed events is the one dropped', () => {
    const d = new Driver(2);
    d.offer('busy');
    d.offer('g1', true);
    d.offer('g2', true);
    expect(d.offer('r1')).toBe('dropped-newest');
    expect(d.q.evicted).toBe(0);
    while (d.consumed() !== undefined);
    expect(d.handed).toEqual(['busy', 'g1', 'g2']);
  });

  it('[SLOW-2] a guaranteed event on a full queue overflows to the spool, and comes back in order', () => {
    const d = new Driver(2);
    d.offer('busy');
    d.offer('g1', true);
    d.offer('r1');
    expect(d.offer('g2', true, 7)).toBe('overflow');
    expect(d.offer('g3', true, 11)).toBe('overflow');
    expect(d.q.overflowDepth).toBe(2);
    expect(d.spoolBytes).toBe(18);
    expect(d.consumed()).toBe('g1');
    // One slot came free; it belongs to the overflow, so a new guaranteed event queues behind it.
    expect(d.q.depth).toBe(1);
    expect(d.offer('g4', true, 5)).toBe('overflow');
    expect(d.consumed()).toBe('r1'); // refill moved g2 up
    expect(d.spoolBytes).toBe(16);
    while (d.consumed() !== undefined);
    expect(d.handed).toEqual(['busy', 'g1', 'r1', 'g2', 'g3', 'g4']);
    expect(d.spoolBytes).toBe(0);
    expect(d.q.overflowDepth).toBe(0);
    expect(d.q.busy).toBe(false);
  });

  it('refill moves overflow back only while the queue has room, and reports the bytes', () => {
    const q = new ConsumerQueue(2);
    q.offer(env('busy'), true, 1, true);
    q.offer(env('a'), true, 1, true);
    q.offer(env('b'), true, 1, true);
    q.offer(env('c'), true, 100, true);
    q.offer(env('d'), true, 1000, true);
    expect(q.refill()).toBe(0); // queue full
    expect(q.next()?.env.id).toBe('a');
    expect(q.refill()).toBe(100);
    expect(q.refill()).toBe(0);
    expect(q.next()?.env.id).toBe('b');
    expect(q.next()?.env.id).toBe('c');
    expect(q.refill()).toBe(1000);
    expect(q.overflowDepth).toBe(0);
  });

  it('[SLOW-2] with the spool full, a guaranteed event is dropped (the newest), counted by the caller', () => {
    const d = new Driver(1, 15);
    d.offer('busy');
    d.offer('g1', true);
    expect(d.offer('g2', true, 10)).toBe('overflow');
    expect(d.offer('g3', true, 10)).toBe('dropped-newest');
    expect(d.offer('g4', true, 5)).toBe('overflow'); // exactly at the limit
    expect(d.spoolBytes).toBe(15);
    while (d.consumed() !== undefined);
    expect(d.handed).toEqual(['busy', 'g1', 'g2', 'g4']);
  });

  it('[SLOW-3] queues are independent: a stalled subscriber does not change what another gets', () => {
    const slow = new Driver(1);
    const fast = new Driver(1);
    for (let i = 0; i < 10; i++) {
      slow.offer(`e${i}`);
      fast.offer(`e${i}`);
      fast.consumed();
    }
    expect(fast.handed).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
    expect(slow.handed).toEqual(['e0']);
    expect(slow.q.evicted).toBe(8);
  });

  it('property: nothing is lost unseen, guaranteed order is kept, the queue never outgrows its limit, spool bytes return', () => {
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.record({ t: fc.constant('offer' as const), guaranteed: fc.boolean(), bytes: fc.integer({ min: 1, max: 20 }) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('consumed' as const) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 80 }), fc.array(op, { maxLength: 120, size: 'max' }), (limit, spoolLimit, ops) => {
        const d = new Driver(limit, spoolLimit);
        const offered: { id: string; guaranteed: boolean }[] = [];
        const dropped = new Set<string>();
        let evictions = 0;
        const overflowed = new Map<string, number>(); // id -> bytes charged to the spool
        for (const o of ops) {
          if (o.t === 'offer') {
            const id = `e${offered.length}`;
            offered.push({ id, guaranteed: o.guaranteed });
            const idle = !d.q.busy && d.q.depth === 0 && d.q.overflowDepth === 0;
            const room = d.spoolBytes + o.bytes <= spoolLimit;
            const v = d.offer(id, o.guaranteed, o.bytes);
            expect(v === 'deliver-now').toBe(idle);
            if (v === 'overflow') {
              expect(o.guaranteed && room).toBe(true);
              overflowed.set(id, o.bytes);
            }
            if (v === 'evicted-oldest') {
              expect(o.guaranteed).toBe(false);
              evictions++;
            }
            if (v === 'dropped-newest') {
              if (o.guaranteed) expect(room).toBe(false);
              dropped.add(id);
            }
          } else if (d.q.busy) {
            d.consumed();
          }
          expect(d.q.depth).toBeLessThanOrEqual(limit);
          // Charged: at most what overflowed and is not yet handed over; nothing once the overflow is empty.
          let outstanding = 0;
          for (const [id, bytes] of overflowed) if (!d.handed.includes(id)) outstanding += bytes;
          expect(d.spoolBytes).toBeGreaterThanOrEqual(0);
          expect(d.spoolBytes).toBeLessThanOrEqual(Math.min(outstanding, spoolLimit));
          if (d.q.overflowDepth === 0) expect(d.spoolBytes).toBe(0);
        }
        while (d.q.busy) d.consumed();
        expect(d.q.depth + d.q.overflowDepth).toBe(0);
        expect(d.q.evicted).toBe(evictions);
        expect(d.spoolBytes).toBe(0);
        const handed = new Set(d.handed);
        expect(handed.size).toBe(d.handed.length); // each at most once
        const kept = (guaranteed: boolean) => offered.filter((e) => e.guaranteed === guaranteed && !dropped.has(e.id)).map((e) => e.id);
        const got = (guaranteed: boolean) => d.handed.filter((id) => offered[Number(id.slice(1))]?.guaranteed === guaranteed);
        // Guaranteed: every one not refused is handed over, in arrival order.
        expect(got(true)).toEqual(kept(true));
        // Realtime: handed over in arrival order; what is missing was evicted, one per eviction.
        const rt = got(false);
        expect(rt).toEqual(kept(false).filter((id) => handed.has(id)));
        expect(kept(false).length - rt.length).toBe(evictions);
      }),
    );
  });
});
