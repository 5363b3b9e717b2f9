import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
/** The estimator's own tests run with the old 10 ms floor, so its arithmetic shows. */
const LOW_FLOOR = { minMs: 10, slackMs: 20 };

import { Inbox, MAX_RTO_MS, MIN_RTO_MS, MIN_RTO_SLACK_MS, Outbox, type Pending } from './reliable.ts';
import { heldBytes } from './spool.ts';
import type { Envelope } from './types.ts';

function env(id: string): Envelope {
  return { id, source: 'test', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload: new Uint8Array(0), publishedAtMs: 0, path: ['us-1'], hopLimit: 16 };
}

/** Tracks a first transmission of event `id` to one destination. */
function send(o: Outbox, now: number, id: string): number {
  return o.track(now, ['ap-1'], [1], env(id), 0, 0);
}

/** Retransmits `p` as the broker does: same event, one more retry, the RTO it had last time. */
function resend(o: Outbox, now: number, p: Pending): number {
  return o.track(now, p.dests, p.seqs, p.env, p.retries + 1, p.rtoMs);
}

const ids = (ps: readonly Pending[]) => ps.map((p) => p.env.id);

describe('Outbox: numbering per epoch [REL-1]', () => {
  it('numbers frames 1, 2, 3… in epoch 0 and keeps them in send order', () => {
    const o = new Outbox(200);
    expect(o.epoch).toBe(0);
    expect(send(o, 0, 'a')).toBe(1);
    expect(send(o, 1, 'b')).toBe(2);
    expect(send(o, 1, 'c')).toBe(3);
    expect([...o.pending.keys()]).toEqual([1, 2, 3]);
    const p = o.pending.get(2) as Pending;
    expect(p).toMatchObject({ dests: ['ap-1'], seqs: [1], sentAtMs: 1, retries: 0, rtoMs: 200, deadlineMs: 201 });
    expect(p.env.id).toBe('b');
  });

  it('a new epoch restarts numbering and hands back what was unacknowledged, in send order', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    send(o, 1, 'b');
    send(o, 2, 'c');
    expect(o.ack(3, 0, 2)).toBe(true);
    const left = o.newEpoch();
    expect(ids(left)).toEqual(['a', 'c']);
    expect(o.epoch).toBe(1);
    expect(o.pending.size).toBe(0);
    expect(o.nextDeadline()).toBe(Infinity);
    expect(send(o, 5, 'd')).toBe(1);
    // An ack from the old adjacency for linkSeq 1 means 'a', not 'd': it must not release 'd'.
    expect(o.ack(6, 0, 1)).toBe(false);
    expect(o.pending.has(1)).toBe(true);
    expect(o.ack(6, 1, 1)).toBe(true);
    expect(o.newEpoch()).toEqual([]);
    expect(o.epoch).toBe(2);
  });

  it('takeAll empties the outbox in send order but numbering continues in the same epoch', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    send(o, 0, 'b');
    expect(ids(o.takeAll())).toEqual(['a', 'b']);
    expect(o.takeAll()).toEqual([]);
    expect(o.epoch).toBe(0);
    expect(send(o, 1, 'c')).toBe(3);
  });
});

describe('Outbox: acknowledgements [REL-2]', () => {
  it('out-of-order acks release exactly the frames they name', () => {
    const o = new Outbox(200);
    for (const id of ['a', 'b', 'c', 'd']) send(o, 0, id);
    expect(o.ack(10, 0, 3)).toBe(true);
    expect(o.ack(10, 0, 1)).toBe(true);
    expect(ids([...o.pending.values()])).toEqual(['b', 'd']);
    expect(o.nextDeadline()).toBe(200);
  });

  it('duplicate, unknown and wrong-epoch acks are refused and change nothing', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    send(o, 0, 'b');
    expect(o.ack(100, 0, 1)).toBe(true);
    const rto = o.rto();
    expect(rto).toBe(300); // one sample of 100 ms: 100 + 4·50
    expect(o.ack(150, 0, 1)).toBe(false); // duplicate
    expect(o.ack(150, 0, 7)).toBe(false); // never sent
    expect(o.ack(150, 1, 2)).toBe(false); // an epoch we are not in
    expect(o.ack(150, -1, 2)).toBe(false);
    expect(o.rto()).toBe(rto); // a duplicate is not a second RTT sample
    expect([...o.pending.keys()]).toEqual([2]);
  });
});

/** RFC 6298 section 2, written out independently, with this module's floor and cap. */
function referenceRto(samples: readonly number[], initialMs: number): number {
  if (samples.length === 0) return initialMs;
  let srtt = samples[0] as number;
  let rttvar = srtt / 2;
  for (const r of samples.slice(1)) {
    rttvar = (1 - 1 / 4) * rttvar + (1 / 4) * Math.abs(srtt - r);
    srtt = (1 - 1 / 8) * srtt + (1 / 8) * r;
  }
  return Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, srtt + Math.max(MIN_RTO_SLACK_MS, 4 * rttvar)));
}

describe('Outbox: retransmission timeout [REL-3]', () => {
  it('uses the initial RTO until the first sample', () => {
    const o = new Outbox(250);
    expect(o.rto()).toBe(250);
    send(o, 40, 'a');
    expect(o.nextDeadline()).toBe(290);
  });

  it('first sample R gives SRTT = R, RTTVAR = R/2; later samples follow RFC 6298', () => {
    const o = new Outbox(1000);
    send(o, 0, 'a');
    o.ack(100, 0, 1);
    expect(o.rto()).toBe(300);
    send(o, 100, 'b');
    o.ack(300, 0, 2); // R = 200: RTTVAR = 0.75·50 + 0.25·100 = 62.5, SRTT = 87.5 + 25 = 112.5
    expect(o.rto()).toBe(112.5 + 4 * 62.5);
    // The next frame's deadline uses it.
    send(o, 300, 'c');
    expect(o.nextDeadline()).toBe(300 + 362.5);
  });

  it(`RTTVAR's share never drops below ${MIN_RTO_SLACK_MS} ms, so a steady link still gets slack`, () => {
    const o = new Outbox(1000);
    for (let i = 0; i < 40; i++) {
      send(o, i * 1000, `e${i}`);
      o.ack(i * 1000 + 300, 0, i + 1);
    }
    expect(o.rto()).toBe(300 + MIN_RTO_SLACK_MS);
    // An ack at the same instant (RTT 0) still leaves the floor, never 0.
    const z = new Outbox(1000);
    send(z, 5, 'a');
    z.ack(5, 0, 1);
    expect(z.rto()).toBe(MIN_RTO_MS);
  });

  it(`caps the computed RTO at ${MAX_RTO_MS} ms`, () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    o.ack(60_000, 0, 1);
    expect(o.rto()).toBe(MAX_RTO_MS);
  });

  it('property: the RTO after any series of first-transmission samples is RFC 6298’s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 30, size: 'max' }), (initial, rtts) => {
        const o = new Outbox(initial);
        let now = 0;
        for (let i = 0; i < rtts.length; i++) {
          send(o, now, `e${i}`);
          now += rtts[i] as number;
          expect(o.ack(now, 0, i + 1)).toBe(true);
        }
        expect(o.rto()).toBeCloseTo(referenceRto(rtts, initial), 9);
      }),
    );
  });

  it("Karn's rule: an ack of a retransmission is not an RTT sample", () => {
    const o = new Outbox(200, undefined, LOW_FLOOR);
    send(o, 0, 'a');
    const [first] = o.expired(200);
    expect(first?.retries).toBe(0);
    const retry = resend(o, 200, first as Pending);
    expect(o.pending.get(retry)?.retries).toBe(1);
    // The retry is acknowledged 5 ms later; taken as a sample it would make RTO 15 + 4·... ≈ 25.
    expect(o.ack(205, 0, retry)).toBe(true);
    expect(o.rto()).toBe(200);
    // A first transmission acknowledged afterwards is sampled as usual.
    const next = send(o, 300, 'b');
    expect(o.ack(350, 0, next)).toBe(true);
    expect(o.rto()).toBe(150);
  });

  it('an ack of the original that arrives after it was retransmitted is neither a sample nor a release of the retry', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    const [first] = o.expired(200);
    const retry = resend(o, 200, first as Pending);
    expect(o.ack(210, 0, 1)).toBe(false);
    expect(o.pending.has(retry)).toBe(true);
    expect(o.rto()).toBe(200);
  });

  it('doubles the RTO per retry of the same frame, up to the cap, whatever later samples say', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    const rtos: number[] = [];
    let now = 0;
    for (let i = 0; i < 9; i++) {
      now = o.nextDeadline();
      const [p] = o.expired(now);
      rtos.push((p as Pending).rtoMs);
      resend(o, now, p as Pending);
    }
    expect(rtos).toEqual([200, 400, 800, 1600, 3200, 6400, MAX_RTO_MS, MAX_RTO_MS, MAX_RTO_MS]);
    expect([...o.pending.values()][0]?.retries).toBe(9);
    // Doubling is per frame: exactly at the cap's half it reaches the cap, not beyond.
    expect(o.pending.get(o.track(0, ['x'], [1], env('h'), 1, MAX_RTO_MS / 2))?.rtoMs).toBe(MAX_RTO_MS);
  });
});

describe('Outbox: expired and nextDeadline [REL-3]', () => {
  it('an empty outbox has nothing expired and no deadline', () => {
    const o = new Outbox(200);
    expect(o.expired(1e9)).toEqual([]);
    expect(o.nextDeadline()).toBe(Infinity);
  });

  it('a frame expires exactly at its deadline, not a moment before', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    expect(o.expired(199.999)).toEqual([]);
    expect(o.pending.size).toBe(1);
    expect(ids(o.expired(200))).toEqual(['a']);
    expect(o.pending.size).toBe(0);
    expect(o.expired(200)).toEqual([]);
  });

  it('returns every expired frame once, in send order, and leaves the rest', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    send(o, 10, 'b');
    send(o, 20, 'c');
    send(o, 30, 'd');
    expect(ids(o.expired(220))).toEqual(['a', 'b', 'c']);
    expect(o.nextDeadline()).toBe(230);
    expect(ids(o.expired(1000))).toEqual(['d']);
  });

  it('a fresh frame sent after a backed-off retry is retransmitted at its own deadline', () => {
    const o = new Outbox(200);
    send(o, 0, 'a');
    // 'a' is lost repeatedly: its retry now waits 800 ms.
    for (const at of [200, 600]) resend(o, at, o.expired(at)[0] as Pending);
    expect(o.pending.size).toBe(1);
    expect(o.nextDeadline()).toBe(1400);
    // Meanwhile a new frame goes out with the ordinary 200 ms RTO, and is lost too.
    send(o, 700, 'b');
    expect(o.nextDeadline()).toBe(900);
    expect(ids(o.expired(900))).toEqual(['b']);
    expect(o.nextDeadline()).toBe(1400);
  });

  it('a frame sent with a shorter RTO than an earlier one still expires on time', () => {
    const o = new Outbox(1000, undefined, LOW_FLOOR);
    send(o, 0, 'a'); // initial RTO: deadline 1000
    const b = send(o, 0, 'b');
    o.ack(20, 0, b); // one sample of 20 ms: RTO 60
    send(o, 30, 'c'); // deadline 90
    expect(o.nextDeadline()).toBe(90);
    expect(ids(o.expired(90))).toEqual(['c']);
    expect(ids(o.expired(1000))).toEqual(['a']);
  });

  it('property: any mix of sends, retries, acks and timeouts — each frame leaves once; expired is exactly what is due, in send order', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('send' as const), gap: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ t: fc.constant('ack' as const), gap: fc.integer({ min: 0, max: 300 }), pick: fc.nat(), dup: fc.boolean() }),
      fc.record({ t: fc.constant('timeout' as const), gap: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ t: fc.constant('epoch' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(op, { maxLength: 80, size: 'max' }), (initial, ops) => {
        const o = new Outbox(initial);
        let now = 0;
        let n = 0;
        const live = new Set<string>(); // events the outbox should hold (by id)
        const acked: number[] = [];
        for (const step of ops) {
          if ('gap' in step) now += step.gap;
          if (step.t === 'send') {
            const id = `e${n++}`;
            send(o, now, id);
            live.add(id);
          } else if (step.t === 'ack') {
            const keys = [...o.pending.keys()];
            const seq = step.dup && acked.length > 0 ? (acked[step.pick % acked.length] as number) : (keys[step.pick % Math.max(1, keys.length)] ?? 1);
            const p = o.pending.get(seq);
            expect(o.ack(now, o.epoch, seq)).toBe(p !== undefined);
            if (p !== undefined) {
              live.delete(p.env.id);
              acked.push(seq);
            }
          } else if (step.t === 'timeout') {
            const before = [...o.pending.values()]; // send order
            const due = o.expired(now);
            expect(due).toEqual(before.filter((p) => p.deadlineMs <= now));
            for (const p of o.pending.values()) expect(p.deadlineMs).toBeGreaterThan(now);
            for (const p of due) resend(o, now, p);
          } else {
            for (const p of o.newEpoch()) resend(o, now, p);
            acked.length = 0;
          }
          expect(new Set(ids([...o.pending.values()]))).toEqual(live);
          expect(o.pending.size).toBe(live.size);
          const earliest = Math.min(...[...o.pending.values()].map((p) => p.deadlineMs));
          expect(o.nextDeadline()).toBe(earliest);
        }
      }),
    );
  });
});

describe('Inbox: batched acks [REL-2]', () => {
  it('the first ack owed sets the due time; later ones ride along', () => {
    const i = new Inbox();
    expect(i.dueMs).toBe(Infinity);
    i.owe(10, 0, 1, 2);
    expect(i.dueMs).toBe(12);
    i.owe(11, 0, 3, 2);
    i.owe(11.5, 0, 2, 2);
    expect(i.dueMs).toBe(12);
    expect(i.epoch).toBe(0);
    expect(i.take()).toEqual([1, 3, 2]);
    expect(i.dueMs).toBe(Infinity);
    expect(i.owed).toEqual([]);
    expect(i.take()).toEqual([]);
    // The next batch starts its own delay.
    i.owe(20, 0, 4, 2);
    expect(i.dueMs).toBe(22);
  });

  it('a retry received twice is acknowledged twice (the sender ignores the second)', () => {
    const i = new Inbox();
    i.owe(0, 0, 5, 2);
    i.owe(1, 0, 5, 2);
    expect(i.take()).toEqual([5, 5]);
  });

  it('a new epoch from the sender drops acks owed for the old one', () => {
    const i = new Inbox();
    i.owe(0, 0, 1, 2);
    i.owe(0, 0, 2, 2);
    i.owe(1, 1, 1, 5);
    expect(i.epoch).toBe(1);
    expect(i.dueMs).toBe(6);
    expect(i.take()).toEqual([1]);
  });

  it('any change of epoch starts a new batch, also a lower one (a sender whose numbering restarted is still answered)', () => {
    const i = new Inbox();
    i.owe(0, 2, 7, 2);
    i.owe(1, 1, 9, 2);
    expect(i.epoch).toBe(1);
    expect(i.dueMs).toBe(3);
    expect(i.take()).toEqual([9]);
  });

  it('acks the sender gets from an Inbox release its Outbox', () => {
    const out = new Outbox(200);
    const inbox = new Inbox();
    for (const id of ['a', 'b', 'c']) {
      const seq = send(out, 0, id);
      inbox.owe(50, out.epoch, seq, 2);
    }
    const { epoch, dueMs } = inbox;
    expect(dueMs).toBe(52);
    for (const s of inbox.take()) expect(out.ack(dueMs, epoch, s)).toBe(true);
    expect(out.pending.size).toBe(0);
    expect(out.rto()).toBe(referenceRto([52, 52, 52], 200));
  });
});

describe('Outbox: an ack of new data ends the backoff [REL-4]', () => {
  /** 'a' sent at 0 and retried through a cut: RTOs 200, 400, 800, 1600, 3200; the last retry waits 6400. */
  function backedOff(): { o: Outbox; now: number; seq: number } {
    const o = new Outbox(200, undefined, LOW_FLOOR);
    let seq = send(o, 0, 'a');
    let now = 0;
    for (let i = 0; i < 5; i++) {
      now = o.nextDeadline();
      const [p] = o.expired(now);
      seq = resend(o, now, p as Pending);
    }
    expect(o.pending.get(seq)).toMatchObject({ retries: 5, rtoMs: 6400, deadlineMs: now + 6400 });
    return { o, now, seq };
  }

  it('the link is back: an ack of a first transmission re-times the backed-off retry to now + RTO', () => {
    const { o, now, seq } = backedOff();
    const fresh = send(o, now + 10, 'b');
    expect(o.ack(now + 60, o.epoch, fresh)).toBe(true);
    const rto = o.rto(); // from the 50 ms sample
    expect(rto).toBeLessThan(200);
    expect(o.pending.get(seq)).toMatchObject({ retries: 5, rtoMs: rto, deadlineMs: now + 60 + rto });
    expect(o.nextDeadline()).toBe(now + 60 + rto);
    expect(o.expired(now + 60 + rto - 1)).toEqual([]);
    expect(ids(o.expired(now + 60 + rto))).toEqual(['a']);
    // Its old, later deadline finds nothing: the frame left once.
    expect(o.expired(now + 6400)).toEqual([]);
    expect(o.nextDeadline()).toBe(Infinity);
  });

  it("an ack of a retransmission is no sample and re-times nothing (Karn's rule)", () => {
    const { o, now, seq } = backedOff();
    const other = o.track(now, ['ap-1'], [2], env('c'), 1, 200);
    o.ack(now + 50, o.epoch, other);
    expect(o.pending.get(seq)?.deadlineMs).toBe(now + 6400);
  });

  it('a retry already due sooner than now + RTO keeps its deadline; first transmissions are never moved', () => {
    const o = new Outbox(200, undefined, LOW_FLOOR);
    const a = send(o, 0, 'a');
    const [p] = o.expired(200);
    const retry = resend(o, 200, p as Pending); // due at 600
    const b = send(o, 500, 'b');
    const c = send(o, 550, 'c');
    o.ack(590, o.epoch, c); // a 40 ms sample: RTO 40 + 4 × 20 = 120, so now + RTO is 710
    expect(o.rto()).toBe(120);
    expect(a).not.toBe(retry);
    expect(o.pending.get(retry)?.deadlineMs).toBe(600);
    expect(o.pending.get(b)?.deadlineMs).toBe(700);
  });
});

describe('Outbox: in-flight bytes count against the custody limit [SPOOL-2]', () => {
  it("adds each frame's held bytes per destination, and gives them back on ack, expiry and takeAll", () => {
    const custody = { inFlightBytes: 0 };
    const o = new Outbox(200, custody);
    const one = heldBytes(env('a'));
    o.track(0, ['ap-1', 'eu-1'], [1, 1], env('a'), 0, 0);
    o.track(0, ['ap-1'], [2], env('b'), 0, 0);
    o.track(50, ['ap-1'], [3], env('c'), 0, 0);
    expect(custody.inFlightBytes).toBe(4 * one);
    o.ack(10, 0, 1);
    expect(custody.inFlightBytes).toBe(2 * one);
    expect(ids(o.expired(220))).toEqual(['b']); // RTO 200 ms from t=0 (no sample yet for 'c')
    expect(custody.inFlightBytes).toBe(one);
    o.takeAll();
    expect(custody.inFlightBytes).toBe(0);
  });
});
