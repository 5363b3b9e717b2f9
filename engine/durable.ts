/**
 * What a broker keeps on disk (seed 002: "a local disk-backed Spool Queue"): everything a crash
 * must not lose for guaranteed delivery to hold. The host owns the object and hands the same one
 * to the broker it boots after a crash (or to an HA backup that takes the address over: the pair
 * shares its store). Everything else — adjacencies, routes, local subscriptions, client sessions —
 * is memory and is rebuilt.
 *
 * - the spool and the unacknowledged frames per neighbor (custody: acknowledged upstream, not yet
 *   downstream);
 * - the dedup ledger;
 * - per destination, the last sequence number given to this origin's events [ORD-1];
 * - per origin, the resequencer: the next number expected and what arrived ahead of it [ORD-2];
 * - [DUR-1] the interest other brokers advertised. A broker that came back knowing nothing of it
 *   would accept guaranteed events and route them nowhere until the database exchange had
 *   refilled it: lost, though accepted (meshtwin explore found it). With it, what is published
 *   before the routes return waits in the spool; the exchange then corrects whatever changed.
 *
 * [DUR-2] Every change the broker makes here is also written, operation by operation, to the
 * state's `DurableStore` when it has one (store.ts: what must be durable before a guaranteed
 * publish or frame is acknowledged, and how a restart reads it back). Slow subscribers' queues
 * and consumer-group backlogs are not in it: they are memory, as the clients' sessions are.
 */
import type { InterestFrame } from './frames.ts';
import type { InterestTable } from './interest.ts';
import { DedupLedger } from './ledger.ts';
import { Outbox } from './reliable.ts';
import { Spool } from './spool.ts';
import { DurableSession } from './session.ts';
import type { DurableStore } from './store.ts';
import type { BrokerId, Envelope, Millis } from './types.ts';

/**
 * [ORD-2] One origin's stream as a destination sees it: events are released to subscribers in
 * sequence order; one that arrives ahead of a gap waits for the gap to fill.
 */
export class Resequencer {
  next = 1;
  readonly waiting = new Map<number, Envelope>();

  /**
   * Offers event `seq`; returns the events now deliverable, in order, or 'duplicate' if `seq` was
   * already released or is already waiting.
   */
  offer(seq: number, env: Envelope): Envelope[] | 'duplicate' {
    if (seq < this.next || this.waiting.has(seq)) return 'duplicate';
    if (seq !== this.next) {
      this.waiting.set(seq, env);
      return NONE;
    }
    const out = [env];
    this.next++;
    for (let e = this.waiting.get(this.next); e !== undefined; e = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      out.push(e);
      this.next++;
    }
    return out;
  }
}

const NONE: Envelope[] = [];

export interface DurableConfig {
  readonly ledgerTtlMs: Millis;
  readonly spoolBytes: number;
  readonly retransmitMs: Millis;
}

export class DurableState {
  readonly ledger: DedupLedger;
  readonly spool: Spool;
  readonly outboxes = new Map<BrokerId, Outbox>();
  /** [ORD-1] Last sequence number given per destination broker. */
  readonly destSeq = new Map<BrokerId, number>();
  readonly resequencers = new Map<BrokerId, Resequencer>();
  #lsSeq = 0;
  #interestSeq = 0;
  /**
   * [DUR-1] The last life's interest table, standing for its copy on disk (written through on
   * every change); the next life reads the other origins' interest back from it.
   */
  interest: InterestTable | undefined;

  /**
   * `store`: where the operations are written for a restart from disk [DUR-2] (store.ts). None:
   * this object is itself what survives (the simulator keeps it across crashes).
   */
  constructor(
    readonly config: DurableConfig,
    readonly store?: DurableStore,
  ) {
    this.ledger = new DedupLedger(config.ledgerTtlMs);
    this.spool = new Spool(config.spoolBytes);
  }

  /** Highest link-state sequence number this broker has used (any life). */
  get lsSeq(): number {
    return this.#lsSeq;
  }

  set lsSeq(seq: number) {
    this.#lsSeq = seq;
    this.store?.write({ op: 'sequences', lsSeq: seq, interestSeq: this.#interestSeq });
  }

  /** Highest interest sequence number this broker has used (any life). */
  get interestSeq(): number {
    return this.#interestSeq;
  }

  set interestSeq(seq: number) {
    if (seq === this.#interestSeq) return;
    this.#interestSeq = seq;
    this.store?.write({ op: 'sequences', lsSeq: this.#lsSeq, interestSeq: seq });
  }

  /** Sequence numbers read back by recovery (store.ts); not written again. */
  restoreSequences(lsSeq: number, interestSeq: number): void {
    this.#lsSeq = lsSeq;
    this.#interestSeq = interestSeq;
  }

  /** Custody taken of `env` for `dest` (sent or spooled) [DUR-2]. */
  hold(env: Envelope, dest: BrokerId, seq: number): void {
    this.store?.write({ op: 'hold', dest, seq, env });
  }

  /** The next hop acknowledged `env` for these destinations: custody passed on. */
  release(env: Envelope, dests: readonly BrokerId[], seqs: readonly number[]): void {
    const store = this.store;
    if (store === undefined) return;
    const origin = env.path[0] as BrokerId;
    for (let i = 0; i < dests.length; i++) store.write({ op: 'release', origin, dest: dests[i] as BrokerId, seq: seqs[i] as number });
  }

  /** [DEDUP-1] Records event `id` as taken for `dest`. */
  recordLedger(now: Millis, id: string, dest: BrokerId): void {
    this.ledger.record(now, id, dest);
    this.store?.write({ op: 'ledger', id, dest, atMs: now });
  }

  /** [ORD-2] Offers `origin`'s event `seq` to its resequencer (see Resequencer.offer). */
  offerInOrder(origin: BrokerId, seq: number, env: Envelope): Envelope[] | 'duplicate' {
    const r = this.resequencer(origin);
    const out = r.offer(seq, env);
    const store = this.store;
    if (store !== undefined && out !== 'duplicate') {
      if (out.length === 0) store.write({ op: 'early', origin, seq, env });
      else store.write({ op: 'released', origin, next: r.next });
    }
    return out;
  }

  /** [DUR-1] Another origin's interest frame was applied. */
  noteInterest(frame: InterestFrame): void {
    this.store?.write({ op: 'interest', frame });
  }

  outbox(neighbor: BrokerId): Outbox {
    let o = this.outboxes.get(neighbor);
    if (o === undefined) this.outboxes.set(neighbor, (o = new Outbox(this.config.retransmitMs, this.spool)));
    return o;
  }

  nextSeqFor(dest: BrokerId): number {
    const s = (this.destSeq.get(dest) ?? 0) + 1;
    this.destSeq.set(dest, s);
    this.store?.write({ op: 'dest-seq', dest, seq: s });
    return s;
  }

  resequencer(origin: BrokerId): Resequencer {
    let r = this.resequencers.get(origin);
    if (r === undefined) this.resequencers.set(origin, (r = new Resequencer()));
    return r;
  }

  /** [SESS-1] Durable sessions by name (engine/session.ts). */
  readonly sessions = new Map<string, DurableSession>();

  /** [SESS-1] Opens session `name` (or returns the one open under that name). */
  openSession(name: string, pattern: string, filter: string | null): DurableSession {
    let s = this.sessions.get(name);
    if (s === undefined) {
      this.sessions.set(name, (s = new DurableSession(name, pattern, filter)));
      this.store?.write({ op: 'session-open', name, pattern, filter });
    }
    return s;
  }

  /** [SESS-2] Queues `env` for session `s`; returns its number there. */
  queueForSession(s: DurableSession, env: Envelope, guaranteed: boolean): number {
    const seq = s.nextSeq++;
    s.queue.set(seq, { env, guaranteed, redelivered: false });
    this.store?.write({ op: 'session-queued', name: s.name, seq, env, guaranteed });
    return seq;
  }

  /** [SESS-3] Event `seq` of session `s` was handed to its client. */
  sentFromSession(s: DurableSession, seq: number): void {
    if (!s.queue.delete(seq)) return;
    this.store?.write({ op: 'session-sent', name: s.name, seq });
  }

  /** [SESS-4] Session `name` ended: forgotten with its queue. */
  closeSession(name: string): void {
    if (!this.sessions.delete(name)) return;
    this.store?.write({ op: 'session-close', name });
  }

  /** Guaranteed events held here: spooled, unacknowledged, or waiting for an earlier one. */
  held(): number {
    let n = this.spool.length;
    for (const o of this.outboxes.values()) n += o.pending.size;
    for (const r of this.resequencers.values()) n += r.waiting.size;
    return n;
  }
}
