/**
 * [PRE-4] What a run will cost, from the scenario alone, before anything is built.
 *
 * Kernel events ≈ publishes + data frames + timers. Publishes are rate × time per publisher;
 * frames are, per publishing broker, the share of its events each other broker wants
 * (traffic.ts) times the hops to it on least-cost paths (an upper bound: copies to several
 * brokers behind one next hop share a frame); guaranteed frames add one ack per two frames;
 * timers are hellos per link direction and keep-alives per HA pair.
 *
 * Peak memory (V8 heap) = a base + routing entries × BYTES_PER_ROUTING_ENTRY (every broker holds
 * every pattern of its island: its own and the remote interest) + populations × BYTES_PER_POPULATION
 * + the link-state database (brokers² × BYTES_PER_LSDB_ENTRY) + frames in flight (frames per
 * second × the longest one-way delay, at most each link's bandwidth × delay plus its send queue,
 * each way) + the dedup ledger
 * for guaranteed events and the invariant checker's bitsets (events × populations bits) when the run checks.
 *
 * Wall time = setup (SETUP_SECONDS_PER_ROUTING_ENTRY × routing entries) + events /
 * EVENTS_PER_WALL_SECOND. The constants are measured on this machine (2 shared cores) on the seed
 * scenario: 10 s of traffic, 14.5 M kernel events in 77 s (≈ 190k/s), setup 6.7 s for 2.4 M routing
 * entries; 112 MB measured on the heap for 600,000 entries (187 B each, with the dense trie of issue 13).
 */

import type { Scenario } from '../../scenarios/types.ts';
import { streams, type Stream } from './traffic.ts';

export const EVENTS_PER_WALL_SECOND = 170_000;
export const SETUP_SECONDS_PER_ROUTING_ENTRY = 2.8e-6;
export const BYTES_PER_ROUTING_ENTRY = 187;
export const BYTES_PER_POPULATION = 300;
export const BYTES_PER_LSDB_ENTRY = 200;
export const BASE_HEAP_BYTES = 80e6;
/** A frame held in flight: its bytes plus the kernel's record and the Uint8Array header. */
export const FRAME_OBJECT_BYTES = 200;
/** Codec envelope and transport bytes per data frame beside the payload (seed: 110.8 + 62 B). */
export const FRAME_OVERHEAD_BYTES = 180;
/** The dedup ledger's record per guaranteed event per broker. */
export const LEDGER_BYTES_PER_EVENT = 150;
/** The invariant checker (sim/invariants.ts): a growable bitset per stream and per population (bits per event, doubling: ≤ 2 bits). */
export const CHECKER_BYTES_PER_EVENT_PER_SET = 2 / 8;

export interface CostEstimate {
  readonly publishes: number;
  readonly frames: number;
  readonly timers: number;
  readonly kernelEvents: number;
  /** Deliveries weighted by population count (what the latency histograms count). */
  readonly deliveries: number;
  readonly routingEntries: number;
  readonly populations: number;
  readonly memoryBytes: number;
  readonly memoryParts: Readonly<Record<'base' | 'routing' | 'populations' | 'linkState' | 'inFlight' | 'ledger' | 'checker', number>>;
  readonly setupSeconds: number;
  readonly wallSeconds: number;
}

/** Least-cost hop counts from `from` to every broker (Dijkstra on link costs, as the engine routes). */
function hopsFrom(from: string, adj: ReadonlyMap<string, ReadonlyArray<{ to: string; cost: number }>>): Map<string, number> {
  const dist = new Map<string, number>([[from, 0]]);
  const hops = new Map<string, number>([[from, 0]]);
  const done = new Set<string>();
  for (;;) {
    let u: string | undefined;
    let best = Infinity;
    for (const [b, d] of dist) if (!done.has(b) && d < best) [u, best] = [b, d];
    if (u === undefined) return hops;
    done.add(u);
    for (const { to, cost } of adj.get(u) ?? []) {
      const d = best + cost;
      if (d < (dist.get(to) ?? Infinity)) {
        dist.set(to, d);
        hops.set(to, (hops.get(u) ?? 0) + 1);
      }
    }
  }
}

/** Islands: each broker's component over links. */
export function components(s: Scenario): string[][] {
  const adj = new Map<string, string[]>(s.regions.flatMap((r) => r.brokers.map((b) => [b, [] as string[]] as const)));
  for (const l of s.links) {
    adj.get(l.between[0])?.push(l.between[1]);
    adj.get(l.between[1])?.push(l.between[0]);
  }
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const b of adj.keys()) {
    if (seen.has(b)) continue;
    const comp: string[] = [];
    const stack = [b];
    seen.add(b);
    while (stack.length > 0) {
      const x = stack.pop()!;
      comp.push(x);
      for (const y of adj.get(x)!) if (!seen.has(y)) seen.add(y), stack.push(y);
    }
    out.push(comp);
  }
  return out;
}

/** The parts that need nothing but counting (cheap on any mesh): memory that grows with brokers and patterns. */
function structural(s: Scenario): { routingEntries: number; populations: number; linkState: number } {
  const comps = components(s);
  const compOf = new Map(comps.flatMap((c, i) => c.map((b) => [b, i] as const)));
  const patternsIn = new Array<number>(comps.length).fill(0);
  let populations = 0;
  for (const e of s.subscribers) {
    const n = Math.min(e.patterns, e.count);
    populations += n;
    const brokers = e.broker !== undefined ? [e.broker] : (s.regions.find((r) => r.id === e.region)?.brokers ?? []);
    // Round-robin over the entry's brokers: each island gets its share.
    brokers.forEach((b) => (patternsIn[compOf.get(b)!]! += n / brokers.length));
  }
  const routingEntries = comps.reduce((a, c, i) => a + c.length * patternsIn[i]!, 0);
  const brokers = compOf.size;
  return { routingEntries, populations, linkState: brokers * (brokers + 2 * s.links.length) * BYTES_PER_LSDB_ENTRY };
}

/** Memory a run holds whatever its traffic: refuse on this before sampling traffic on a huge mesh. */
export function structuralMemoryBytes(s: Scenario): number {
  const st = structural(s);
  return BASE_HEAP_BYTES + st.routingEntries * BYTES_PER_ROUTING_ENTRY + st.populations * BYTES_PER_POPULATION + st.linkState;
}

/** [PRE-4] The estimate for a run of `s` as given (its duration; `check`: with the invariant checker). */
export function estimateCost(s: Scenario, check: boolean): CostEstimate {
  const st = structural(s);
  const adj = new Map<string, Array<{ to: string; cost: number }>>();
  for (const l of s.links) {
    const [a, b] = l.between;
    (adj.get(a) ?? adj.set(a, []).get(a)!).push({ to: b, cost: l.cost });
    (adj.get(b) ?? adj.set(b, []).get(b)!).push({ to: a, cost: l.cost });
  }
  const ss: Stream[] = streams(s);
  const hopCache = new Map<string, Map<string, number>>();
  let publishes = 0;
  let frames = 0;
  let framesPerSec = 0;
  let deliveries = 0;
  let guaranteedEvents = 0;
  let meanPayload = 0;
  for (const st2 of ss) {
    publishes += st2.events;
    deliveries += st2.events * st2.deliveriesPerEvent;
    let hops = hopCache.get(st2.broker);
    if (hops === undefined) hopCache.set(st2.broker, (hops = hopsFrom(st2.broker, adj)));
    let perEvent = 0;
    for (const [d, share] of st2.reach) perEvent += share * (hops.get(d) ?? 0);
    if (st2.guaranteed) {
      perEvent *= 1.5;
      guaranteedEvents += st2.events * Math.max(1, st2.reach.size);
    }
    frames += st2.events * perEvent;
    framesPerSec += st2.ratePerSec * perEvent;
  }
  s.publishers.forEach((p) => (meanPayload = Math.max(meanPayload, p.sizeBytes)));
  const runMs = s.warmupMs + s.durationMs;
  const pairs = s.regions.reduce((a, r) => a + r.ha.length, 0);
  const timers = s.links.length * 2 * (runMs / s.routing.helloIntervalMs) + pairs * (runMs / s.routing.keepaliveMs);
  const kernelEvents = publishes + frames + timers;

  const frameBytes = meanPayload + FRAME_OVERHEAD_BYTES + FRAME_OBJECT_BYTES;
  const maxDelayS = Math.max(0, ...s.links.map((l) => (l.rttMs / 2 + l.jitterMs) / 1000));
  // A link holds at most its bandwidth-delay product on the wire plus its send queue, each way;
  // what a publisher sends beyond that is tail-dropped, not held.
  const heldBytes = s.links.reduce((a, l) => a + 2 * ((l.bandwidthBps / 8) * ((l.rttMs / 2 + l.jitterMs) / 1000) + l.queueBytes), 0);
  const inFlight = Math.min(framesPerSec * frameBytes * maxDelayS, heldBytes * (frameBytes / Math.max(1, frameBytes - FRAME_OBJECT_BYTES)));
  const ledgerS = Math.min(s.durationMs, s.routing.ledgerTtlMs) / s.durationMs;
  const ledger = guaranteedEvents * ledgerS * LEDGER_BYTES_PER_EVENT;
  // Accepted events per stream, delivered events per population; its own trie of the populations.
  const checker = check ? publishes * CHECKER_BYTES_PER_EVENT_PER_SET * (1 + st.populations) + st.populations * (BYTES_PER_ROUTING_ENTRY + BYTES_PER_POPULATION) : 0;
  const parts = {
    base: BASE_HEAP_BYTES,
    routing: st.routingEntries * BYTES_PER_ROUTING_ENTRY,
    populations: st.populations * BYTES_PER_POPULATION,
    linkState: st.linkState,
    inFlight,
    ledger,
    checker,
  };
  const memoryBytes = Object.values(parts).reduce((a, b) => a + b, 0);
  const setupSeconds = st.routingEntries * SETUP_SECONDS_PER_ROUTING_ENTRY;
  return {
    publishes,
    frames,
    timers,
    kernelEvents,
    deliveries,
    routingEntries: st.routingEntries,
    populations: st.populations,
    memoryBytes,
    memoryParts: parts,
    setupSeconds,
    wallSeconds: setupSeconds + kernelEvents / EVENTS_PER_WALL_SECOND,
  };
}
