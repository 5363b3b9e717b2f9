import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Spool, type SpoolEntry } from './spool.ts';
import type { Envelope } from './types.ts';

function entry(id: string, dest: string, seq: number, bytes: number): SpoolEntry {
  const env: Envelope = { id, source: 'test', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload: new Uint8Array(0), publishedAtMs: 0, path: ['us-1'], hopLimit: 16 };
  return { env, dest, seq, bytes };
}

const ids = (es: readonly SpoolEntry[]) => es.map((e) => e.env.id);
const all = () => true;

describe('Spool [SPOOL-1]', () => {
  it('starts empty; draining an empty spool asks nothing', () => {
    const s = new Spool(100);
    expect(s.length).toBe(0);
    expect(s.usedBytes).toBe(0);
    expect(s.peakBytes).toBe(0);
    let asked = 0;
    expect(s.drain(() => (asked++, true))).toEqual([]);
    expect(asked).toBe(0);
  });

  it('has room up to exactly the limit, and not a byte more', () => {
    const s = new Spool(100);
    expect(s.hasRoom(100)).toBe(true);
    expect(s.hasRoom(101)).toBe(false);
    s.push(entry('a', 'ap-1', 1, 60));
    expect(s.hasRoom(40)).toBe(true);
    expect(s.hasRoom(41)).toBe(false);
    s.push(entry('b', 'ap-1', 2, 40));
    expect(s.hasRoom(0)).toBe(true);
    expect(s.hasRoom(1)).toBe(false);
    const zero = new Spool(0);
    expect(zero.hasRoom(0)).toBe(true);
    expect(zero.hasRoom(1)).toBe(false);
  });

  it('counts bytes held elsewhere (slow subscribers’ overflow) against the same limit', () => {
    const s = new Spool(100);
    s.push(entry('a', 'ap-1', 1, 30));
    s.externalBytes = 50;
    expect(s.hasRoom(20)).toBe(true);
    expect(s.hasRoom(21)).toBe(false);
    s.notePeak();
    expect(s.peakBytes).toBe(80);
    s.externalBytes = 0;
    expect(s.hasRoom(70)).toBe(true);
  });

  it('push does not refuse (custody already taken may go over the limit); the peak shows it', () => {
    const s = new Spool(10);
    s.push(entry('a', 'ap-1', 1, 8));
    s.push(entry('b', 'ap-1', 2, 8));
    expect(s.length).toBe(2);
    expect(s.usedBytes).toBe(16);
    expect(s.peakBytes).toBe(16);
    expect(s.hasRoom(0)).toBe(false);
  });

  it('drains FIFO and releases bytes; the peak stays', () => {
    const s = new Spool(1000);
    s.push(entry('a', 'ap-1', 1, 10));
    s.push(entry('b', 'eu-1', 1, 20));
    s.push(entry('c', 'ap-1', 2, 30));
    expect(s.spooled).toBe(3);
    expect(ids(s.drain(all))).toEqual(['a', 'b', 'c']);
    expect(s.length).toBe(0);
    expect(s.usedBytes).toBe(0);
    expect(s.peakBytes).toBe(60);
    expect(s.spooled).toBe(3);
    expect(s.drain(all)).toEqual([]);
  });

  it('a destination that is not ready blocks only its own entries, which keep their order', () => {
    const s = new Spool(1000);
    s.push(entry('a1', 'ap-1', 1, 1));
    s.push(entry('e1', 'eu-1', 1, 2));
    s.push(entry('a2', 'ap-1', 2, 4));
    s.push(entry('e2', 'eu-1', 2, 8));
    const asked: string[] = [];
    const out = s.drain((d) => (asked.push(d), d === 'eu-1'));
    expect(ids(out)).toEqual(['e1', 'e2']);
    expect(asked).toEqual(['ap-1', 'eu-1']); // once per destination per drain
    expect(s.length).toBe(2);
    expect(s.usedBytes).toBe(5);
    // New arrivals queue behind what waited; ap-1 comes back.
    s.push(entry('a3', 'ap-1', 3, 16));
    s.push(entry('e3', 'eu-1', 3, 32));
    expect(ids(s.drain((d) => d === 'ap-1'))).toEqual(['a1', 'a2', 'a3']);
    expect(ids(s.drain(all))).toEqual(['e3']);
    expect(s.usedBytes).toBe(0);
  });

  it('property: FIFO per destination, nothing lost or repeated, used bytes = sum of what is held, never over the limit when callers ask first', () => {
    const dests = ['us-1', 'eu-1', 'ap-1'];
    const op = fc.oneof(
      fc.record({ push: fc.constant(true as const), dest: fc.constantFrom(...dests), bytes: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ push: fc.constant(false as const), ready: fc.subarray(dests) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.array(op, { maxLength: 100, size: 'max' }), (limit, ops) => {
        const s = new Spool(limit);
        const held: SpoolEntry[] = []; // model: FIFO list
        const nextSeq = new Map<string, number>();
        let peak = 0;
        for (const o of ops) {
          if (o.push) {
            if (!s.hasRoom(o.bytes)) {
              expect(held.reduce((n, e) => n + e.bytes, 0) + o.bytes).toBeGreaterThan(limit);
              continue;
            }
            const seq = (nextSeq.get(o.dest) ?? 0) + 1;
            nextSeq.set(o.dest, seq);
            const e = entry(`${o.dest}#${seq}`, o.dest, seq, o.bytes);
            s.push(e);
            held.push(e);
          } else {
            const ready = new Set(o.ready);
            const out = s.drain((d) => ready.has(d));
            expect(out).toEqual(held.filter((e) => ready.has(e.dest)));
            held.splice(0, held.length, ...held.filter((e) => !ready.has(e.dest)));
          }
          const used = held.reduce((n, e) => n + e.bytes, 0);
          peak = Math.max(peak, used);
          expect(s.length).toBe(held.length);
          expect(s.usedBytes).toBe(used);
          expect(s.usedBytes).toBeLessThanOrEqual(limit);
          expect(s.peakBytes).toBe(peak);
        }
        expect(s.drain(() => true)).toEqual(held);
      }),
    );
  });
});
