/**
 * The control plane's databases: link-state adverts and interest, flooded to every up neighbor,
 * exchanged whole when an adjacency comes up [SYNC-1..3], and repaired on a sequence gap [INT-4].
 * A route change recomputes next hops and drains the spool toward what became reachable.
 */
import { encodeFrame } from '../codec/index.ts';
import { FrameKind, type InterestFrame, type LinkStateFrame } from '../frames.ts';
import { UsageError, type BrokerId, type Millis } from '../types.ts';
import { DEFAULT_INTEREST_CHUNK, type BrokerCore } from './core.ts';
import { drainSpool } from './custody.ts';

/** [INT-4] A neighbor missed part of `origin`'s interest: send it all of it. */
export function handleSyncRequest(b: BrokerCore, to: BrokerId, origin: BrokerId): void {
  if (origin === to) {
    // [SYNC-2] The neighbor restarted and asks for everything (if the adjacency is not up,
    // our own neighbor-up will send it).
    if (b.neighbors.get(to)?.up === true) exchangeDatabase(b, to);
    return;
  }
  if (origin === b.id) {
    flushInterest(b);
    sendInterest(b, to, b.interest.ownSnapshot(false));
    b.durable.interestSeq = b.interest.ownSequence;
    return;
  }
  const snap = b.interest.originSnapshot(origin);
  if (snap !== undefined) sendInterest(b, to, snap);
}

/** Asks neighbor `to` for its whole database (a SyncRequest naming ourselves) [SYNC-2][SYNC-3]. */
export function requestDatabase(b: BrokerCore, to: BrokerId): void {
  b.host.send(to, encodeFrame({ kind: FrameKind.SyncRequest, origin: b.id }));
}

/** [SYNC-3] Asks a long-up neighbor whose advert does not list us for its database. */
export function checkNeighborAdverts(b: BrokerCore, now: Millis): void {
  const dead = b.config.deadIntervalMs;
  for (const n of b.neighbors.values()) {
    if (!n.up || now < n.upSinceMs + dead || now < n.syncAskedMs + dead) continue;
    const advert = b.lsdb.get(n.id);
    if (advert !== undefined && advert.neighbors.some((x) => x.id === b.id)) continue;
    n.syncAskedMs = now;
    requestDatabase(b, n.id);
  }
}

/** [SYNC-1] */
export function exchangeDatabase(b: BrokerCore, to: BrokerId): void {
  // Deltas not yet sent go to the others first; `to` gets them inside the snapshot.
  flushInterest(b, to);
  for (const advert of b.lsdb.all()) {
    b.host.send(to, encodeFrame({ kind: FrameKind.LinkState, origin: advert.origin, seq: advert.seq, neighbors: advert.neighbors }));
  }
  if (b.interest.ownSequence > 0) sendInterest(b, to, b.interest.ownSnapshot(false));
  for (const origin of b.interest.knownOrigins()) {
    const snap = b.interest.originSnapshot(origin);
    if (snap !== undefined) sendInterest(b, to, snap);
  }
}

/** A new advert of our own adjacencies, flooded, and routes recomputed. */
export function originateAdvert(b: BrokerCore, now: Millis): void {
  const neighbors = [];
  for (const n of b.neighbors.values()) if (n.up) neighbors.push({ id: n.id, cost: n.cost });
  const frame: LinkStateFrame = { kind: FrameKind.LinkState, origin: b.id, seq: ++b.lsSeq, neighbors };
  b.durable.lsSeq = b.lsSeq;
  b.lsdb.offer(frame);
  flood(b, encodeFrame(frame), undefined);
  recompute(b, now);
}

export function handleAdvert(b: BrokerCore, now: Millis, from: BrokerId, frame: LinkStateFrame, bytes: Uint8Array): void {
  if (frame.origin === b.id) {
    // Our own advert from an earlier life: jump past it and advertise the truth. An equal
    // sequence is our current advert flooded back to us around a cycle: ignore it, or every
    // echo would start a new round of flooding.
    if (frame.seq > b.lsSeq) {
      b.lsSeq = frame.seq;
      b.durable.lsSeq = frame.seq;
      originateAdvert(b, now);
    }
    return;
  }
  if (b.lsdb.offer(frame) === 'newer') {
    flood(b, bytes, from);
    recompute(b, now);
  }
}

export function handleInterest(b: BrokerCore, now: Millis, from: BrokerId, frame: InterestFrame, bytes: Uint8Array): void {
  if (frame.origin === b.id) {
    // As for adverts: only a higher sequence is an earlier life's; an equal one is an echo.
    if (frame.seq > b.interest.ownSequence) {
      b.interest.bumpOwnSequence(frame.seq);
      flood(b, encodeFrame(b.interest.ownSnapshot(true)), undefined);
      b.durable.interestSeq = b.interest.ownSequence;
    }
    return;
  }
  const result = b.interest.apply(frame);
  switch (result.kind) {
    case 'applied':
      b.durable.noteInterest(frame);
      flood(b, bytes, from);
      break;
    case 'stale':
      break;
    case 'gap':
      b.stats.interestGaps++;
      b.host.emit({ type: 'interest-gap', at: now, broker: b.id, origin: frame.origin, expected: result.expected, got: frame.seq });
      b.host.send(from, encodeFrame({ kind: FrameKind.SyncRequest, origin: frame.origin }));
      break;
    case 'bad-entry':
      b.protocolError(now, from, result.reason);
      break;
    default: {
      const never: never = result;
      throw new UsageError(`unhandled interest result ${String(never)}`);
    }
  }
}

/** Floods the interest changes not yet sent. */
export function flushInterest(b: BrokerCore, except?: BrokerId): void {
  if (!b.interest.hasPending) return;
  for (const frame of b.interest.takeDeltas(b.config.interestChunk ?? DEFAULT_INTEREST_CHUNK)) {
    flood(b, encodeFrame(frame), except);
  }
  b.durable.interestSeq = b.interest.ownSequence;
}

function sendInterest(b: BrokerCore, to: BrokerId, frame: InterestFrame): void {
  b.host.send(to, encodeFrame(frame));
}

function flood(b: BrokerCore, bytes: Uint8Array, except: BrokerId | undefined): void {
  for (const n of b.neighbors.values()) if (n.up && n.id !== except) b.host.send(n.id, bytes);
}

function recompute(b: BrokerCore, now: Millis): void {
  if (!b.lsdb.computeRoutes()) return;
  b.host.emit({ type: 'routes-changed', at: now, broker: b.id, routes: b.lsdb.routes() });
  drainSpool(b, now);
}
