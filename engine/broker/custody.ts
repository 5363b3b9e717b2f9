/**
 * Guaranteed delivery, the broker's side of it: custody of events until the next hop acknowledges
 * them [REL-1..4], acks owed and received, retransmission along the current routes, the spool
 * when no path exists [SPOOL-1..2], and at the destination the dedup ledger [DEDUP-1] and the
 * per-origin resequencer [ORD-2]. The state itself lives in the broker's `DurableState`.
 */
import { encodeFrame } from '../codec/index.ts';
import { FrameKind, type AckFrame, type GuaranteedFrame } from '../frames.ts';
import { Inbox, type Pending } from '../reliable.ts';
import { heldBytes } from '../spool.ts';
import type { BrokerId, Envelope, Millis } from '../types.ts';
import type { BrokerCore } from './core.ts';
import { byNextHop, dropNoRoute } from './forward.ts';
import { deliverLocal } from './local.ts';

/**
 * Sends a guaranteed event (its outgoing envelope, hop already counted) toward `dests`, one
 * frame per next hop; destinations without a path are spooled [SPOOL-1]. Returns false if some
 * destination could neither be sent nor spooled (spool full): the caller must not acknowledge.
 * `fresh`: custody is taken now (a publish, a frame to carry on), not moved (a retry, a drain),
 * which the durable store records [DUR-2].
 */
export function routeGuaranteed(b: BrokerCore, now: Millis, env: Envelope, dests: readonly BrokerId[], seqs: readonly number[], retries: number, prevRtoMs: Millis, fresh: boolean): boolean {
  let ok = true;
  const durable = b.durable;
  const groups = byNextHop(b, dests, seqs, b.unrouted);
  if (b.unrouted.length > 0) {
    const bytes = heldBytes(env);
    for (const i of b.unrouted) {
      const dest = dests[i] as BrokerId;
      const seq = seqs[i] as number;
      if (b.config.disable?.spool === true) {
        dropNoRoute(b, env, dest);
        if (!fresh) durable.release(env, [dest], [seq]);
        continue;
      }
      if (durable.spool.hasRoom(bytes)) {
        durable.spool.push({ env, dest, seq, bytes });
        b.stats.spooled++;
        if (fresh) durable.hold(env, dest, seq);
      } else ok = false;
    }
  }
  for (const g of groups) {
    const gseqs = g.seqs as number[];
    if (fresh) for (let i = 0; i < g.dests.length; i++) durable.hold(env, g.dests[i] as BrokerId, gseqs[i] as number);
    sendGuaranteed(b, now, g.hop, g.dests, gseqs, env, retries, prevRtoMs);
  }
  return ok;
}

function sendGuaranteed(b: BrokerCore, now: Millis, hop: BrokerId, dests: readonly BrokerId[], seqs: readonly number[], env: Envelope, retries: number, prevRtoMs: Millis): void {
  const outbox = b.durable.outbox(hop);
  const linkSeq = outbox.track(now, dests, seqs, env, retries, prevRtoMs);
  b.stats.dataFramesSent++;
  if (retries > 0) {
    b.stats.retransmitted++;
    outbox.retransmitted++;
  }
  const frame: GuaranteedFrame = { kind: FrameKind.Guaranteed, epoch: outbox.epoch, linkSeq, dests, seqs, envelope: env };
  b.host.send(hop, encodeFrame(frame));
  b.armTimer((outbox.pending.get(linkSeq) as Pending).deadlineMs);
}

export function handleGuaranteed(b: BrokerCore, now: Millis, from: BrokerId, frame: GuaranteedFrame): void {
  b.stats.dataFramesReceived++;
  const env = frame.envelope;
  const origin = env.path[0];
  if (origin === undefined) {
    b.protocolError(now, from, 'guaranteed frame with an empty path');
    return;
  }
  let onward: BrokerId[] | undefined;
  let onwardSeqs: number[] | undefined;
  for (let i = 0; i < frame.dests.length; i++) {
    const d = frame.dests[i] as BrokerId;
    const seq = frame.seqs[i] as number;
    if (d !== b.id) {
      (onward ??= []).push(d);
      (onwardSeqs ??= []).push(seq);
      continue;
    }
    if (b.config.disable?.dedup === true) {
      deliverLocal(b, now, env, true);
      continue;
    }
    // [ORD-2] release the origin's stream in order; a frame sent again is a duplicate by its number.
    const ready = b.durable.offerInOrder(origin, seq, env);
    if (ready === 'duplicate') {
      b.stats.duplicatesSuppressed++;
      continue;
    }
    // [DEDUP-1] an event id already taken (a publisher's retry, numbered anew by its origin, or a
    // copy through another origin) is discarded when its turn comes, its number passed: checked
    // before the stream's order, it would leave a gap the stream could never fill.
    const ledger = b.durable.ledger;
    for (const e of ready) {
      if (ledger.has(now, e.id, b.id)) {
        b.stats.duplicatesSuppressed++;
        continue;
      }
      b.durable.recordLedger(now, e.id, b.id);
      deliverLocal(b, now, e, true);
    }
  }
  let ok = true;
  if (onward !== undefined) {
    // Guaranteed frames are not dropped for a repeated path (a retry after a reroute may pass a
    // broker twice); the hop limit bounds them, and without hops left we let the sender retry.
    if (env.hopLimit <= 0) {
      b.stats.droppedHopLimit++;
      ok = false;
    } else if (b.config.disable?.spool !== true && !b.durable.spool.hasRoom(heldBytes(env) * onward.length)) {
      // [SPOOL-2] No custody room to carry it on: no ack, so the sender keeps it and retries.
      b.stats.refusedSpoolFull++;
      ok = false;
    } else {
      ok = routeGuaranteed(b, now, { ...env, path: [...env.path, b.id], hopLimit: env.hopLimit - 1 }, onward, onwardSeqs as number[], 0, 0, true);
      if (!ok) b.stats.refusedSpoolFull++;
    }
  }
  if (ok) oweAck(b, now, from, frame.epoch, frame.linkSeq);
}

function oweAck(b: BrokerCore, now: Millis, to: BrokerId, epoch: number, linkSeq: number): void {
  let inbox = b.inboxes.get(to);
  if (inbox === undefined) b.inboxes.set(to, (inbox = new Inbox()));
  inbox.owe(now, epoch, linkSeq, b.ackDelayMs);
  b.armTimer(inbox.dueMs);
}

export function sendDueAcks(b: BrokerCore, now: Millis): void {
  for (const [to, inbox] of b.inboxes) {
    if (inbox.dueMs > now) continue;
    const frame: AckFrame = { kind: FrameKind.Ack, epoch: inbox.epoch, linkSeqs: inbox.take() };
    b.stats.acksSent++;
    b.host.send(to, encodeFrame(frame));
  }
}

export function handleAck(b: BrokerCore, now: Millis, from: BrokerId, frame: AckFrame): void {
  b.stats.acksReceived++;
  const outbox = b.durable.outboxes.get(from);
  if (outbox === undefined) return;
  for (const s of frame.linkSeqs) {
    const p = outbox.pending.get(s);
    if (outbox.ack(now, frame.epoch, s)) b.durable.release((p as Pending).env, (p as Pending).dests, (p as Pending).seqs);
  }
  // [REL-4] an ack can bring backed-off retries forward.
  b.armTimer(outbox.nextDeadline());
}

/** [REL-3] Frames past their deadline are sent again along the current routes. */
export function retransmitExpired(b: BrokerCore, now: Millis): void {
  for (const outbox of b.durable.outboxes.values()) {
    if (outbox.nextDeadline() > now) continue;
    for (const p of outbox.expired(now)) reroute(b, now, p);
  }
}

/** Sends unacknowledged frames again along the current routes (or into the spool). */
export function reroute(b: BrokerCore, now: Millis, p: Pending): void {
  if (!routeGuaranteed(b, now, p.env, p.dests, p.seqs, p.retries + 1, p.rtoMs, false)) {
    // No path and no spool room: keep trying from the spool's side later (never drop).
    b.stats.refusedSpoolFull++;
    spoolPending(b, [p]);
  }
}

/** [REL-3] What neighbor `id` had not acknowledged takes the new routes (or the spool). */
export function rerouteUnacked(b: BrokerCore, now: Millis, id: BrokerId): void {
  const outbox = b.durable.outboxes.get(id);
  if (outbox !== undefined && outbox.pending.size > 0) for (const p of outbox.takeAll()) reroute(b, now, p);
}

/**
 * Puts unacknowledged frames into the spool. Custody already taken cannot be refused after the
 * fact, so this may go over the limit (the spool's peak shows it); new work is refused instead.
 */
export function spoolPending(b: BrokerCore, list: readonly Pending[]): void {
  const spool = b.durable.spool;
  for (const p of list) {
    for (let i = 0; i < p.dests.length; i++) {
      spool.push({ env: p.env, dest: p.dests[i] as BrokerId, seq: p.seqs[i] as number, bytes: heldBytes(p.env) });
      b.stats.spooled++;
    }
  }
}

/** Spooled events whose destination is reachable again go out, in spool (publish) order. */
export function drainSpool(b: BrokerCore, now: Millis): void {
  const ready = b.durable.spool.drain((d) => b.lsdb.nextHop(d) !== undefined);
  if (ready.length === 0) return;
  for (const e of ready) routeGuaranteed(b, now, e.env, [e.dest], [e.seq], 0, 0, false);
  b.host.emit({ type: 'spool-drained', at: now, broker: b.id, events: ready.length });
}
