/**
 * Delivery latency for the browser view, per broker and overall, local vs cross-region, over
 * windows the view closes itself (a few times a second). A MeshObserver: the mesh calls it once
 * per population delivery; recording is an HDR histogram increment (no allocation). The
 * latency is the mesh's own: publish → subscriber, including the client's one-way hop.
 */
import type { Envelope } from '../engine/types.ts';
import type { MeshObserver } from '../sim/mesh.ts';
import { LatencyRecorder } from '../sim/metrics.ts';
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

export class ViewLatency implements MeshObserver {
  private readonly local: LatencyRecorder[];
  private readonly cross: LatencyRecorder[];
  private readonly allLocal = new LatencyRecorder();
  private readonly allCross = new LatencyRecorder();
  private readonly brokerIndex = new Map<string, number>();
  private readonly regionOfBroker: string[];
  private readonly oneWayMs: number[];

  /** `brokers` in mesh order, with their region and client one-way delay. */
  constructor(brokers: ReadonlyArray<{ readonly id: string; readonly region: string; readonly clientOneWayMs: number }>) {
    brokers.forEach((b, i) => this.brokerIndex.set(b.id, i));
    this.regionOfBroker = brokers.map((b) => b.region);
    this.oneWayMs = brokers.map((b) => b.clientOneWayMs);
    this.local = brokers.map(() => new LatencyRecorder());
    this.cross = brokers.map(() => new LatencyRecorder());
  }

  publish(): void {}

  deliver(now: number, pop: Population, env: Envelope): void {
    const b = this.brokerIndex.get(pop.broker) as number;
    const latency = now + (this.oneWayMs[b] as number) - env.publishedAtMs;
    const origin = this.brokerIndex.get(env.path[0] as string);
    if (origin !== undefined && this.regionOfBroker[origin] === pop.region) {
      (this.local[b] as LatencyRecorder).record(latency, pop.count);
      this.allLocal.record(latency, pop.count);
    } else {
      (this.cross[b] as LatencyRecorder).record(latency, pop.count);
      this.allCross.record(latency, pop.count);
    }
  }

  /** Closes the window: percentiles per broker (mesh order) and overall, then starts a new one. */
  take(): { readonly brokers: LatencyWindow[]; readonly all: LatencyWindow } {
    const pair = (r: LatencyRecorder): LatencyPair => {
      if (r.count === 0) return EMPTY;
      const b = r.block();
      r.reset();
      return { count: b.count, p50: b.p50, p99: b.p99 };
    };
    const brokers = this.local.map((l, i) => ({ local: pair(l), cross: pair(this.cross[i] as LatencyRecorder) }));
    return { brokers, all: { local: pair(this.allLocal), cross: pair(this.allCross) } };
  }
}
