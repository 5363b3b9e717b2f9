import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kernel } from '../sim/kernel.ts';
import { Broker, type BrokerHost } from './broker.ts';
import { RecordingStore, recoverDurable } from './store.ts';
import { DurableState, Resequencer, type DurableConfig } from './durable.ts';
import type { BrokerId, Envelope } from './types.ts';

function env(id: string): Envelope {
  return { id, source: 'test', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload: new Uint8Array(0), publishedAtMs: 0, path: ['us-1'], hopLimit: 16 };
}

const CONFIG: DurableConfig = { ledgerTtlMs: 60_000, spoolBytes: 1000, retransmitMs: 250 };

/** What an offer released: event ids, or 'duplicate'. */
function offer(r: Resequencer, seq: number): string[] | 'duplicate' {
  const out = r.offer(seq, env(`e${seq}`));
  return out === 'duplicate' ? out : out.map((e) => e.id);
}

describe('Resequencer [ORD-2]', () => {
  it('releases an in-order stream one event at a time', () => {
    const r = new Resequencer();
    expect(offer(r, 1)).toEqual(['e1']);
    expect(offer(r, 2)).toEqual(['e2']);
    expect(r.next).toBe(3);
    expect(r.waiting.size).toBe(0);
  });

  it('holds events that arrive ahead of a gap, and releases the run when the gap fills', () => {
    const r = new Resequencer();
    expect(offer(r, 3)).toEqual([]);
    expect(offer(r, 2)).toEqual([]);
    expect(offer(r, 5)).toEqual([]);
    expect([...r.waiting.keys()].sort()).toEqual([2, 3, 5]);
    expect(offer(r, 1)).toEqual(['e1', 'e2', 'e3']);
    expect(r.next).toBe(4);
    expect([...r.waiting.keys()]).toEqual([5]);
    expect(offer(r, 4)).toEqual(['e4', 'e5']);
    expect(r.waiting.size).toBe(0);
  });

  it('a copy of a released or a waiting event is a duplicate, and the first copy is the one kept', () => {
    const r = new Resequencer();
    offer(r, 1);
    expect(offer(r, 1)).toBe('duplicate');
    expect(offer(r, 0)).toBe('duplicate'); // below the first number: never valid
    const first = env('first copy');
    expect(r.offer(3, first)).toEqual([]);
    expect(r.offer(3, env('second copy'))).toBe('duplicate');
    const out = r.offer(2, env('e2'));
    expect(out === 'duplicate' ? out : out.map((e) => e.id)).toEqual(['e2', 'first copy']);
  });

  it('property: any arrival order with any duplicates releases 1..n exactly once, in order', () => {
    const arrivals = fc
      .integer({ min: 0, max: 40 })
      .chain((n) =>
        fc.tuple(
          fc.constant(n),
          fc.shuffledSubarray(
            Array.from({ length: n }, (_, i) => i + 1),
            { minLength: n, maxLength: n },
          ),
          fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20, size: 'max' }),
        ),
      )
      .map(([n, order, dups]) => {
        // Insert copies: each dup repeats the event at position a, at a later position.
        const seqs = [...order];
        for (const [a, b] of dups) {
          if (seqs.length === 0) break;
          const from = a % seqs.length;
          const to = from + 1 + (b % (seqs.length - from));
          seqs.splice(to, 0, seqs[from] as number);
        }
        return { n, seqs };
      });
    fc.assert(
      fc.property(arrivals, ({ n, seqs }) => {
        const r = new Resequencer();
        const released: number[] = [];
        const seen = new Set<number>();
        for (const seq of seqs) {
          const out = r.offer(seq, env(`e${seq}`));
          if (seen.has(seq)) expect(out).toBe('duplicate');
          else expect(out).not.toBe('duplicate');
          seen.add(seq);
          if (out !== 'duplicate') released.push(...out.map((e) => Number(e.id.slice(1))));
          // Released so far: exactly the longest run 1..k that has arrived.
          let k = 0;
          while (seen.has(k + 1)) k++;
          expect(released).toEqual(Array.from({ length: k }, (_, i) => i + 1));
          expect(r.next).toBe(k + 1);
          expect(r.waiting.size).toBe(seen.size - k);
        }
        expect(released.length).toBe(n);
        expect(r.waiting.size).toBe(0);
      }),
    );
  });
});

describe('DurableState', () => {
  it('is built from its config: ledger TTL, spool limit, initial RTO of each outbox', () => {
    const d = new DurableState(CONFIG);
    expect(d.ledger.ttlMs).toBe(60_000);
    expect(d.spool.limitBytes).toBe(1000);
    expect(d.outbox('eu-1').rto()).toBe(250);
    expect(d.held()).toBe(0);
    expect(d.lsSeq).toBe(0);
    expect(d.interestSeq).toBe(0);
  });

  it('one outbox per neighbor and one resequencer per origin, the same object every time', () => {
    const d = new DurableState(CONFIG);
    const o = d.outbox('eu-1');
    expect(d.outbox('eu-1')).toBe(o);
    expect(d.outbox('ap-1')).not.toBe(o);
    expect([...d.outboxes.keys()]).toEqual(['eu-1', 'ap-1']);
    const r = d.resequencer('us-1');
    expect(d.resequencer('us-1')).toBe(r);
    expect(d.resequencer('us-2')).not.toBe(r);
  });

  it('[ORD-1] numbers events per destination from 1, each destination on its own', () => {
    const d = new DurableState(CONFIG);
    expect(d.nextSeqFor('ap-1')).toBe(1);
    expect(d.nextSeqFor('ap-1')).toBe(2);
    expect(d.nextSeqFor('eu-1')).toBe(1);
    expect(d.nextSeqFor('ap-1')).toBe(3);
    expect(d.destSeq.get('eu-1')).toBe(1);
  });

  it('held() counts spooled, unacknowledged and waiting events', () => {
    const d = new DurableState(CONFIG);
    d.spool.push({ env: env('s'), dest: 'ap-1', seq: 1, bytes: 10 });
    const o = d.outbox('eu-1');
    o.track(0, ['eu-1'], [1], env('u1'), 0, 0);
    o.track(0, ['eu-1'], [2], env('u2'), 0, 0);
    d.resequencer('us-2').offer(3, env('w'));
    d.resequencer('us-2').offer(1, env('released'));
    expect(d.held()).toBe(1 + 2 + 1);
    o.ack(10, 0, 1);
    d.spool.drain(() => true);
    expect(d.held()).toBe(2);
    d.resequencer('us-2').offer(2, env('gap filled'));
    expect(d.held()).toBe(1);
  });
});

/**
 * Two real brokers, us-1 and ap-1, on one 50 ms link, driven by the simulator's kernel. A crash
 * stops a broker (frames to it are lost, its timers die); a boot starts a new Broker under the
 * same id with whatever DurableState the test hands it — the store a crash must not lose.
 */
class TwoBrokers {
  readonly kernel = new Kernel(0);
  readonly live = new Map<BrokerId, Broker>();
  readonly delivered: string[] = [];
  private readonly timerAt = new Map<BrokerId, number>();
  private readonly kArrive: number;
  private readonly kTimer: number;

  constructor() {
    this.kArrive = this.kernel.register((now, _arg, ref: { from: BrokerId; to: BrokerId; bytes: Uint8Array }) => this.live.get(ref.to)?.handleFrame(now, ref.from, ref.bytes));
    this.kTimer = this.kernel.register((now, _arg, id: BrokerId) => {
      if (this.timerAt.get(id) !== now) return;
      this.timerAt.delete(id);
      this.live.get(id)?.handleTimeout(now);
    });
  }

  boot(id: BrokerId, durable: DurableState): Broker {
    const other = id === 'us-1' ? 'ap-1' : 'us-1';
    const host: BrokerHost = {
      keepalive: () => {},
      disconnect: () => {},
      send: (to, bytes) => {
        if (this.live.get(id) === broker) this.kernel.after(50, this.kArrive, 0, { from: id, to, bytes });
      },
      deliver: (_sub, e) => this.delivered.push(e.id),
      setTimer: (at) => {
        if (this.live.get(id) !== broker) return;
        this.timerAt.set(id, at);
        this.kernel.at(Math.max(at, this.kernel.now), this.kTimer, 0, id);
      },
      emit: () => {},
      drop: () => {},
    };
    const broker: Broker = new Broker({ id, neighbors: [{ id: other, cost: 100 }], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 }, host, durable);
    this.live.set(id, broker);
    if (id === 'ap-1') broker.subscribe(this.kernel.now, 'a/#', null, 1);
    broker.start(this.kernel.now);
    return broker;
  }

  crash(id: BrokerId): void {
    this.live.delete(id);
    this.timerAt.delete(id);
  }

  publish(id: BrokerId, eventId: string): void {
    const b = this.live.get(id) as Broker;
    const now = this.kernel.now;
    expect(b.handlePublish(now, { id: eventId, source: '/t', type: 't', topic: 'a/b', headers: {}, payload: new Uint8Array(10), publishedAtMs: now, guaranteed: true })).toBe('accepted');
  }

  drive(ms: number): void {
    this.kernel.run(this.kernel.now + ms);
  }
}

describe('DurableState across a crash (or an HA takeover, which boots on the same store)', () => {
  /** Publishes e1, e2; e3 just before us-1 crashes (its ack is lost); e4 after it is back. */
  function crashAndReboot(store: (first: DurableState) => DurableState, journal?: RecordingStore): { m: TwoBrokers; before: DurableState; after: DurableState } {
    const m = new TwoBrokers();
    const before = new DurableState(CONFIG, journal);
    m.boot('us-1', before);
    const ap = m.boot('ap-1', new DurableState(CONFIG));
    m.drive(1000);
    m.publish('us-1', 'e1');
    m.publish('us-1', 'e2');
    m.drive(500);
    m.publish('us-1', 'e3');
    m.drive(10); // e3 is on the wire; its ack will find us-1 down
    m.crash('us-1');
    expect(before.outbox('ap-1').pending.size).toBe(1); // custody of e3, not yet acknowledged
    m.drive(1000);
    const after = store(before);
    m.boot('us-1', after);
    m.drive(1000);
    m.publish('us-1', 'e4');
    m.drive(1000);
    expect(ap.stats.protocolErrors).toBe(0);
    return { m, before, after };
  }

  it('a broker rebooted on its store resends what it held and keeps numbering: every event once, in order', () => {
    const { m, after } = crashAndReboot((same) => same);
    expect(m.delivered).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(after.destSeq.get('ap-1')).toBe(4);
    expect(after.held()).toBe(0);
    // e3 went out again from custody and ap-1's ledger recognized it.
    expect((m.live.get('ap-1') as Broker).stats.duplicatesSuppressed).toBe(1);
  });

  it('[DUR-2] restarted from a store rebuilt from its recorded operations: the same outcome as the kept object', () => {
    const journal = new RecordingStore();
    let recovered: DurableState | undefined;
    const { m, before, after } = crashAndReboot((first) => {
      recovered = recoverDurable(CONFIG, 'us-1', journal.ops);
      // What the crash left: e3 in custody (now spooled), numbering at 3, the same sequences.
      expect(recovered.spool.length).toBe(1);
      expect(recovered.held()).toBe(first.held());
      expect(recovered.destSeq.get('ap-1')).toBe(3);
      expect(recovered.lsSeq).toBe(first.lsSeq);
      expect(recovered.interestSeq).toBe(first.interestSeq);
      return recovered;
    }, journal);
    expect(after).toBe(recovered);
    expect(before.store).toBe(journal);
    expect(m.delivered).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(after.destSeq.get('ap-1')).toBe(4);
    expect(after.held()).toBe(0);
    expect((m.live.get('ap-1') as Broker).stats.duplicatesSuppressed).toBe(1);
  });

  it('[DUR-2] the receiving side rebuilt from its operations keeps its ledger, its resequencers and the interest it knew', () => {
    const journal = new RecordingStore();
    const m = new TwoBrokers();
    m.boot('us-1', new DurableState(CONFIG));
    const apState = new DurableState(CONFIG, journal);
    m.boot('ap-1', apState);
    m.drive(1000);
    m.publish('us-1', 'e1');
    m.publish('us-1', 'e2');
    m.drive(500);
    m.crash('ap-1');
    const back = recoverDurable(CONFIG, 'ap-1', journal.ops);
    expect(back.ledger.size).toBe(2);
    expect(back.ledger.has(m.kernel.now, 'e1', 'ap-1')).toBe(true);
    expect(back.resequencer('us-1').next).toBe(3);
    expect(back.lsSeq).toBe(apState.lsSeq);
    expect(back.held()).toBe(0);
    m.drive(1000);
    m.boot('ap-1', back);
    m.drive(1000);
    m.publish('us-1', 'e3');
    m.drive(1000);
    expect(m.delivered).toEqual(['e1', 'e2', 'e3']);
    // (control) on an empty store the stream would restart at 1 and e3 would wait for ever.
    expect(new DurableState(CONFIG).resequencer('us-1').next).toBe(1);
  });

  it("[DUR-1][DUR-2] other origins' interest comes back from the interest frames written", () => {
    const journal = new RecordingStore();
    const m = new TwoBrokers();
    m.boot('ap-1', new DurableState(CONFIG));
    const usState = new DurableState(CONFIG, journal);
    m.boot('us-1', usState);
    m.drive(1000);
    const back = recoverDurable(CONFIG, 'us-1', journal.ops);
    expect(back.interest?.originSnapshot('ap-1')?.entries.map((e) => e.pattern)).toEqual(['a/#']);
  });

  it('(control) rebooted on an empty store, its new events reuse old numbers and are lost as duplicates', () => {
    const { m } = crashAndReboot(() => new DurableState(CONFIG));
    expect(m.delivered).toEqual(['e1', 'e2', 'e3']);
  });
});

describe('[DEDUP-1] a publisher that retries with the same event id', () => {
  it('gets its event delivered once, and its stream goes on (the retry, numbered anew, is passed over in order)', () => {
    const m = new TwoBrokers();
    m.boot('us-1', new DurableState(CONFIG));
    const ap = m.boot('ap-1', new DurableState(CONFIG));
    m.drive(1000);
    m.publish('us-1', 'e1');
    m.publish('us-1', 'e1'); // the client did not see the 202 and sent it again: a new number, the same id
    m.publish('us-1', 'e2');
    m.drive(500);
    m.publish('us-1', 'e3');
    m.drive(500);
    expect(m.delivered).toEqual(['e1', 'e2', 'e3']);
    expect(ap.stats.duplicatesSuppressed).toBe(1);
  });
});
