/**
 * What the browser view shows, built from the simulator's own counters: the topology (once) and
 * snapshots (a few times a second). The live server streams them; `meshtwin run` puts the last
 * one, with the run's per-second series, into report.html. Building a snapshot reads counters
 * only; nothing here runs per event.
 *
 * [VIZ-1] Link Mbps are wire bytes (codec bytes + transport overhead, as in the report) per
 *         simulated second over a sliding window of at least RATE_WINDOW_MS simulated time.
 * [VIZ-2] Utilization is that rate over the direction's bandwidth in force (a degraded link's).
 */
import type { BrokerStats } from '../engine/broker.ts';
import type { Scenario } from '../scenarios/types.ts';
import type { Mesh } from '../sim/mesh.ts';
import type { RunResult } from '../sim/run.ts';
import type { LatencyPair, LatencyWindow, ViewLatency } from './latency.ts';
import { WindowedRate } from './rates.ts';

/** Rates span at least this much simulated time [VIZ-1]. */
export const RATE_WINDOW_MS = 250;
/** Latency percentiles are taken over windows of at least this much simulated time. */
export const LATENCY_WINDOW_MS = 100;
/** Control-plane events carried by one snapshot, at most (the rest are counted). */
export const EVENTS_PER_SNAPSHOT = 40;
/** Routes listed per broker, at most. */
const ROUTES_MAX = 64;
/** Brokers with more subscription populations than this get no consumer-queue figure (a scan each). */
const QUEUE_SCAN_MAX = 10_000;

export interface Topology {
  readonly scenario: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly regions: ReadonlyArray<{ readonly id: string; readonly location: { readonly lat: number; readonly lon: number } | null; readonly brokers: readonly string[] }>;
  readonly brokers: ReadonlyArray<{ readonly id: string; readonly region: string; readonly connections: number; readonly populations: number }>;
  /** One entry per link; `dirs` are the indexes of its two directions (a→b, b→a). */
  readonly links: ReadonlyArray<{ readonly a: string; readonly b: string; readonly wan: boolean; readonly rttMs: number; readonly bandwidthBps: number; readonly dirs: readonly [number, number] }>;
  readonly directions: ReadonlyArray<{ readonly index: number; readonly from: string; readonly to: string; readonly wan: boolean; readonly bandwidthBps: number }>;
}

export interface DirectionSnapshot {
  readonly up: boolean;
  /** Wire Mbps now [VIZ-1] (0 before a rate exists). */
  readonly mbps: number;
  /** Data frames' share of mbps (events, not control). */
  readonly dataMbps: number;
  /** mbps over the bandwidth in force, 0..1+ [VIZ-2]. */
  readonly utilization: number;
  readonly bandwidthBps: number;
  /** Bytes waiting in the send queue, and frames sent but not yet arrived. */
  readonly queueBytes: number;
  readonly inFlight: number;
  /** Wire bytes since the start of traffic (the report's counter). */
  readonly bytes: number;
  readonly droppedDown: number;
  readonly droppedQueue: number;
}

export interface BrokerSnapshot {
  readonly id: string;
  readonly alive: boolean;
  readonly mbpsIn: number;
  readonly mbpsOut: number;
  readonly routingEntries: number;
  readonly localPatterns: number;
  readonly remotePatterns: number;
  /** Destination → next hop, as the broker's link-state routing has them. */
  readonly routes: ReadonlyArray<readonly [string, string]>;
  /** Events held in the spool (null: not measured, as in a live run: its brokers export bytes only). */
  readonly spoolEvents: number | null;
  readonly spoolBytes: number;
  /** Messages waiting in slow-consumer queues (null: not sampled on a broker this large). */
  readonly consumerQueue: number | null;
  readonly published: number;
  readonly deliveries: number;
  /** Subscriber deliveries lost here or on its outgoing links (summary.json brokers[].dropped). */
  readonly dropped: number;
  /** Deliveries at this broker over the last latency window (null: not measured, e.g. a report). */
  readonly latency: LatencyWindow | null;
}

export interface ViewEvent {
  readonly at: number;
  readonly type: string;
  readonly text: string;
}

export interface Snapshot {
  /** Simulated time, ms (negative during the warm-up). */
  readonly t: number;
  readonly phase: 'warmup' | 'traffic' | 'done';
  readonly directions: readonly DirectionSnapshot[];
  readonly brokers: readonly BrokerSnapshot[];
  /** Over the last latency window, all brokers (null: not measured). */
  readonly latency: LatencyWindow | null;
  readonly totals: { readonly published: number; readonly delivered: number; readonly dropped: number; readonly wanMbps: number };
  /** Control-plane events since the previous snapshot (at most EVENTS_PER_SNAPSHOT), and how many were left out. */
  readonly events: readonly ViewEvent[];
  readonly eventsOmitted: number;
}

/** One point of the time series: Mbps per direction and latency percentiles. */
export interface SeriesPoint {
  /** Simulated seconds. */
  readonly t: number;
  readonly mbps: readonly number[];
  readonly local: LatencyPair | null;
  readonly cross: LatencyPair | null;
  /** Events published and delivered per second (a live run's; absent in a simulated one). */
  readonly rates?: { readonly published: number; readonly delivered: number };
}

export function topologyOf(mesh: Mesh): Topology {
  const s = mesh.scenario;
  const dirIndex = new Map(mesh.directions.map((d) => [`${d.spec.from}>${d.spec.to}`, d.index]));
  return {
    scenario: s.name,
    seed: mesh.seed,
    durationMs: mesh.durationMs,
    warmupMs: s.warmupMs,
    regions: s.regions.map((r) => ({ id: r.id, location: r.location ?? null, brokers: r.brokers })),
    brokers: mesh.nodes.map((n) => ({ id: n.id, region: n.region, connections: n.populations.reduce((a, p) => a + p.count, 0), populations: n.populations.length })),
    links: s.links.map((l) => {
      const [a, b] = l.between;
      return {
        a,
        b,
        wan: regionOf(s, a) !== regionOf(s, b),
        rttMs: l.rttMs,
        bandwidthBps: l.bandwidthBps,
        dirs: [dirIndex.get(`${a}>${b}`) as number, dirIndex.get(`${b}>${a}`) as number] as const,
      };
    }),
    directions: mesh.directions.map((d) => ({ index: d.index, from: d.spec.from, to: d.spec.to, wan: d.spec.wan, bandwidthBps: d.spec.bandwidthBps })),
  };
}

/**
 * Builds snapshots of one mesh. The first snapshot's rates span everything since the start of
 * traffic (the counters start at zero), so a builder made after a run gives the run's averages.
 */
export class SnapshotBuilder {
  private readonly rates: WindowedRate;
  private lastRates: number[];
  private eventsSeen = 0;
  private latencyAt = -Infinity;
  private lastLatency: { brokers: LatencyWindow[]; all: LatencyWindow } | null = null;

  constructor(
    private readonly mesh: Mesh,
    private readonly latency: ViewLatency | null = null,
  ) {
    // Two counters per direction: all wire bytes, data wire bytes.
    this.rates = new WindowedRate(2 * mesh.directions.length, RATE_WINDOW_MS);
    this.lastRates = new Array(2 * mesh.directions.length).fill(0);
    if (mesh.now > 0 || mesh.done) {
      // Made after (part of) a run: the baseline is the start of traffic (warm-up bytes only).
      this.rates.sample(
        0,
        mesh.directions.flatMap((d) => [d.warmupBytes, 0]),
      );
    } else {
      this.rates.sample(mesh.now, this.counters());
    }
  }

  private counters(): number[] {
    const c: number[] = [];
    for (const d of this.mesh.directions) c.push(d.bytes + d.warmupBytes, d.dataBytes);
    return c;
  }

  snapshot(): Snapshot {
    const mesh = this.mesh;
    const now = mesh.now;
    // Byte counters stop at the end of the measured window; so do the rates.
    const tRates = Math.min(now, mesh.durationMs);
    const r = this.rates.sample(tRates, this.counters());
    if (!r.some((x) => Number.isNaN(x))) this.lastRates = r;
    const rate = this.lastRates;
    if (this.latency !== null && (now - this.latencyAt >= LATENCY_WINDOW_MS || (mesh.done && now !== this.latencyAt))) {
      this.lastLatency = this.latency.take();
      this.latencyAt = now;
    }
    const directions: DirectionSnapshot[] = mesh.directions.map((d, i) => {
      const mbps = ((rate[2 * i] as number) * 8) / 1e6;
      return {
        up: d.up,
        mbps: d.up ? mbps : 0,
        dataMbps: d.up ? ((rate[2 * i + 1] as number) * 8) / 1e6 : 0,
        utilization: d.up ? (mbps * 1e6) / d.props.bandwidthBps : 0,
        bandwidthBps: d.props.bandwidthBps,
        queueBytes: Math.round(d.queuedBytes(now)),
        inFlight: d.inFlight,
        bytes: d.bytes,
        droppedDown: d.droppedDown,
        droppedQueue: d.droppedQueue,
      };
    });
    const brokers: BrokerSnapshot[] = mesh.nodes.map((n, i) => {
      let mbpsIn = 0;
      let mbpsOut = 0;
      mesh.directions.forEach((d, k) => {
        const m = (directions[k] as DirectionSnapshot).mbps;
        if (d.spec.from === n.id) mbpsOut += m;
        if (d.spec.to === n.id) mbpsIn += m;
      });
      const b = n.broker.inspect();
      const st = mesh.brokerStats(n.id) as BrokerStats;
      const routes = b.routes();
      return {
        id: n.id,
        alive: n.alive,
        mbpsIn,
        mbpsOut,
        routingEntries: b.routingEntries,
        localPatterns: b.localPatterns,
        remotePatterns: b.remotePatterns,
        routes: n.alive ? routes.slice(0, ROUTES_MAX) : [],
        spoolEvents: b.spoolEvents,
        spoolBytes: b.spoolBytes,
        consumerQueue: n.populations.length <= QUEUE_SCAN_MAX ? mesh.consumerQueueDepth(n.id) : null,
        // The same figures as summary.json's brokers[]: summed over the broker's lives [ACCT-1].
        published: st.published,
        deliveries: st.subscriberDeliveries,
        dropped: mesh.brokerDropped(n.id),
        latency: this.lastLatency?.brokers[i] ?? null,
      };
    });
    const control = mesh.control;
    const fresh = control.length - this.eventsSeen;
    const from = Math.max(this.eventsSeen, control.length - EVENTS_PER_SNAPSHOT);
    const events: ViewEvent[] = [];
    for (let k = from; k < control.length; k++) events.push(viewEvent(mesh, control[k] as Mesh['control'][number]));
    this.eventsSeen = control.length;
    // Subscriber deliveries lost so far, every cause: summary.json's messages.dropped [ACCT-1].
    const dropped = mesh.accounts.dropped;
    let wanMbps = 0;
    directions.forEach((d, k) => {
      if ((mesh.directions[k] as Mesh['directions'][number]).spec.wan) wanMbps += d.mbps;
    });
    return {
      t: now,
      phase: mesh.done ? 'done' : now < 0 ? 'warmup' : 'traffic',
      directions,
      brokers,
      latency: this.lastLatency?.all ?? null,
      totals: { published: mesh.published, delivered: mesh.delivered, dropped, wanMbps },
      events,
      eventsOmitted: fresh - events.length,
    };
  }
}

/** The time-series point a snapshot contributes. */
export function seriesPoint(s: Snapshot): SeriesPoint {
  return { t: s.t / 1000, mbps: s.directions.map((d) => round3(d.mbps)), local: s.latency?.local ?? null, cross: s.latency?.cross ?? null };
}

/** A finished run's per-second series as the view's points (one per simulated second, at its end). */
export function seriesOfRun(result: RunResult): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (let s = 0; s < result.series.seconds; s++) {
    const pair = (p50: readonly number[], p99: readonly number[]): LatencyPair | null =>
      (p50[s] ?? 0) === 0 && (p99[s] ?? 0) === 0 ? null : { count: 0, p50: p50[s] as number, p99: p99[s] as number };
    out.push({
      t: s + 1,
      mbps: result.series.linkMbps.map((m) => m[s] ?? 0),
      local: pair(result.series.localP50, result.series.localP99),
      cross: pair(result.series.crossP50, result.series.crossP99),
    });
  }
  return out;
}

function viewEvent(mesh: Mesh, e: Mesh['control'][number]): ViewEvent {
  const text = ((): string => {
    switch (e.type) {
      case 'fault': {
        const f = e.fault;
        const injected = e.index >= mesh.scenario.faults.length ? ' (from the view)' : '';
        return `${f.action} ${f.target.join(' – ')}${injected}`;
      }
      case 'fault-reverted':
        return `fault ${e.index} reverted`;
      case 'neighbor-up':
        return `${e.broker} sees ${e.neighbor} up`;
      case 'neighbor-down':
        return `${e.broker} declares ${e.neighbor} down`;
      case 'routes-changed':
        return `${e.broker} routes: ${e.routes.map(([d, h]) => (d === h ? d : `${d} via ${h}`)).join(', ') || 'none'}`;
      case 'protocol-error':
        return `${e.broker}: protocol error from ${e.from}: ${e.reason}`;
      case 'interest-gap':
        return `${e.broker}: interest gap from ${e.origin}`;
      case 'spool-drained':
        return `${e.broker} drained ${e.events} spooled events`;
      case 'governance-installed':
        return `${e.broker} installed ${e.doc} v${e.version} (made at ${e.origin})`;
      case 'takeover':
        return `${e.backup} took over ${e.broker}`;
      case 'resubscribed':
        return `${e.broker}: ${e.populations} populations re-subscribed`;
      default: {
        const never: never = e;
        return String((never as { type: string }).type);
      }
    }
  })();
  return { at: e.at, type: e.type, text };
}

function regionOf(s: Scenario, broker: string): string | undefined {
  return s.regions.find((r) => r.brokers.includes(broker))?.id;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
