import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Kernel } from './kernel.ts';
import { UsageError } from '../engine/types.ts';

describe('Kernel', () => {
  it('[KERNEL-1] runs events by time, then by scheduling order on ties', () => {
    const k = new Kernel();
    const log: string[] = [];
    const kind = k.register((now, arg, ref) => log.push(`${now}:${arg}:${ref}`));
    k.at(5, kind, 1, 'a');
    k.at(2, kind, 2, 'b');
    k.at(5, kind, 3, 'c');
    k.at(2, kind, 4, 'd');
    k.at(0, kind, 5, 'e');
    expect(k.run(10)).toBe(5);
    expect(log).toEqual(['0:5:e', '2:2:b', '2:4:d', '5:1:a', '5:3:c']);
  });

  it('[KERNEL-1] property: random schedules, also from handlers, run in (time, seq) order', () => {
    // A plan: initial events (time, spawn list); each event, when run, schedules children at
    // now + delay. Delays come from a small set so that time ties are common.
    const delay = fc.constantFrom(0, 0, 1, 2, 2.5, 3, 10);
    const planArb = fc.record({
      initial: fc.array(fc.tuple(fc.constantFrom(0, 1, 2, 3, 5), fc.array(delay, { maxLength: 3 })), {
        maxLength: 60,
      }),
      childSpawns: fc.array(fc.array(delay, { maxLength: 2 }), { maxLength: 200 }),
    });
    fc.assert(
      fc.property(planArb, ({ initial, childSpawns }) => {
        const k = new Kernel();
        // Reference model: every scheduled event gets (time, seq); the run order must equal a
        // sort by (time, seq) of all events that were scheduled.
        const scheduled: { time: number; seq: number }[] = [];
        const spawns: number[][] = [];
        const ran: number[] = [];
        let nextChildPlan = 0;
        const schedule = (t: number, plan: number[]) => {
          const id = scheduled.length;
          scheduled.push({ time: t, seq: id });
          spawns.push(plan);
          k.at(t, kind, id);
        };
        const kind = k.register((now, arg) => {
          ran.push(arg);
          expect(now).toBe(scheduled[arg]!.time);
          expect(k.now).toBe(now);
          for (const d of spawns[arg]!) {
            const plan = nextChildPlan < childSpawns.length ? childSpawns[nextChildPlan++]! : [];
            schedule(now + d, plan);
          }
        });
        for (const [t, plan] of initial) schedule(t, plan);
        k.run(Infinity);
        const expected = scheduled
          .map((e, id) => ({ ...e, id }))
          .sort((a, b) => a.time - b.time || a.seq - b.seq)
          .map((e) => e.id);
        expect(ran).toEqual(expected);
        expect(k.pending).toBe(0);
        expect(k.executed).toBe(scheduled.length);
      }),
      { numRuns: 300 },
    );
  });

  it('[KERNEL-1] property: chunked runSome gives the same order as one run', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }), fc.integer({ min: 1, max: 17 }), (times, chunk) => {
        const once: number[] = [];
        const chunked: number[] = [];
        const k1 = new Kernel();
        const a = k1.register((_now, arg) => once.push(arg));
        const k2 = new Kernel();
        const b = k2.register((_now, arg) => chunked.push(arg));
        times.forEach((t, i) => {
          k1.at(t, a, i);
          k2.at(t, b, i);
        });
        k1.run(100);
        while (k2.runSome(100, chunk) > 0);
        expect(chunked).toEqual(once);
      }),
    );
  });

  it('[KERNEL-2] run(until) runs events <= until, then sets now = until; later events stay pending', () => {
    const k = new Kernel(100);
    expect(k.now).toBe(100);
    const seen: number[] = [];
    const kind = k.register((now) => seen.push(now));
    k.at(110, kind);
    k.at(120, kind);
    k.after(30, kind);
    expect(k.peekTime()).toBe(110);
    expect(k.run(120)).toBe(2); // 120 is included
    expect(seen).toEqual([110, 120]);
    expect(k.now).toBe(120);
    expect(k.pending).toBe(1);
    expect(k.peekTime()).toBe(130);
    expect(k.run(125)).toBe(0);
    expect(k.now).toBe(125);
    expect(k.run(1000)).toBe(1);
    expect(k.now).toBe(1000); // the queue ran dry: now advances to until anyway
    expect(k.peekTime()).toBe(Infinity);
    expect(k.executed).toBe(3);
  });

  it('[KERNEL-2] run(Infinity) on a queue that runs dry leaves now at the last event', () => {
    const k = new Kernel();
    const kind = k.register(() => {});
    k.at(7, kind);
    expect(k.run(Infinity)).toBe(1);
    expect(k.now).toBe(7);
  });

  it('runSome runs at most maxEvents, then the rest on later calls', () => {
    const k = new Kernel();
    const seen: number[] = [];
    const kind = k.register((_now, arg) => seen.push(arg));
    for (let i = 0; i < 10; i++) k.at(i, kind, i);
    expect(k.runSome(100, 4)).toBe(4);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(k.now).toBe(3); // stopped by the count, not by the window
    expect(k.pending).toBe(6);
    expect(k.runSome(5.5, 100)).toBe(2); // 4, 5
    expect(k.now).toBe(5.5);
    expect(k.runSome(100, 4)).toBe(4);
    expect(k.now).toBe(100); // the window emptied exactly at maxEvents: now advances
    expect(k.runSome(100, 4)).toBe(0);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(k.runSome(200, 0)).toBe(0);
    expect(k.now).toBe(200);
  });

  it('stop() ends the run after the current handler; the next run continues', () => {
    const k = new Kernel();
    const seen: number[] = [];
    const kind = k.register((_now, arg) => {
      seen.push(arg);
      if (arg === 2) k.stop();
      if (arg < 10) k.after(1, kind, arg + 10); // scheduling after stop() is still fine
    });
    k.at(1, kind, 1);
    k.at(2, kind, 2);
    k.at(3, kind, 3);
    expect(k.run(Infinity)).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect(k.now).toBe(2); // a stopped run does not advance to until
    expect(k.pending).toBe(3); // 3, 11, 12
    k.stop(); // outside a run: no effect on the next one
    expect(k.run(3)).toBe(3); // 3, 11 at 2, 12 at 3
    expect(seen).toEqual([1, 2, 11, 3, 12]);
  });

  it('throws UsageError for a time in the past, NaN, an unknown kind, or a nested run', () => {
    const k = new Kernel();
    const kind = k.register(() => {
      expect(() => k.run(10)).toThrow(UsageError);
    });
    k.at(5, kind);
    k.run(6);
    expect(() => k.at(5.9, kind)).toThrow(UsageError);
    expect(() => k.after(-1, kind)).toThrow(UsageError);
    expect(() => k.at(Number.NaN, kind)).toThrow(UsageError);
    expect(() => k.at(7, kind + 1)).toThrow(UsageError);
    expect(() => k.at(7, 0.5)).toThrow(UsageError);
    expect(() => k.run(1)).toThrow(UsageError);
    expect(() => k.runSome(10, -1)).toThrow(UsageError);
    k.at(6, kind); // at now is fine
    expect(k.pending).toBe(1);
  });

  it('grows past its initial capacity and stays ordered', () => {
    const k = new Kernel();
    const n = 50_000;
    let last = -1;
    let count = 0;
    let ordered = true;
    const kind = k.register((now, arg) => {
      if (now < last) ordered = false;
      last = now;
      count++;
      // Half of them schedule a follow-up, to grow while running too.
      if (arg % 2 === 0) k.after(((arg * 7919) % 1000) / 10, kind, arg + 1);
    });
    for (let i = 0; i < n; i++) k.at(((i * 104729) % 100_000) / 7, kind, i * 2);
    expect(k.pending).toBe(n);
    expect(k.peekTime()).toBe(0);
    k.run(Infinity);
    expect(ordered).toBe(true);
    expect(count).toBe(2 * n);
    expect(k.executed).toBe(2 * n);
    expect(k.pending).toBe(0);
  });

  it('releases refs when their events run', () => {
    const k = new Kernel();
    const got: unknown[] = [];
    const kind = k.register((_now, _arg, ref) => got.push(ref));
    const objs = [{ a: 1 }, { b: 2 }, { c: 3 }];
    objs.forEach((o, i) => k.at(i, kind, i, o));
    k.at(10, kind, 99); // no ref
    k.run(Infinity);
    expect(got).toEqual([...objs, undefined]);
    // White box: no slot of the pool holds a ref any more.
    const slotRef = (k as unknown as { slotRef: unknown[] }).slotRef;
    expect(slotRef.every((r) => r === undefined)).toBe(true);
  });

  it('keeps the queue consistent when a handler throws', () => {
    const k = new Kernel();
    const seen: number[] = [];
    const kind = k.register((_now, arg) => {
      if (arg === 1) throw new Error('boom');
      seen.push(arg);
    });
    k.at(1, kind, 0);
    k.at(2, kind, 1);
    k.at(3, kind, 2);
    expect(() => k.run(10)).toThrow('boom');
    expect(k.pending).toBe(1);
    expect(k.run(10)).toBe(1);
    expect(seen).toEqual([0, 2]);
  });

  it('peekTime and pending see the queue correctly from inside a handler', () => {
    const k = new Kernel();
    const views: [number, number][] = [];
    const kind = k.register((_now, arg) => {
      views.push([k.peekTime(), k.pending]);
      if (arg === 0) k.after(5, kind, 1);
    });
    k.at(1, kind, 0);
    k.at(3, kind, 2);
    k.run(Infinity);
    expect(views).toEqual([
      [3, 1],
      [6, 1],
      [Infinity, 0],
    ]);
  });
});

describe('Kernel growth inside a handler', () => {
  it('keeps kinds and args right when a handler schedules past the capacity', () => {
    const k = new Kernel(0);
    const seen: number[] = [];
    const leaf = k.register((_now, arg) => seen.push(arg));
    const burst = k.register(() => {
      for (let i = 0; i < 5000; i++) k.at(1 + i, leaf, i);
    });
    k.at(0, burst);
    k.run(Infinity);
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});

describe('Kernel owners and keys [KERNEL-1]', () => {
  /**
   * Two owners ping each other at equal times. One kernel runs both; two kernels each run one
   * owner, trading events with the keys `lastKey` gave them. Each owner sees its events in the
   * same order either way.
   */
  function pingPong(split: boolean): string[][] {
    const logs: string[][] = [[], []];
    const kernels = split ? [new Kernel(0), new Kernel(0)] : [new Kernel(0)];
    const inbox: Array<Array<[number, number, number, number]>> = [[], []];
    const kinds: number[] = [];
    kernels.forEach((k, i) => {
      k.owners(2);
      kinds[i] = k.register((now, arg, _ref) => {
        const owner = split ? i : arg >= 100 ? 1 : 0;
        logs[owner]?.push(`${now}:${arg}`);
        if (now >= 4) return;
        // Each event schedules one for itself and one for the other owner, both 1 ms later.
        const other = 1 - owner;
        k.at(now + 1, kinds[i] as number, owner * 100 + (arg % 100) + 1, undefined, owner);
        if (split) {
          k.skip();
          inbox[other]?.push([now + 1, other * 100 + (arg % 100) + 10, k.lastKey, other]);
        } else k.at(now + 1, kinds[i] as number, other * 100 + (arg % 100) + 10, undefined, other);
      });
    });
    if (!split) {
      const k = kernels[0] as Kernel;
      k.creator = 0;
      k.at(0, kinds[0] as number, 0, undefined, 0);
      k.creator = 1;
      k.at(0, kinds[0] as number, 100, undefined, 1);
      k.creator = -1;
      k.run(10);
      return logs;
    }
    for (const [i, k] of kernels.entries()) {
      k.creator = i;
      k.at(0, kinds[i] as number, i * 100, undefined, i);
      k.creator = -1;
    }
    // Windows of 1 ms (the lookahead): run, then hand over what the other owner got.
    for (let end = 1; end <= 11; end++) {
      for (const k of kernels) k.runBefore(end);
      for (const [i, k] of kernels.entries()) {
        for (const [t, arg, key, owner] of inbox[i] as Array<[number, number, number, number]>) k.atKey(t, kinds[i] as number, arg, undefined, owner, key);
        (inbox[i] as unknown[]).length = 0;
      }
    }
    return logs;
  }

  it('an owner runs its events in the same order on one kernel as split over two', () => {
    const one = pingPong(false);
    const two = pingPong(true);
    expect(one[0]?.length).toBeGreaterThan(10);
    expect(two).toEqual(one);
  });

  it('equal times from one creator run in the order scheduled; skip() takes a key without an event', () => {
    const k = new Kernel(0);
    k.owners(1);
    const seen: number[] = [];
    const kind = k.register((_now, arg) => seen.push(arg));
    k.at(5, kind, 1);
    const skipped = k.skip();
    k.at(5, kind, 2);
    expect(k.lastKey).toBeGreaterThan(skipped);
    k.at(5, kind, 3);
    k.run(Infinity);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('an event given a smaller key at a tied time runs first (atKey)', () => {
    const k = new Kernel(0);
    k.owners(2);
    const seen: number[] = [];
    const kind = k.register((_now, arg) => seen.push(arg));
    k.creator = 1;
    k.skip();
    const early = k.lastKey;
    k.at(5, kind, 2);
    k.creator = -1;
    k.atKey(5, kind, 1, undefined, 0, early);
    k.run(Infinity);
    expect(seen).toEqual([1, 2]);
  });

  it('runBefore(limit) leaves events at the limit itself for later', () => {
    const k = new Kernel(0);
    const seen: number[] = [];
    const kind = k.register((now) => seen.push(now));
    k.at(1, kind);
    k.at(2, kind);
    k.at(3, kind);
    expect(k.runBefore(2)).toBe(1);
    expect(seen).toEqual([1]);
    k.at(2, kind);
    k.run(Infinity);
    expect(seen).toEqual([1, 2, 2, 3]);
  });

  it('refuses unknown owners and setting the creator from a handler', () => {
    const k = new Kernel(0);
    expect(() => k.owners(5000)).toThrow(UsageError);
    k.owners(2);
    expect(() => {
      k.creator = 2;
    }).toThrow(/unknown owner/);
    const kind = k.register(() => {
      k.creator = 0;
    });
    k.at(1, kind);
    expect(() => k.run(Infinity)).toThrow(/between runs/);
  });
});
