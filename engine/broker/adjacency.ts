/**
 * Neighbors: hellos and the two-way check [HEL-1], adjacencies coming up (a new link epoch and a
 * database exchange [SYNC-1..2]) and going down (silence for the dead interval), and the HA
 * keep-alives a primary sends its backup [HA-1].
 */
import { encodeFrame } from '../codec/index.ts';
import { FrameKind, type HelloFrame } from '../frames.ts';
import { UsageError, type BrokerId, type Millis } from '../types.ts';
import type { BrokerCore, Neighbor } from './core.ts';
import { reroute, rerouteUnacked } from './custody.ts';
import { sendDocuments } from './governance.ts';
import { exchangeDatabase, originateAdvert, requestDatabase } from './sync.ts';
import { GUARANTEED_DEFAULTS } from './types.ts';

/** A hello listing the neighbors we hear (the two-way check of [HEL-1]). */
function helloBytes(b: BrokerCore): Uint8Array {
  const heard: BrokerId[] = [];
  for (const n of b.neighbors.values()) if (n.hearing) heard.push(n.id);
  return encodeFrame({ kind: FrameKind.Hello, from: b.id, helloIntervalMs: b.config.helloIntervalMs, deadIntervalMs: b.config.deadIntervalMs, heard });
}

export function sendHellos(b: BrokerCore): void {
  const bytes = helloBytes(b);
  for (const n of b.neighbors.values()) if (!n.linkDown) b.host.send(n.id, bytes);
}

function sendHelloTo(b: BrokerCore, to: BrokerId): void {
  b.host.send(to, helloBytes(b));
}

export function handleHello(b: BrokerCore, now: Millis, from: BrokerId, frame: HelloFrame): void {
  const n = b.neighbors.get(from);
  if (n === undefined || frame.from !== from) {
    b.protocolError(now, from, `hello from ${frame.from}, which is not a configured neighbor on this link`);
    return;
  }
  const wasHearing = n.hearing;
  n.hearing = true;
  // A hello came through: whatever the host said, the link carries frames again.
  n.linkDown = false;
  n.lastHeardMs = now;
  const twoWay = frame.heard.includes(b.id);
  // Answer a new voice at once, so an adjacency forms in one round trip, not one interval.
  if (!wasHearing) sendHelloTo(b, from);
  if (twoWay && !n.up) {
    n.up = true;
    n.upSinceMs = now;
    b.host.emit({ type: 'neighbor-up', at: now, broker: b.id, neighbor: from });
    // [REL-1] a new epoch on this link; anything left from the last one goes out again.
    const leftover = b.durable.outbox(from).newEpoch();
    originateAdvert(b, now);
    exchangeDatabase(b, from);
    sendDocuments(b, from);
    if (b.restarted) requestDatabase(b, from);
    for (const p of leftover) reroute(b, now, p);
  } else if (!twoWay && n.up) {
    // The neighbor no longer hears us (it restarted): the adjacency is gone until it does.
    adjacencyLost(b, now, n);
  }
  b.armTimer(b.nextDeadline(now));
}

function adjacencyLost(b: BrokerCore, now: Millis, n: Neighbor): void {
  n.up = false;
  b.host.emit({ type: 'neighbor-down', at: now, broker: b.id, neighbor: n.id });
  originateAdvert(b, now);
  const outbox = b.durable.outboxes.get(n.id);
  if (outbox !== undefined) for (const p of outbox.takeAll()) reroute(b, now, p);
}

/** The configured neighbor `id`, or a UsageError (a host's mistake, not a peer's). */
function neighborOf(b: BrokerCore, id: BrokerId): Neighbor {
  const n = b.neighbors.get(id);
  if (n === undefined) throw new UsageError(`${id} is not a neighbor of ${b.id}`);
  return n;
}

/**
 * [LINK-1] The host knows the connection to neighbor `id` is gone (a TCP close or reset, or a
 * disconnect it was asked for): the adjacency goes down now — advert, new routes, custody
 * rerouted — instead of a dead interval later. Silence stays the fallback for cuts no one sees.
 * No hellos go to the neighbor until `linkUp` or a hello heard from it.
 */
export function linkDown(b: BrokerCore, now: Millis, id: BrokerId): void {
  const n = neighborOf(b, id);
  n.linkDown = true;
  n.hearing = false;
  if (n.up) adjacencyLost(b, now, n);
  b.armTimer(b.nextDeadline(now));
}

/**
 * [LINK-2] The host has a connection to neighbor `id` again: say hello at once, so the adjacency
 * forms in a round trip rather than at the next hello interval.
 */
export function linkUp(b: BrokerCore, now: Millis, id: BrokerId): void {
  const n = neighborOf(b, id);
  n.linkDown = false;
  sendHelloTo(b, id);
  b.armTimer(b.nextDeadline(now));
}

/** [HEL-1] Neighbors silent for the dead interval are down: advertise it and reroute their custody. */
export function checkDeadNeighbors(b: BrokerCore, now: Millis): void {
  if (b.config.disable?.reroute === true) return;
  let lost = false;
  for (const n of b.neighbors.values()) {
    // The same sum nextDeadline arms the timer with: `now - lastHeardMs >= dead` can round the
    // other way and leave the timer firing at this instant forever.
    if (n.hearing && now >= n.lastHeardMs + b.config.deadIntervalMs) {
      n.hearing = false;
      if (n.up) {
        n.up = false;
        lost = true;
        b.host.emit({ type: 'neighbor-down', at: now, broker: b.id, neighbor: n.id });
      }
    }
  }
  if (!lost) return;
  originateAdvert(b, now);
  // [REL-3] what the lost neighbors had not acknowledged takes the new routes (or the spool).
  for (const n of b.neighbors.values()) if (!n.up) rerouteUnacked(b, now, n.id);
}

/** [HA-1] */
export function sendKeepalive(b: BrokerCore): void {
  const backup = b.config.backup as BrokerId;
  b.host.keepalive(backup, encodeFrame({ kind: FrameKind.KeepAlive, from: b.id, seq: ++b.keepaliveSeq }));
}

export function keepaliveEveryMs(b: BrokerCore): Millis {
  return b.config.keepaliveMs ?? GUARANTEED_DEFAULTS.keepaliveMs;
}

/** Neighbors with an established adjacency, in configuration order. */
export function upNeighbors(b: BrokerCore): BrokerId[] {
  const out: BrokerId[] = [];
  for (const n of b.neighbors.values()) if (n.up) out.push(n.id);
  return out;
}
