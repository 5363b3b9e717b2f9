import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupLedger } from './ledger.ts';

describe('DedupLedger [DEDUP-1]', () => {
  it('an empty ledger holds nothing', () => {
    const l = new DedupLedger(1000);
    expect(l.size).toBe(0);
    expect(l.has(0, 'e1', 'ap-1')).toBe(false);
  });

  it('keys on (id, destination): the same event for another destination is not a repeat', () => {
    const l = new DedupLedger(1000);
    l.record(0, 'e1', 'ap-1');
    expect(l.has(1, 'e1', 'ap-1')).toBe(true);
    expect(l.has(1, 'e1', 'eu-1')).toBe(false);
    expect(l.has(1, 'e2', 'ap-1')).toBe(false);
    // An event id may hold any character (broker ids cannot: scenario ids are [A-Za-z0-9._-]).
    l.record(1, 'x\u0000y', 'ap-1');
    expect(l.has(2, 'x', 'ap-1')).toBe(false);
    expect(l.has(2, 'y', 'ap-1')).toBe(false);
    expect(l.has(2, 'x\u0000y', 'ap-1')).toBe(true);
    expect(l.size).toBe(2);
  });

  it('an entry is held until exactly ttlMs after it was recorded, and not at that instant', () => {
    const l = new DedupLedger(1000);
    l.record(100, 'e1', 'ap-1');
    expect(l.has(1099.999, 'e1', 'ap-1')).toBe(true);
    expect(l.has(1100, 'e1', 'ap-1')).toBe(false);
    expect(l.size).toBe(0);
  });

  it('a zero TTL remembers nothing', () => {
    const l = new DedupLedger(0);
    l.record(5, 'e1', 'ap-1');
    expect(l.has(5, 'e1', 'ap-1')).toBe(false);
  });

  it('expires entries in the order they were recorded, as time passes', () => {
    const l = new DedupLedger(100);
    l.record(0, 'a', 'd');
    l.record(10, 'b', 'd');
    l.record(20, 'c', 'd');
    expect(l.has(105, 'zzz', 'd')).toBe(false); // any lookup expires what is due
    expect(l.size).toBe(2);
    expect(l.has(105, 'a', 'd')).toBe(false);
    expect(l.has(105, 'b', 'd')).toBe(true);
    expect(l.has(115, 'c', 'd')).toBe(true);
    expect(l.size).toBe(1);
  });

  it('recording again restarts the TTL and moves the entry behind younger ones', () => {
    const l = new DedupLedger(100);
    l.record(0, 'a', 'd');
    l.record(10, 'b', 'd');
    l.record(50, 'a', 'd'); // a now expires at 150, after b (110)
    expect(l.size).toBe(2);
    expect(l.has(120, 'a', 'd')).toBe(true);
    expect(l.has(120, 'b', 'd')).toBe(false);
    expect(l.has(149, 'a', 'd')).toBe(true);
    expect(l.has(150, 'a', 'd')).toBe(false);
  });

  it('property: never reports a fresh (id, dest) as a repeat; always reports one recorded less than ttlMs ago', () => {
    const op = fc.record({
      record: fc.boolean(),
      gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
      id: fc.oneof(fc.constantFrom('a', 'b', 'c', 'a\u0000b'), fc.string({ maxLength: 3 })),
      dest: fc.constantFrom('us-1', 'eu-1', 'ap-1'),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(op, { maxLength: 120, size: 'max' }), (ttlMs, ops) => {
        const l = new DedupLedger(ttlMs);
        const recordedAt = new Map<string, number>(); // model: last record time per key
        let now = 0;
        for (const { record, gapMs, id, dest } of ops) {
          now += gapMs;
          const k = JSON.stringify([id, dest]);
          if (record) {
            l.record(now, id, dest);
            recordedAt.set(k, now);
          } else {
            const at = recordedAt.get(k);
            expect(l.has(now, id, dest)).toBe(at !== undefined && now < at + ttlMs);
          }
        }
        // Nothing older than the TTL is kept past a lookup.
        l.has(now, 'probe', 'us-1');
        expect(l.size).toBe([...recordedAt.values()].filter((at) => now < at + ttlMs).length);
      }),
    );
  });
});
