/**
 * [DUR-3] A snapshot of a durable state (store.ts `snapshotOps`) rebuilds, through
 * `recoverDurable`, what the full log of operations rebuilds: custody in stream order, the ledger
 * with its times, sequence numbers, resequencers and the interest known from other origins.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DurableState, type DurableConfig } from './durable.ts';
import type { InterestFrame } from './frames.ts';
import { RecordingStore, recoverDurable, snapshotOps, type DurableOp } from './store.ts';
import type { BrokerId, Envelope } from './types.ts';

const CONFIG: DurableConfig = { ledgerTtlMs: 60_000, spoolBytes: 1_000_000, retransmitMs: 250 };

function env(id: string, origin: BrokerId = 'us-1'): Envelope {
  return { id, source: 'test', type: 't', specversion: '1.0', topic: 'a/b', headers: { n: 1 }, payload: new Uint8Array([1, 2, 3]), publishedAtMs: 5, path: [origin], hopLimit: 16 };
}

/** Everything a restart reads from a state, in a form `toEqual` compares. */
function view(s: DurableState): unknown {
  const spool: string[] = [];
  s.spool.forEach((e) => spool.push(`${e.env.path[0]}>${e.dest}#${e.seq}:${e.env.id}`));
  const interest: InterestFrame[] = [];
  if (s.interest !== undefined) for (const o of s.interest.knownOrigins()) interest.push(s.interest.originSnapshot(o) as InterestFrame);
  return {
    spool,
    spoolBytes: s.spool.usedBytes,
    ledger: [...s.ledger.entries()],
    destSeq: [...s.destSeq],
    resequencers: [...s.resequencers].map(([o, r]) => [o, r.next, [...r.waiting.keys()]]),
    lsSeq: s.lsSeq,
    interestSeq: s.interestSeq,
    interest,
  };
}

const roundTrip = (s: DurableState, nowMs?: number): DurableState => recoverDurable(CONFIG, 'ap-1', snapshotOps(s, nowMs));

describe('snapshotOps [DUR-3]', () => {
  it('a live state (spooled, sent and unacknowledged, released) comes back as its log would bring it back', () => {
    const journal = new RecordingStore();
    const s = new DurableState(CONFIG, journal);
    s.lsSeq = 7;
    s.interestSeq = 3;
    const sent: Envelope[] = [];
    for (let i = 1; i <= 6; i++) {
      const e = env(`e${i}`);
      const seq = s.nextSeqFor('eu-1');
      if (i % 2 === 0) {
        s.spool.push({ env: e, dest: 'eu-1', seq, bytes: 10 });
        s.hold(e, 'eu-1', seq);
      } else {
        s.outbox('eu-1').track(0, ['eu-1'], [seq], e, 0, 0);
        s.hold(e, 'eu-1', seq);
        sent.push(e);
      }
    }
    // e1 is acknowledged: custody passed on.
    s.outbox('eu-1').ack(1, 0, 1);
    s.release(sent[0] as Envelope, ['eu-1'], [1]);
    s.recordLedger(100, 'x1', 'ap-1');
    s.recordLedger(200, 'x2', 'ap-1');
    s.offerInOrder('eu-1', 1, env('y1', 'eu-1'));
    s.offerInOrder('eu-1', 3, env('y3', 'eu-1'));
    const fromLog = recoverDurable(CONFIG, 'ap-1', journal.ops);
    const fromSnapshot = roundTrip(s);
    // The log's spool is in custody order (e2, e4, e6 spooled; e3, e5 held in the outbox); the
    // snapshot puts the stream back in sequence order, its publish order.
    expect(view(fromSnapshot)).toEqual({ ...(view(fromLog) as object), spool: ['us-1>eu-1#2:e2', 'us-1>eu-1#3:e3', 'us-1>eu-1#4:e4', 'us-1>eu-1#5:e5', 'us-1>eu-1#6:e6'] });
    expect(fromSnapshot.resequencer('eu-1').next).toBe(2);
    expect([...fromSnapshot.resequencer('eu-1').waiting.keys()]).toEqual([3]);
    expect(fromSnapshot.ledger.has(250, 'x1', 'ap-1')).toBe(true);
    expect(fromSnapshot.lsSeq).toBe(7);
    expect(fromSnapshot.interestSeq).toBe(3);
    // A snapshot of the snapshot is the same operations.
    expect(snapshotOps(fromSnapshot)).toEqual(snapshotOps(recoverDurable(CONFIG, 'ap-1', snapshotOps(fromSnapshot))));
  });

  it('drops ledger entries expired at nowMs, keeps the others with their recorded times', () => {
    const s = new DurableState(CONFIG);
    s.recordLedger(1_000, 'old', 'ap-1');
    s.recordLedger(30_000, 'new', 'ap-1');
    const back = roundTrip(s, 61_000);
    expect([...back.ledger.entries()]).toEqual([{ id: 'new', dest: 'ap-1', atMs: 30_000 }]);
    expect(back.ledger.has(89_999, 'new', 'ap-1')).toBe(true);
    expect(back.ledger.has(90_000, 'new', 'ap-1')).toBe(false);
  });

  it('property: recoverDurable(snapshotOps(recoverDurable(log))) equals recoverDurable(log)', () => {
    const origin = fc.constantFrom('us-1', 'eu-1');
    const dest = fc.constantFrom('ap-1', 'eu-1', 'sa-1');
    const seq = fc.integer({ min: 1, max: 6 });
    const op: fc.Arbitrary<DurableOp> = fc.oneof(
      fc.record({ op: fc.constant('hold' as const), dest, seq, origin }).map((o): DurableOp => ({ op: 'hold', dest: o.dest, seq: o.seq, env: env(`${o.origin}-${o.dest}-${o.seq}`, o.origin) })),
      fc.record({ op: fc.constant('release' as const), origin, dest, seq }),
      fc.record({ op: fc.constant('ledger' as const), id: fc.constantFrom('a', 'b', 'c'), dest, atMs: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ op: fc.constant('dest-seq' as const), dest, seq }),
      fc.record({ op: fc.constant('released' as const), origin, next: seq }),
      fc.record({ op: fc.constant('early' as const), origin, seq }).map((o): DurableOp => ({ op: 'early', origin: o.origin, seq: o.seq, env: env(`early-${o.seq}`, o.origin) })),
      fc.record({ op: fc.constant('sequences' as const), lsSeq: seq, interestSeq: seq }),
      fc
        .record({ origin, seq, reset: fc.boolean(), add: fc.boolean(), pattern: fc.constantFrom('a/#', 'b/*', 'c') })
        .map((o): DurableOp => ({ op: 'interest', frame: { kind: 3, origin: o.origin, seq: o.seq, reset: o.reset, entries: [{ op: o.add ? 'add' : 'remove', pattern: o.pattern, selector: null }] } })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        // A broker takes custody of a stream's events in sequence order: keep only such holds.
        const last = new Map<string, number>();
        const log = ops.filter((o) => {
          if (o.op !== 'hold') return true;
          const k = `${o.env.path[0]}>${o.dest}`;
          if ((last.get(k) ?? 0) >= o.seq) return false;
          last.set(k, o.seq);
          return true;
        });
        const fromLog = recoverDurable(CONFIG, 'ap-1', log);
        expect(view(roundTrip(fromLog))).toEqual(view(fromLog));
      }),
      { numRuns: 300 },
    );
  });
});
