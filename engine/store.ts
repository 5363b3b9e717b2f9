/**
 * What a broker writes to disk, and how it reads it back [DUR-2]: the persistence interface of
 * `DurableState` (durable.ts). The simulator keeps the `DurableState` object itself across a
 * crash (its memory is the disk) and needs no store; live mode writes these operations to a log
 * (or a table) and recovers from them. `RecordingStore` keeps them in memory, so the same tests
 * check a restart through the interface that will check a disk-backed store.
 *
 * [DUR-2] Each operation is written during the input that causes it. A host must make the
 * operations written while handling an input durable before it performs that input's
 * acknowledging effects: the 'accepted' a guaranteed publish returns to its client (after the
 * `dest-seq` and `hold` records), and the Ack frames for guaranteed frames received (after the
 * `hold`, `ledger`, `early` and `released` records). Acks leave on the broker's timer,
 * `ackDelayMs` after the frame: that window is the store's natural group commit. Everything
 * else (adverts, hellos, realtime data) may go before the write is durable.
 *
 * Recovery (`recoverDurable`) replays the log in order: every event held and not released goes
 * into the spool (in the order custody was taken, which per origin is publish order), the
 * ledger gets its entries back with the times they were recorded, sequence numbers continue
 * past the highest written, each origin's resequencer resumes, and other origins' interest is
 * rebuilt from the frames applied [DUR-1]. The broker then starts on it as on a kept object.
 *
 * [DUR-3] A log of operations grows with every event; `snapshotOps` writes a state back as the
 * few operations that rebuild it (what a store compacts its log to): the custody still held, the
 * ledger, the sequence numbers, the resequencers and the interest known. `recoverDurable` of a
 * snapshot equals `recoverDurable` of the log it replaces on everything a restart reads.
 */
import type { InterestFrame } from './frames.ts';
import { InterestTable } from './interest.ts';
import { DurableSession } from './session.ts';
import { heldBytes } from './spool.ts';
import type { BrokerId, Envelope, Millis } from './types.ts';
import { DurableState, type DurableConfig } from './durable.ts';

/** One write. Custody is keyed by (origin, dest, seq): the event's number in its origin's stream to dest. */
export type DurableOp =
  /** Custody taken of a guaranteed event for `dest` (sent to a next hop or spooled). */
  | { readonly op: 'hold'; readonly dest: BrokerId; readonly seq: number; readonly env: Envelope }
  /** The next hop acknowledged it: custody passed on. */
  | { readonly op: 'release'; readonly origin: BrokerId; readonly dest: BrokerId; readonly seq: number }
  /** [DEDUP-1] Event `id` was taken for local subscribers of `dest` (this broker) at `atMs`. */
  | { readonly op: 'ledger'; readonly id: string; readonly dest: BrokerId; readonly atMs: Millis }
  /** [ORD-1] The last number given to this broker's events for `dest`. */
  | { readonly op: 'dest-seq'; readonly dest: BrokerId; readonly seq: number }
  /** [ORD-2] `origin`'s stream was delivered up to `next - 1`. */
  | { readonly op: 'released'; readonly origin: BrokerId; readonly next: number }
  /** [ORD-2] `origin`'s event `seq` arrived ahead of a gap and waits (already acknowledged upstream). */
  | { readonly op: 'early'; readonly origin: BrokerId; readonly seq: number; readonly env: Envelope }
  /** The highest link-state and interest sequence numbers used. */
  | { readonly op: 'sequences'; readonly lsSeq: number; readonly interestSeq: number }
  /** [DUR-1] Another origin's interest frame, applied. */
  | { readonly op: 'interest'; readonly frame: InterestFrame }
  /** [SESS-1] A durable session opened. */
  | { readonly op: 'session-open'; readonly name: string; readonly pattern: string; readonly filter: string | null }
  /** [SESS-2] An event queued for a session, its number there `seq`. */
  | { readonly op: 'session-queued'; readonly name: string; readonly seq: number; readonly env: Envelope; readonly guaranteed: boolean }
  /** [SESS-3] A session's event `seq` handed to its client. */
  | { readonly op: 'session-sent'; readonly name: string; readonly seq: number }
  /** [SESS-4] A session closed. */
  | { readonly op: 'session-close'; readonly name: string };

/** Where a `DurableState` writes its operations [DUR-2]. */
export interface DurableStore {
  write(op: DurableOp): void;
}

/** A store that keeps the operations in memory, in order (tests; the model of a log on disk). */
export class RecordingStore implements DurableStore {
  readonly ops: DurableOp[] = [];

  write(op: DurableOp): void {
    this.ops.push(op);
  }
}

/**
 * [DUR-2] The durable state a broker `self` had, read back from its operations. `store` (if
 * given) receives the recovered state's later writes.
 */
export function recoverDurable(config: DurableConfig, self: BrokerId, ops: Iterable<DurableOp>, store?: DurableStore): DurableState {
  const state = new DurableState(config, store);
  const held = new Map<string, { readonly env: Envelope; readonly dest: BrokerId; readonly seq: number }>();
  const early = new Map<BrokerId, Map<number, Envelope>>();
  const next = new Map<BrokerId, number>();
  let lsSeq = 0;
  let interestSeq = 0;
  let interest: InterestTable | undefined;
  for (const o of ops) {
    switch (o.op) {
      case 'hold': {
        const k = custodyKey(o.env.path[0] as BrokerId, o.dest, o.seq);
        if (!held.has(k)) held.set(k, { env: o.env, dest: o.dest, seq: o.seq });
        break;
      }
      case 'release':
        held.delete(custodyKey(o.origin, o.dest, o.seq));
        break;
      case 'ledger':
        state.ledger.record(o.atMs, o.id, o.dest);
        break;
      case 'dest-seq':
        state.destSeq.set(o.dest, Math.max(o.seq, state.destSeq.get(o.dest) ?? 0));
        break;
      case 'released':
        next.set(o.origin, Math.max(o.next, next.get(o.origin) ?? 1));
        break;
      case 'early': {
        let m = early.get(o.origin);
        if (m === undefined) early.set(o.origin, (m = new Map()));
        m.set(o.seq, o.env);
        break;
      }
      case 'sequences':
        lsSeq = Math.max(lsSeq, o.lsSeq);
        interestSeq = Math.max(interestSeq, o.interestSeq);
        break;
      case 'interest':
        (interest ??= new InterestTable(self)).apply(o.frame);
        break;
      case 'session-open':
        if (!state.sessions.has(o.name)) state.sessions.set(o.name, new DurableSession(o.name, o.pattern, o.filter));
        break;
      case 'session-queued': {
        const s = state.sessions.get(o.name);
        if (s === undefined) break;
        // [SESS-3] it may have reached the client before the crash: handed again, flagged.
        s.queue.set(o.seq, { env: o.env, guaranteed: o.guaranteed, redelivered: true });
        s.nextSeq = Math.max(s.nextSeq, o.seq + 1);
        break;
      }
      case 'session-sent': {
        const s = state.sessions.get(o.name);
        if (s === undefined) break;
        s.queue.delete(o.seq);
        s.nextSeq = Math.max(s.nextSeq, o.seq + 1);
        break;
      }
      case 'session-close':
        state.sessions.delete(o.name);
        break;
      default: {
        const never: never = o;
        throw new Error(`unknown durable op ${JSON.stringify(never)}`);
      }
    }
  }
  for (const e of held.values()) state.spool.push({ env: e.env, dest: e.dest, seq: e.seq, bytes: heldBytes(e.env) });
  for (const origin of new Set([...next.keys(), ...early.keys()])) {
    const r = state.resequencer(origin);
    r.next = next.get(origin) ?? 1;
    for (const [seq, env] of early.get(origin) ?? []) if (seq >= r.next) r.waiting.set(seq, env);
  }
  state.restoreSequences(lsSeq, interestSeq);
  state.interest = interest;
  return state;
}

/**
 * [DUR-3] Operations that rebuild `state` through `recoverDurable`. Custody held (spooled, or sent
 * and not yet acknowledged) comes back as holds, each origin→dest stream in sequence order (its
 * publish order) while the streams keep the interleaving they had; the ledger keeps its recorded
 * times, without the entries expired at `nowMs`; the interest known from other origins comes
 * back as one reset frame per origin. Read between inputs, when the state and its written
 * operations agree.
 */
export function snapshotOps(state: DurableState, nowMs = -Infinity): DurableOp[] {
  const ops: DurableOp[] = [{ op: 'sequences', lsSeq: state.lsSeq, interestSeq: state.interestSeq }];
  for (const [dest, seq] of state.destSeq) ops.push({ op: 'dest-seq', dest, seq });
  for (const [origin, r] of state.resequencers) {
    ops.push({ op: 'released', origin, next: r.next });
    for (const [seq, env] of r.waiting) ops.push({ op: 'early', origin, seq, env });
  }
  const ttlMs = state.ledger.ttlMs;
  for (const e of state.ledger.entries()) if (e.atMs + ttlMs > nowMs) ops.push({ op: 'ledger', id: e.id, dest: e.dest, atMs: e.atMs });
  const interest = state.interest;
  if (interest !== undefined) {
    for (const origin of interest.knownOrigins()) {
      const frame = interest.originSnapshot(origin);
      if (frame !== undefined) ops.push({ op: 'interest', frame });
    }
  }
  for (const h of heldInStreamOrder(state)) ops.push({ op: 'hold', dest: h.dest, seq: h.seq, env: h.env });
  for (const sess of state.sessions.values()) {
    ops.push({ op: 'session-open', name: sess.name, pattern: sess.pattern, filter: sess.filter });
    for (const [seq, e] of sess.queue) ops.push({ op: 'session-queued', name: sess.name, seq, env: e.env, guaranteed: e.guaranteed });
    // The numbering continues past what was sent, even when nothing is queued.
    if (sess.nextSeq > 1 && sess.queue.size === 0) ops.push({ op: 'session-sent', name: sess.name, seq: sess.nextSeq - 1 });
  }
  return ops;
}

interface Held {
  readonly env: Envelope;
  readonly dest: BrokerId;
  readonly seq: number;
}

/**
 * Custody held: the spool in its order, then each outbox in send order; then, within the slots
 * each origin→dest stream occupies, that stream's events by sequence number (a retry or a drain
 * may have moved one behind a later one).
 */
function heldInStreamOrder(state: DurableState): Held[] {
  const held: Held[] = [];
  const seen = new Set<string>();
  const add = (env: Envelope, dest: BrokerId, seq: number): void => {
    const k = custodyKey(env.path[0] as BrokerId, dest, seq);
    if (seen.has(k)) return;
    seen.add(k);
    held.push({ env, dest, seq });
  };
  state.spool.forEach((e) => add(e.env, e.dest, e.seq));
  for (const outbox of state.outboxes.values()) {
    for (const p of outbox.pending.values()) for (let i = 0; i < p.dests.length; i++) add(p.env, p.dests[i] as BrokerId, p.seqs[i] as number);
  }
  const streams = new Map<string, number[]>();
  for (let i = 0; i < held.length; i++) {
    const h = held[i] as Held;
    const k = `${h.env.path[0]}\u0000${h.dest}`;
    let slots = streams.get(k);
    if (slots === undefined) streams.set(k, (slots = []));
    slots.push(i);
  }
  const out: Held[] = new Array(held.length);
  for (const slots of streams.values()) {
    const items = slots.map((i) => held[i] as Held).sort((a, b) => a.seq - b.seq);
    for (let j = 0; j < slots.length; j++) out[slots[j] as number] = items[j] as Held;
  }
  return out;
}

export function custodyKey(origin: BrokerId, dest: BrokerId, seq: number): string {
  return `${origin}\u0000${dest}\u0000${seq}`;
}
