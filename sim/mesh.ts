/**
 * A simulated mesh: the real engine's brokers, each behind a host that maps its effects onto the
 * event kernel and the virtual network. One driver shape for every host: an input goes in, the
 * broker's effects come out through `BrokerHost` and become kernel events at `now + delay`.
 *
 * Time: the kernel starts at -warmupMs. Brokers start and subscribers subscribe then, so hellos,
 * adverts and interest have converged when publishers start at 0. Everything reported is about
 * [0, durationMs], except the warm-up's convergence time and control bytes, reported apart.
 */
import { Broker, type BrokerEvent, type BrokerHost, type LocalSubscription, type PublishInput } from '../engine/broker.ts';
import type { FrameKind } from '../engine/frames.ts';
import type { BrokerId, Envelope, Headers } from '../engine/types.ts';
import type { FaultSpec, Scenario } from '../scenarios/types.ts';
import { Kernel } from './kernel.ts';
import { DuplicateDetector, LatencyRecorder, SecondSeries, TraceDigest } from './metrics.ts';
import { LinkDirection } from './network.ts';
import { createRng, type Rng } from './rng.ts';
import { expandPublishers, expandSubscribers, type Population, type PublishStream } from './workload.ts';

/** A control-plane event, timestamped, for the report's timeline and convergence figures. */
export type ControlEvent = BrokerEvent | { readonly type: 'fault'; readonly at: number; readonly fault: FaultSpec };

class Node {
  broker!: Broker;
  alive = false;
  /** The one timer the broker asked for (NaN when none). */
  timerAt = NaN;
  /** Outgoing directions by neighbor id. */
  readonly out = new Map<BrokerId, LinkDirection>();
  readonly populations: Population[] = [];
  readonly clientOneWayMs: number;

  constructor(readonly index: number, readonly id: BrokerId, readonly region: string, readonly regionIndex: number, clientRttMs: number) {
    this.clientOneWayMs = clientRttMs / 2;
  }
}

export class Mesh {
  readonly kernel: Kernel;
  readonly rng: Rng;
  readonly nodes: Node[] = [];
  readonly byId = new Map<BrokerId, Node>();
  readonly directions: LinkDirection[] = [];
  readonly streams: PublishStream[];
  readonly populations: Population[];
  readonly local = new LatencyRecorder();
  readonly cross = new LatencyRecorder();
  readonly series = new SecondSeries();
  readonly trace = new TraceDigest();
  readonly dups: DuplicateDetector;
  readonly control: ControlEvent[] = [];
  /**
   * Wall-clock samples of handlePublish, in microseconds: 1 in `decisionSampleEvery` publishes,
   * after the first `decisionSkip` (while the JIT is still compiling the hot path).
   */
  readonly decisionUs: number[] = [];
  published = 0;
  /** Number of the frame being handled: deliveries it causes share it (duplicate detection). */
  private arrival = 0;
  rejected = 0;
  delivered = 0;
  private nextSecondAt = 1000;
  private readonly K: { arrive: number; timer: number; publish: number; fault: number; second: number };
  private readonly inputs: Array<{ id: string; source: string; type: string; topic: string; headers: Headers; payload: Uint8Array; publishedAtMs: number }>;

  constructor(readonly scenario: Scenario, readonly seed: number, readonly durationMs: number, private readonly decisionSampleEvery = 64, private readonly decisionSkip = 8192) {
    this.kernel = new Kernel(-scenario.warmupMs);
    this.rng = createRng(seed);
    this.dups = new DuplicateDetector(scenario.regions.reduce((a, r) => a + r.brokers.length, 0), Math.max(2000, 4 * maxRtt(scenario)), -scenario.warmupMs);
    const k = this.kernel;
    this.K = {
      arrive: k.register((now, d) => this.onArrive(now, d)),
      timer: k.register((now, i) => this.onTimer(now, i)),
      publish: k.register((now, s) => this.onPublish(now, s)),
      fault: k.register((now, f) => this.onFault(now, f)),
      second: k.register(() => this.onSecond()),
    };
    scenario.regions.forEach((region, regionIndex) => {
      for (const id of region.brokers) {
        const node = new Node(this.nodes.length, id, region.id, regionIndex, region.clientRttMs);
        this.nodes.push(node);
        this.byId.set(id, node);
      }
    });
    const netRng = this.rng.fork('network');
    for (const link of scenario.links) {
      const [a, b] = link.between;
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const fromNode = this.byId.get(from) as Node;
        const toNode = this.byId.get(to) as Node;
        const dir = new LinkDirection(this.directions.length, {
          from, to, wan: fromNode.region !== toNode.region, rttMs: link.rttMs, bandwidthBps: link.bandwidthBps,
          jitterMs: link.jitterMs, loss: link.loss, queueBytes: link.queueBytes, overheadBytes: scenario.model.transportOverheadBytes, windowEndMs: durationMs,
        }, netRng.fork(`${from}>${to}`));
        this.directions.push(dir);
        fromNode.out.set(to, dir);
      }
    }
    this.populations = expandSubscribers(scenario);
    for (const p of this.populations) (this.byId.get(p.broker) as Node).populations.push(p);
    this.streams = expandPublishers(scenario, this.rng.fork('publishers'));
    this.inputs = this.streams.map((s) => ({ id: '', source: s.source, type: s.spec.type, topic: '', headers: {}, payload: s.payload, publishedAtMs: 0 }));
    for (const node of this.nodes) this.boot(node);
    for (const s of this.streams) {
      const first = s.spec.startMs + s.firstGapMs();
      if (first < Math.min(s.spec.stopMs, durationMs)) k.at(first, this.K.publish, s.index);
    }
    scenario.faults.forEach((f, i) => {
      if (f.atMs <= durationMs) k.at(f.atMs, this.K.fault, i);
    });
    k.at(1000, this.K.second, 0);
  }

  /** Runs until `untilMs` (at most `maxEvents` kernel events); returns events executed. */
  runSome(untilMs: number, maxEvents: number): number {
    return this.kernel.runSome(Math.min(untilMs, this.durationMs), maxEvents);
  }

  get now(): number {
    return this.kernel.now;
  }

  get done(): boolean {
    return this.kernel.now >= this.durationMs && this.kernel.peekTime() > this.durationMs;
  }

  private boot(node: Node): void {
    const neighbors = [];
    for (const link of this.scenario.links) {
      const [a, b] = link.between;
      if (a === node.id) neighbors.push({ id: b, cost: link.cost });
      else if (b === node.id) neighbors.push({ id: a, cost: link.cost });
    }
    const r = this.scenario.routing;
    node.broker = new Broker({ id: node.id, neighbors, helloIntervalMs: r.helloIntervalMs, deadIntervalMs: r.deadIntervalMs, hopLimit: r.hopLimit }, this.hostFor(node));
    node.alive = true;
    node.timerAt = NaN;
    const now = this.kernel.now;
    // Clients (re)connect and subscribe, then the broker starts talking to its neighbors.
    for (const p of node.populations) node.broker.subscribe(now, p.pattern, p.filter, p.count, p);
    node.broker.start(now);
  }

  private hostFor(node: Node): BrokerHost {
    return {
      send: (to: BrokerId, bytes: Uint8Array, kind: FrameKind) => {
        const dir = node.out.get(to);
        if (dir === undefined) return;
        const arrival = dir.transmit(this.kernel.now, bytes, kind);
        if (!Number.isNaN(arrival)) this.kernel.at(arrival, this.K.arrive, dir.index);
      },
      deliver: (sub: LocalSubscription, env: Envelope, now: number) => this.onDeliver(node, sub, env, now),
      setTimer: (atMs: number) => {
        node.timerAt = atMs;
        this.kernel.at(Math.max(atMs, this.kernel.now), this.K.timer, node.index);
      },
      emit: (event: BrokerEvent) => this.control.push(event),
    };
  }

  private onDeliver(node: Node, sub: LocalSubscription, env: Envelope, now: number): void {
    const pop = sub.tag as Population;
    const at = now + node.clientOneWayMs;
    const latency = at - env.publishedAtMs;
    const first = env.path[0] as string;
    const count = sub.count;
    if (first === node.id || this.regionIndexOf(first) === node.regionIndex) {
      this.local.record(latency, count);
      this.series.local.record(latency, count);
    } else {
      this.cross.record(latency, count);
      this.series.cross.record(latency, count);
    }
    if (env.path.length > 1) this.dups.seen(now, node.index, env.id, this.arrival, count);
    this.delivered += count;
    this.series.deliveredNow += count;
    this.trace.add(at, pop.index, env.publishedAtMs, count);
  }

  private regionIndexOf(id: BrokerId): number {
    return this.byId.get(id)?.regionIndex ?? -1;
  }

  private onArrive(now: number, d: number): void {
    const dir = this.directions[d] as LinkDirection;
    const bytes = dir.arrive();
    if (bytes === undefined) return;
    const node = this.byId.get(dir.spec.to) as Node;
    if (!node.alive) return;
    this.arrival++;
    node.broker.handleFrame(now, dir.spec.from, bytes);
  }

  private onTimer(now: number, i: number): void {
    const node = this.nodes[i] as Node;
    if (!node.alive || node.timerAt !== now) return;
    node.timerAt = NaN;
    node.broker.handleTimeout(now);
  }

  private onPublish(now: number, si: number): void {
    const s = this.streams[si] as PublishStream;
    const node = this.byId.get(s.broker) as Node;
    if (node.alive) {
      const input = this.inputs[si] as { id: string; topic: string; headers: Headers; publishedAtMs: number };
      input.id = `${si}-${s.n}`;
      input.topic = s.topic();
      input.headers = s.headers();
      input.publishedAtMs = now - node.clientOneWayMs;
      if (this.published >= this.decisionSkip && this.published % this.decisionSampleEvery === 0) {
        const t0 = performance.now();
        node.broker.handlePublish(now, input as PublishInput);
        this.decisionUs.push((performance.now() - t0) * 1000);
      } else {
        node.broker.handlePublish(now, input as PublishInput);
      }
      this.published++;
      this.series.publishedNow++;
    } else {
      this.rejected++;
    }
    s.n++;
    const next = now + s.nextGapMs();
    if (next < s.spec.stopMs && next < this.durationMs) this.kernel.at(next, this.K.publish, si);
  }

  private onSecond(): void {
    this.series.close();
    for (const dir of this.directions) while (dir.perSecondBytes.length < this.series.delivered.length) dir.perSecondBytes.push(0);
    this.nextSecondAt += 1000;
    if (this.nextSecondAt <= this.durationMs) this.kernel.at(this.nextSecondAt, this.K.second, 0);
  }

  private onFault(now: number, i: number): void {
    const fault = this.scenario.faults[i] as FaultSpec;
    this.control.push({ type: 'fault', at: now, fault });
    const [a, b] = fault.target as [string, string];
    switch (fault.action) {
      case 'link-down':
      case 'link-up': {
        const there = (this.byId.get(a) as Node).out.get(b) as LinkDirection;
        const back = (this.byId.get(b) as Node).out.get(a) as LinkDirection;
        for (const dir of [there, back]) fault.action === 'link-down' ? dir.setDown() : dir.setUp();
        break;
      }
      case 'crash': {
        const node = this.byId.get(a) as Node;
        node.alive = false;
        node.timerAt = NaN;
        break;
      }
      case 'restart': {
        const node = this.byId.get(a) as Node;
        if (!node.alive) this.boot(node);
        break;
      }
      default: {
        const never: never = fault.action;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
  }
}

function maxRtt(s: Scenario): number {
  let m = 0;
  for (const l of s.links) m = Math.max(m, l.rttMs);
  return m;
}

