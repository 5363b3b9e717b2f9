/**
 * Delivery latency for the browser view, per broker and overall, local vs cross-region, over
 * windows the view closes itself (a few times a second). A MeshObserver: the mesh calls it once
 * per population delivery; recording is an array read and one HDR histogram increment (no
 * allocation). The overall figures are the brokers' histograms added up when a window closes.
 * The latency is the mesh's own: publish → subscriber, including the client's one-way hop.
 */
import * as hdr from 'hdr-histogram-js';
import type { Envelope } from '../engine/types.ts';
import type { Mesh, MeshObserver } from '../sim/mesh.ts';
import type { Population } from '../sim/workload.ts';

/** p50/p99 in ms over a window, and how many subscriber deliveries it holds. */
export interface LatencyPair {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
}

export interface LatencyWindow {
  readonly local: LatencyPair;
  readonly cross: LatencyPair;
}

const EMPTY: LatencyPair = { count: 0, p50: 0, p99: 0 };

/** Microsecond histograms, as sim/metrics.ts keeps them. */
const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64, autoResize: true });
type Histogram = ReturnType<typeof histogram>;

export class ViewLatency implements MeshObserver {
  /** Per broker (mesh order): [local, cross]. */
  private readonly local: Histogram[];
  private readonly cross: Histogram[];
  private readonly allLocal = histogram();
  private readonly allCross = histogram();
  /** Per population: its broker's index; per broker id: its region's index. */
  private readonly popBroker: Int32Array;
  private readonly brokerRegion = new Map<string, number>();
  private readonly regionOf: Int32Array;
  private readonly oneWayMs: Float64Array;

  /** `brokers` in mesh order, with their region and client one-way delay; the mesh's populations. */
  constructor(brokers: ReadonlyArray<{ readonly id: string; readonly region: string; readonly clientOneWayMs: number }>, populations: readonly Population[]) {
    const regions = [...new Set(brokers.map((b) => b.region))];
    const index = new Map(brokers.map((b, i) => [b.id, i]));
    this.regionOf = Int32Array.from(brokers, (b) => regions.indexOf(b.region));
    for (const b of brokers) this.brokerRegion.set(b.id, regions.indexOf(b.region));
    this.oneWayMs = Float64Array.from(brokers, (b) => b.clientOneWayMs);
    this.popBroker = Int32Array.from(populations, (p) => index.get(p.broker) as number);
    this.local = brokers.map(() => histogram());
    this.cross = brokers.map(() => histogram());
  }

  /** Watches a mesh: sets itself as the mesh's observer. */
  static watch(mesh: Mesh): ViewLatency {
    const v = new ViewLatency(
      mesh.nodes.map((n) => ({ id: n.id, region: n.region, clientOneWayMs: n.clientOneWayMs })),
      mesh.populations,
    );
    mesh.observer = v;
    return v;
  }

  publish(): void {}

  deliver(now: number, pop: Population, env: Envelope): void {
    const b = this.popBroker[pop.index] as number;
    const us = Math.max(1, Math.round((now + (this.oneWayMs[b] as number) - env.publishedAtMs) * 1000));
    const local = this.brokerRegion.get(env.path[0] as string) === this.regionOf[b];
    ((local ? this.local : this.cross)[b] as Histogram).recordValueWithCount(us, pop.count);
  }

  /** Closes the window: percentiles per broker (mesh order) and overall, then starts a new one. */
  take(): { readonly brokers: LatencyWindow[]; readonly all: LatencyWindow } {
    const pair = (h: Histogram): LatencyPair => {
      if (h.totalCount === 0) return EMPTY;
      // HDR reports a bucket's highest equivalent value; never above the true maximum.
      const ms = (us: number) => Math.round(Math.min(us, h.maxValue)) / 1000;
      return { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)) };
    };
    const brokers = this.local.map((l, i) => {
      const c = this.cross[i] as Histogram;
      const w = { local: pair(l), cross: pair(c) };
      if (l.totalCount > 0) this.allLocal.add(l);
      if (c.totalCount > 0) this.allCross.add(c);
      l.reset();
      c.reset();
      return w;
    });
    const all = { local: pair(this.allLocal), cross: pair(this.allCross) };
    this.allLocal.reset();
    this.allCross.reset();
    return { brokers, all };
  }
}
