/**
 * The realtime data plane: which remote brokers want an event [FWD-2], and one copy per next hop
 * toward them [FWD-1], with the loop guards of [FWD-3]. `byNextHop` is also how guaranteed
 * events are split (custody.ts).
 */
import { encodeFrame } from '../codec/index.ts';
import { FrameKind, type DataFrame } from '../frames.ts';
import type { RemoteInterest } from '../interest.ts';
import type { BrokerId, Envelope, Millis } from '../types.ts';
import { SCRATCH_CLEAR, type BrokerCore } from './core.ts';
import { deliverLocal } from './local.ts';

/** Remote brokers whose interest (pattern and selector) accepts `env`, or undefined [FWD-2]. */
export function remoteDests(b: BrokerCore, env: Envelope): BrokerId[] | undefined {
  const matches = b.remoteScratch;
  if (matches.length > SCRATCH_CLEAR) matches.length = 0;
  const base = matches.length;
  const end = base + b.interest.remote.match(env.topic, matches);
  if (end === base) return b.rules === null ? undefined : ruleDests(b, env);
  if (b.marks.length < b.interest.knownBrokers) b.marks = new Int32Array(b.interest.knownBrokers * 2);
  const stamp = ++b.stamp;
  const dests = b.destScratch;
  dests.length = 0;
  for (let i = base; i < end; i++) {
    const r = matches[i] as RemoteInterest;
    if (b.marks[r.originIdx] === stamp) continue;
    if (r.selector !== null && !r.selector.matches(env)) continue;
    b.marks[r.originIdx] = stamp;
    dests.push(r.origin);
  }
  if (dests.length === 0) {
    b.stats.filteredAtEdge++;
    return b.rules === null ? undefined : ruleDests(b, env);
  }
  b.rules?.addDests(env, b.id, dests);
  return dests;
}

/** [RULE-1] Destinations from the operator's rules alone (no interest matched). */
function ruleDests(b: BrokerCore, env: Envelope): BrokerId[] | undefined {
  const dests = b.destScratch;
  dests.length = 0;
  b.rules?.addDests(env, b.id, dests);
  return dests.length === 0 ? undefined : dests;
}

/** Destinations (and, for guaranteed events, their sequence numbers) behind one next hop. */
export interface HopGroup {
  readonly hop: BrokerId;
  readonly dests: BrokerId[];
  readonly seqs: number[] | null;
}

/**
 * [FWD-1] Splits `dests` by next hop, in the order each hop is first seen. `seqs[i]` (guaranteed
 * events; null for realtime) travels with `dests[i]`. The indices of destinations without a
 * route are put in `unrouted` (cleared first), in order.
 */
export function byNextHop(b: BrokerCore, dests: readonly BrokerId[], seqs: readonly number[] | null, unrouted: number[]): HopGroup[] {
  unrouted.length = 0;
  const groups: HopGroup[] = [];
  for (let i = 0; i < dests.length; i++) {
    const d = dests[i] as BrokerId;
    const hop = b.lsdb.nextHop(d);
    if (hop === undefined) {
      unrouted.push(i);
      continue;
    }
    let g: HopGroup | undefined;
    for (let k = 0; k < groups.length; k++) {
      if ((groups[k] as HopGroup).hop === hop) {
        g = groups[k];
        break;
      }
    }
    if (g === undefined) groups.push({ hop, dests: [d], seqs: seqs === null ? null : [seqs[i] as number] });
    else {
      g.dests.push(d);
      if (seqs !== null) (g.seqs as number[]).push(seqs[i] as number);
    }
  }
  return groups;
}

export function handleData(b: BrokerCore, now: Millis, frame: DataFrame): void {
  b.stats.dataFramesReceived++;
  const env = frame.envelope;
  if (env.path.includes(b.id)) {
    b.stats.droppedLoop++;
    b.host.drop('loop', env, frame.dests, null);
    return;
  }
  let onward: BrokerId[] | undefined;
  for (const d of frame.dests) {
    if (d === b.id) deliverLocal(b, now, env, false);
    else (onward ??= []).push(d);
  }
  if (onward === undefined) return;
  sendToDests(b, { ...env, path: [...env.path, b.id] }, onward);
}

/** Groups destinations by next hop and sends one frame per hop [FWD-1][FWD-3]. */
export function sendToDests(b: BrokerCore, env: Envelope, dests: readonly BrokerId[]): void {
  if (env.hopLimit <= 0) {
    b.stats.droppedHopLimit += dests.length;
    b.host.drop('hopLimit', env, dests, null);
    return;
  }
  const out: Envelope = { ...env, hopLimit: env.hopLimit - 1 };
  if (dests.length === 1) {
    // The common case, without the grouping.
    const d = dests[0] as BrokerId;
    const hop = b.lsdb.nextHop(d);
    if (hop === undefined) dropNoRoute(b, env, d);
    else sendData(b, hop, [d], out);
    return;
  }
  const groups = byNextHop(b, dests, null, b.unrouted);
  for (const i of b.unrouted) dropNoRoute(b, env, dests[i] as BrokerId);
  for (const g of groups) sendData(b, g.hop, g.dests, out);
}

/** A realtime copy for `dest` with no path there [ACCT-1]. */
export function dropNoRoute(b: BrokerCore, env: Envelope, dest: BrokerId): void {
  b.stats.droppedNoRoute++;
  b.host.drop('noRoute', env, [dest], null);
}

function sendData(b: BrokerCore, hop: BrokerId, dests: readonly BrokerId[], envelope: Envelope): void {
  b.stats.dataFramesSent++;
  b.host.send(hop, encodeFrame({ kind: FrameKind.Data, dests, envelope }));
}
