/**
 * The live view's figures from what live brokers say over HTTP, as pure functions: the topology
 * from their /v1/topology answers and the scenario (regions, locations, link properties), wire
 * bytes per link direction from /metrics counters, and latency percentiles from the delivery
 * histogram's buckets. live-source.ts does the fetching; nothing here does I/O.
 *
 * [VIZ-LIVE-2] Wire bytes of a direction are what its sending broker counted
 *              (meshtwin_link_bytes_total{from,to}, data + control) plus the scenario's
 *              per-frame transport overhead times its frames: the report's and the simulator's
 *              figure.
 * [VIZ-LIVE-3] Latency percentiles come from bucket-count differences of
 *              meshtwin_publish_to_deliver_seconds between two scrapes, interpolated inside a
 *              bucket as Prometheus's histogram_quantile does (so they are as coarse as the
 *              buckets); "local" is scope="local" (published at the same broker), "cross" is
 *              scope="remote" (published at another broker).
 */
import type { Scenario } from '../scenarios/types.ts';
import { expandSubscribers } from '../sim/workload.ts';
import type { BrokerCounters, Sample } from '../live/run/scrape.ts';
import type { LatencyPair } from './latency.ts';
import type { Topology } from './snapshot.ts';

/** What the view reads of a broker's GET /v1/topology. */
export interface TopologyBody {
  readonly broker: string;
  readonly uptimeMs?: number;
  readonly peers: ReadonlyArray<{ readonly id: string; readonly connected?: boolean; readonly adjacency?: boolean }>;
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * [VIZ-LIVE-1] The mesh as the brokers report it: a link per pair of brokers that name each other
 * (or one names the other) as a peer, with the scenario's RTT and bandwidth for it; a broker that
 * did not answer keeps the scenario's links. Regions and their map locations are the scenario's.
 */
export function liveTopology(s: Scenario, bodies: ReadonlyArray<TopologyBody | null>, seed: number, durationMs: number): Topology {
  const ids = s.regions.flatMap((r) => r.brokers);
  const answered = new Set(bodies.filter((b): b is TopologyBody => b !== null).map((b) => b.broker));
  const pairs = new Map<string, readonly [string, string]>();
  for (const b of bodies) if (b !== null) for (const p of b.peers) if (!pairs.has(pairKey(b.broker, p.id))) pairs.set(pairKey(b.broker, p.id), [b.broker, p.id]);
  for (const l of s.links) {
    const [a, b] = l.between;
    if (!answered.has(a) && !answered.has(b)) pairs.set(pairKey(a, b), [a, b]);
  }
  const spec = new Map(s.links.map((l) => [pairKey(l.between[0], l.between[1]), l]));
  // Scenario order first (the simulator's), then links only the brokers know of.
  const ordered = [...s.links.map((l) => pairKey(l.between[0], l.between[1])).filter((k) => pairs.has(k)), ...[...pairs.keys()].filter((k) => !spec.has(k)).sort()];
  const pops = expandSubscribers(s);
  // A peer no region lists (a broker config the scenario does not know) is in none.
  const regionOf = (id: string): string => s.regions.find((r) => r.brokers.includes(id))?.id ?? '';
  const links: Array<Topology['links'][number]> = [];
  const directions: Array<Topology['directions'][number]> = [];
  for (const k of ordered) {
    const l = spec.get(k);
    const [a, b] = l?.between ?? (pairs.get(k) as readonly [string, string]);
    const wan = regionOf(a) !== regionOf(b);
    const bandwidthBps = l?.bandwidthBps ?? 0;
    const i = directions.length;
    directions.push({ index: i, from: a, to: b, wan, bandwidthBps }, { index: i + 1, from: b, to: a, wan, bandwidthBps });
    links.push({ a, b, wan, rttMs: l?.rttMs ?? 0, bandwidthBps, dirs: [i, i + 1] });
  }
  return {
    scenario: s.name,
    seed,
    durationMs,
    warmupMs: s.warmupMs,
    regions: s.regions.map((r) => ({ id: r.id, location: r.location ?? null, brokers: r.brokers })),
    brokers: ids.map((id) => {
      const here = pops.filter((p) => p.broker === id);
      return { id, region: regionOf(id), connections: here.reduce((a, p) => a + p.count, 0), populations: here.length };
    }),
    links,
    directions,
  };
}

/** [VIZ-LIVE-2] All wire bytes and data wire bytes of the direction from → to, over the sender's lives. */
export function wireBytes(c: BrokerCounters, from: string, to: string, overheadBytes: number): { readonly all: number; readonly data: number } {
  const t = (name: string, kind: string) => c.total(name, { from, to, kind });
  const data = t('meshtwin_link_bytes_total', 'data') + overheadBytes * t('meshtwin_link_frames_total', 'data');
  const control = t('meshtwin_link_bytes_total', 'control') + overheadBytes * t('meshtwin_link_frames_total', 'control');
  return { all: data + control, data };
}

/** A histogram's cumulative bucket counts: upper bounds in seconds (ascending, +Inf last). */
export interface Buckets {
  readonly le: readonly number[];
  readonly cum: readonly number[];
}

/** The buckets of histogram `name` in a scrape, by `scope` label, summed over every other label. */
export function bucketsByScope(sample: Sample, name: string): Map<string, Buckets> {
  const acc = new Map<string, Map<number, number>>();
  const prefix = `${name}_bucket{`;
  for (const [k, v] of sample) {
    if (!k.startsWith(prefix)) continue;
    const le = /[{,]le="([^"]*)"/.exec(k)?.[1];
    const scope = /[{,]scope="([^"]*)"/.exec(k)?.[1] ?? '';
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    if (Number.isNaN(bound)) continue;
    const m = acc.get(scope) ?? new Map<number, number>();
    m.set(bound, (m.get(bound) ?? 0) + v);
    acc.set(scope, m);
  }
  const out = new Map<string, Buckets>();
  for (const [scope, m] of acc) {
    const le = [...m.keys()].sort((a, b) => a - b);
    out.set(scope, { le, cum: le.map((b) => m.get(b) as number) });
  }
  return out;
}

/**
 * Counts between two scrapes of the same process (`now` minus `before`); when a count went down
 * the process is a new one, and `now` alone is its window.
 */
export function bucketsSince(now: Buckets, before: Buckets | undefined): Buckets {
  if (before === undefined || before.le.length !== now.le.length || before.le.some((b, i) => b !== now.le[i])) return now;
  const cum = now.cum.map((c, i) => c - (before.cum[i] as number));
  return cum.some((c) => c < 0) ? now : { le: now.le, cum };
}

/** Adds bucket counts with the same bounds (a mismatched one is left out). */
export function addBuckets(parts: readonly Buckets[]): Buckets | undefined {
  const first = parts[0];
  if (first === undefined) return undefined;
  const cum = first.cum.slice();
  for (const p of parts.slice(1)) {
    if (p.le.length !== first.le.length || p.le.some((b, i) => b !== first.le[i])) continue;
    p.cum.forEach((c, i) => (cum[i] = (cum[i] as number) + c));
  }
  return { le: first.le, cum };
}

/** [VIZ-LIVE-3] The q-quantile in seconds, interpolated inside its bucket (NaN without counts). */
export function quantile(b: Buckets, q: number): number {
  const total = b.cum[b.cum.length - 1] ?? 0;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  const i = b.cum.findIndex((c) => c >= rank);
  const upper = b.le[i] as number;
  const lower = i === 0 ? 0 : (b.le[i - 1] as number);
  // Past the last finite bound: that bound is all a histogram can say.
  if (upper === Infinity) return lower;
  const below = i === 0 ? 0 : (b.cum[i - 1] as number);
  const inBucket = (b.cum[i] as number) - below;
  return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
}

/** p50/p99 in ms and the count, as the view's charts take them. */
export function latencyPair(b: Buckets | undefined): LatencyPair {
  const count = b === undefined ? 0 : (b.cum[b.cum.length - 1] ?? 0);
  if (b === undefined || !(count > 0)) return { count: 0, p50: 0, p99: 0 };
  const ms = (s: number) => Math.round(s * 1e6) / 1000;
  return { count, p50: ms(quantile(b, 0.5)), p99: ms(quantile(b, 0.99)) };
}
