/**
 * A simulated mesh: the real engine's brokers, each behind a host that maps its effects onto the
 * event kernel and the virtual network. One driver shape for every host: an input goes in, the
 * broker's effects come out through `BrokerHost` and become kernel events at `now + delay`.
 *
 * Time: the kernel starts at -warmupMs. Brokers start and subscribers subscribe then, so hellos,
 * adverts and interest have converged when publishers start at 0. Everything reported is about
 * [0, durationMs], except the warm-up's convergence time and control bytes, reported apart.
 */
import { createHash } from 'node:crypto';
import { FunctionModel, FunctionPool } from './functions.ts';
import {
  ACL_DOC,
  INTERNAL,
  type Broker,
  durableFor,
  type BrokerConfig,
  type BrokerEvent,
  type BrokerStats,
  type DropCause,
  type LocalSubscription,
  type PublishInput,
  type PublishResult,
  SCHEMAS_DOC,
  SchemaRegistry,
} from '../engine/broker.ts';
import { decodeFrame, frameKindOf } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import type { DurableState } from '../engine/durable.ts';
import { BrokerDriver, type HostEffects } from '../engine/host/driver.ts';
import { Standby } from '../engine/ha.ts';
import { receivers } from '../engine/interest.ts';
import { type BrokerId, type Envelope, type Headers, UsageError } from '../engine/types.ts';
import type { FaultSpec, Scenario } from '../scenarios/types.ts';
import { Accounts, type LossCause } from './accounts.ts';
import { DemandOracle } from './demand.ts';
import { Kernel } from './kernel.ts';
import { DuplicateDetector, LatencyRecorder, SecondSeries, TraceDigest } from './metrics.ts';
import { LinkDirection } from './network.ts';
import { createRng, type Rng } from './rng.ts';
import { expandPublishers, expandSubscribers, type Population, type PublishStream } from './workload.ts';

/** A control-plane event, timestamped, for the report's timeline and convergence figures. */
export type ControlEvent =
  | BrokerEvent
  | { readonly type: 'fault'; readonly at: number; readonly fault: FaultSpec; readonly index: number }
  | { readonly type: 'fault-reverted'; readonly at: number; readonly index: number }
  | { readonly type: 'takeover'; readonly at: number; readonly broker: BrokerId; readonly backup: BrokerId; readonly lastKeepaliveAt: number }
  | { readonly type: 'resubscribed'; readonly at: number; readonly broker: BrokerId; readonly populations: number };

/** Counters summed over every broker and every life of it (a restart starts a new Broker). */
export type Totals = BrokerStats & { readonly rejected: number; readonly publishBackpressured: number; readonly delivered: number; readonly lostPairs: number };

/**
 * Sees every publish and delivery (for invariant checkers: sim/invariants.ts). Only called when
 * set, so a plain run pays nothing.
 */
export interface MeshObserver {
  publish(now: number, stream: PublishStream, n: number, input: PublishInput, result: PublishResult | 'broker-down'): void;
  deliver(now: number, pop: Population, env: Envelope, guaranteed: boolean): void;
}

/**
 * A mesh split over threads (sim/parallel/): this thread runs the brokers it owns; the others are
 * replicas that never run, read only for their local subscriptions (what a lost copy was worth
 * there). A frame sent to a broker another thread owns is shipped there with its arrival time and
 * kernel key [PAR-2].
 */
export interface MeshShare {
  /** owned[i] = 1: this thread runs broker i. */
  readonly owned: Uint8Array;
  /** The thread that records what is the mesh's, not a broker's: faults in the timeline. */
  readonly primary: boolean;
  /**
   * A frame on direction `dir` arriving at `atMs` at broker `to`, which another thread owns; sent
   * while the link had been cut `cuts` times (a cut before it arrives loses it) [PAR-2].
   */
  ship(atMs: number, dir: number, to: number, key: number, cuts: number, bytes: Uint8Array): void;
}

/** Meshes with more populations than this get no per-population figures (one histogram each). */
export const POPULATION_DETAIL_MAX = 1000;

class Node {
  /** Runs the node's broker (this life's) and guards its timer (engine/host/driver.ts). */
  driver!: BrokerDriver;
  /** Outgoing directions by neighbor id. */
  readonly out = new Map<BrokerId, LinkDirection>();
  readonly populations: Population[] = [];
  readonly clientOneWayMs: number;
  /** The broker's disk (spool, custody, ledger, sequences): kept across crashes. */
  durable: DurableState | undefined;
  /** Stats of earlier lives (a restart replaces the Broker). */
  readonly past: Partial<Record<keyof BrokerStats, number>> = {};
  /** HA: the pair this broker is the primary identity of. */
  pair: HaPair | undefined;
  /** When the identity last went down (for takeover times). */
  crashedAt = NaN;
  /** Frames that arrived here: deliveries a frame causes share its number (duplicate detection). */
  arrivals = 0;
  /** [TRACE-1] Its deliveries, in kernel order. */
  readonly trace = new TraceDigest();

  constructor(
    readonly index: number,
    readonly id: BrokerId,
    readonly region: string,
    readonly regionIndex: number,
    clientRttMs: number,
  ) {
    this.clientOneWayMs = clientRttMs / 2;
  }

  /** The current (or, after a crash, the last) life's broker. */
  get broker(): Broker {
    return this.driver.broker;
  }

  get alive(): boolean {
    return this.driver?.alive ?? false;
  }
}

/** An HA pair: the identity `primary` (an address) and a standby machine watching it. */
class HaPair {
  standby: Standby | null = null;
  /** Keep-alive frames on the LAN to the standby, oldest first (the LAN delay is constant: FIFO). */
  readonly onLan: Uint8Array[] = [];
  /** The standby machine is up (it can watch, or come back as the standby). */
  standbyUp = true;
  standbyTimerAt = NaN;
  constructor(
    readonly index: number,
    readonly primary: Node,
    readonly backupId: BrokerId,
  ) {}
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
  readonly series: SecondSeries;
  readonly dups: DuplicateDetector;
  readonly control: ControlEvent[] = [];
  readonly pairs: HaPair[] = [];
  /** [ACCT-1] Where every (event, subscriber) pair ended. */
  readonly accounts: Accounts;
  /** [ACCT-4] Pairs each publish creates. */
  readonly demand: DemandOracle;
  /**
   * Per population, for sessions that began after traffic started (a reconnect): how many events
   * each publisher stream had published then. Earlier events were not owed to this session.
   */
  private readonly sessionMarks: Array<Int32Array | undefined>;
  private readonly matchScratch: LocalSubscription[] = [];
  /** Per-population latency, for meshes of at most POPULATION_DETAIL_MAX populations (else empty). */
  readonly popLatency: LatencyRecorder[] = [];
  readonly popDelivered: number[] = [];
  /** Totals at each fault, in fault order (per-fault figures are differences of these). */
  readonly faultTotals: Array<{ readonly index: number; readonly at: number; readonly totals: Totals }> = [];
  /**
   * Wall-clock samples of handlePublish, in microseconds: 1 in `decisionSampleEvery` publishes,
   * after the first `decisionSkip` (while the JIT is still compiling the hot path).
   */
  readonly decisionUs: number[] = [];
  /**
   * [SCHEMA-7] Wall-clock samples of the schema check alone (parse and validate, µs), taken as
   * decisionUs is (1 in `decisionSampleEvery` publishes a subject applies to, after the first
   * `decisionSkip`): the broker's registry asked again, uncounted, just before it handles the publish.
   */
  readonly validationUs: number[] = [];
  /** Publishes a subject applied to so far (the validation samples' clock). */
  private schemaChecked = 0;
  /** The scenario's registry as a document body (null: no schemas). */
  private readonly schemasBody: string | null;
  /** [SCHEMA-7] Publishes refused for invalid data; publishes sent with the invalid data (on a live broker). */
  invalid = 0;
  invalidSent = 0;
  /** Per subject, what earlier lives of the brokers checked and refused (a restart starts a new registry). */
  readonly schemaPast = new Map<string, { validated: number; invalid: number }>();
  observer: MeshObserver | undefined;
  published = 0;
  rejected = 0;
  publishBackpressured = 0;
  /** What the policy refused, per principal: publishes (events), subscribers, deliveries (pairs) [ACL-3..5]. */
  readonly denied = new Map<string, { publish: number; subscribe: number; delivery: number }>();
  /** Populations whose subscription the policy refused (they never subscribe, nothing is owed to them). */
  private readonly refusedPop: Uint8Array;
  /** Function subscriptions: each function population's model (null for the others) [FN-SIM-1]. */
  readonly functions: Array<FunctionModel | null>;
  private readonly fnPool = new FunctionPool((at, job) => this.kernel.at(at, this.K.fn, job));
  delivered = 0;
  private nextSecondAt = 1000;
  /** Per population: its live subscription, current consume rate, and pending consumed event time. */
  private readonly subs: Array<LocalSubscription | undefined>;
  private readonly rate: number[];
  private readonly consumeAt: number[];
  /** Links cut by each partition fault still in force (by fault index). */
  private readonly partitions = new Map<number, { readonly regions: ReadonlySet<string>; readonly dirs: LinkDirection[] }>();
  private readonly reconnectRng: Rng;
  private readonly K: {
    arrive: number;
    timer: number;
    publish: number;
    fault: number;
    second: number;
    consumed: number;
    revert: number;
    keepalive: number;
    standby: number;
    resubscribe: number;
    relink: number;
    fn: number;
  };
  private readonly inputs: Array<{ id: string; source: string; type: string; topic: string; headers: Headers; payload: Uint8Array; publishedAtMs: number; guaranteed: boolean; principal: string }>;

  /** The kernel runs to durationMs + drainMs: publishers stop at durationMs, what is in flight lands. */
  readonly endMs: number;

  constructor(
    readonly scenario: Scenario,
    readonly seed: number,
    readonly durationMs: number,
    readonly drainMs = 0,
    private readonly decisionSampleEvery = 64,
    private readonly decisionSkip = 8192,
    /** Set when the mesh is split over threads: which brokers this one runs [PAR-1]. */
    readonly share?: MeshShare,
  ) {
    this.endMs = durationMs + drainMs;
    this.series = new SecondSeries(share !== undefined);
    this.kernel = new Kernel(-scenario.warmupMs);
    this.rng = createRng(seed);
    this.reconnectRng = this.rng.fork('reconnect');
    this.dups = new DuplicateDetector(
      scenario.regions.reduce((a, r) => a + r.brokers.length, 0),
      Math.max(2000, 4 * maxRtt(scenario)),
      -scenario.warmupMs,
    );
    const k = this.kernel;
    this.K = {
      arrive: k.register((now, d, shipped) => this.onArrive(now, d, shipped)),
      timer: k.register((now, i) => this.onTimer(now, i)),
      publish: k.register((now, s) => this.onPublish(now, s)),
      fault: k.register((now, f) => this.onFault(now, f)),
      second: k.register(() => this.onSecond()),
      consumed: k.register((now, p) => this.onConsumed(now, p)),
      revert: k.register((now, f) => this.onRevert(now, f)),
      keepalive: k.register((now, p) => this.onKeepalive(now, p)),
      standby: k.register((now, p) => this.onStandbyTimer(now, p)),
      resubscribe: k.register((now, i) => this.onResubscribe(now, i)),
      relink: k.register((now, d) => this.onRelink(now, d)),
      fn: k.register((now, j) => this.fnPool.onEvent(now, j)),
    };
    scenario.regions.forEach((region, regionIndex) => {
      for (const id of region.brokers) {
        const node = new Node(this.nodes.length, id, region.id, regionIndex, region.clientRttMs);
        this.nodes.push(node);
        this.byId.set(id, node);
      }
    });
    // [KERNEL-1] Each broker counts the events it creates: the order does not depend on threads.
    k.owners(this.nodes.length);
    for (const region of scenario.regions) {
      for (const ha of region.ha ?? []) {
        const primary = this.byId.get(ha.primary) as Node;
        const pair = new HaPair(this.pairs.length, primary, ha.backup);
        this.pairs.push(pair);
        primary.pair = pair;
      }
    }
    const netRng = this.rng.fork('network');
    for (const link of scenario.links) {
      const [a, b] = link.between;
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const fromNode = this.byId.get(from) as Node;
        const toNode = this.byId.get(to) as Node;
        const dir = new LinkDirection(
          this.directions.length,
          {
            from,
            to,
            wan: fromNode.region !== toNode.region,
            rttMs: link.rttMs,
            bandwidthBps: link.bandwidthBps,
            jitterMs: link.jitterMs,
            loss: link.loss,
            queueBytes: link.queueBytes,
            overheadBytes: scenario.model.transportOverheadBytes,
            windowEndMs: durationMs,
          },
          netRng.fork(`${from}>${to}`),
          fromNode.index,
          toNode.index,
        );
        this.directions.push(dir);
        fromNode.out.set(to, dir);
      }
    }
    this.populations = expandSubscribers(scenario);
    this.accounts = new Accounts(this.nodes.length);
    this.demand = new DemandOracle(this.populations);
    this.sessionMarks = new Array(this.populations.length).fill(undefined);
    this.subs = new Array(this.populations.length).fill(undefined);
    this.rate = this.populations.map((p) => p.consumeRatePerSec ?? Infinity);
    this.consumeAt = new Array(this.populations.length).fill(NaN);
    this.refusedPop = new Uint8Array(this.populations.length);
    // [FN-SIM-1..4] A model per function population; one RNG stream for all their failures.
    const fnRng = this.rng.fork('functions');
    this.functions = this.populations.map((p) => (p.fn === null ? null : new FunctionModel(p.fn, fnRng, this.fnPool, (now, env, g, attempts) => this.deadLetter(p, now, env, g, attempts))));
    if (this.populations.length <= POPULATION_DETAIL_MAX) {
      for (let i = 0; i < this.populations.length; i++) {
        this.popLatency.push(new LatencyRecorder());
        this.popDelivered.push(0);
      }
    }
    for (const p of this.populations) (this.byId.get(p.broker) as Node).populations.push(p);
    this.streams = expandPublishers(scenario, this.rng.fork('publishers'));
    this.schemasBody = scenario.schemas.length === 0 ? null : SchemaRegistry.bodyOf(scenario.schemas);
    this.inputs = this.streams.map((s) => ({
      id: '',
      source: s.source,
      type: s.spec.type,
      topic: '',
      headers: {},
      payload: s.payload,
      publishedAtMs: 0,
      guaranteed: s.spec.delivery === 'guaranteed',
      principal: s.spec.principal,
    }));
    for (const node of this.nodes) {
      // What a broker does as it starts is its own: its events are keyed as its [KERNEL-1].
      k.creator = node.index;
      this.boot(node, false);
    }
    k.creator = -1;
    if (scenario.mechanisms?.ha !== false) for (const pair of this.pairs) this.watch(pair);
    for (const s of this.streams) {
      const first = s.spec.startMs + s.firstGapMs();
      if (first < Math.min(s.spec.stopMs, durationMs)) this.schedule(first, this.K.publish, s.index, (this.byId.get(s.broker) as Node).index);
    }
    scenario.faults.forEach((f, i) => {
      if (f.atMs <= durationMs) k.at(f.atMs, this.K.fault, i);
    });
    k.at(1000, this.K.second, 0);
  }

  /** Does this thread run broker `i`? (Always, unless the mesh is split over threads.) */
  owns(i: number): boolean {
    return this.share === undefined || this.share.owned[i] === 1;
  }

  /**
   * Schedules an event broker `owner` handles; on a thread that does not run that broker it only
   * takes its key, so every thread's keys stay the same [KERNEL-1][PAR-1].
   */
  private schedule(t: number, kind: number, arg: number, owner: number): void {
    if (this.owns(owner)) this.kernel.at(t, kind, arg, undefined, owner);
    else this.kernel.skip();
  }

  /**
   * [PAR-3] After `inFlightAtEnd`: copies in this thread's custody for brokers another thread
   * runs, with what each is worth there (whether the destination has it already is that thread's
   * to say: `custodyWorth`).
   */
  readonly custodyElsewhere: Array<{ readonly id: string; readonly dest: number; readonly worth: number }> = [];
  /** The (event, destination) copies the last `heldWorth` counted (custodyWorth counts no copy twice). */
  private readonly custodySeen = new Set<string>();

  /**
   * [PAR-3] What copies other threads hold for this thread's brokers are worth: each (event,
   * destination) once over every custody, and not when the destination's ledger has it now.
   */
  custodyWorth(copies: ReadonlyArray<{ readonly id: string; readonly dest: number; readonly worth: number }>): number {
    const now = this.kernel.now;
    const seen = this.custodySeen;
    let pairs = 0;
    for (const c of copies) {
      const d = this.nodes[c.dest] as Node;
      const key = `${c.id}\u0000${d.id}`;
      if (seen.has(key) || d.durable?.ledger.has(now, c.id, d.id) === true) continue;
      seen.add(key);
      pairs += c.worth;
    }
    return pairs;
  }

  /** [PAR-2] A frame another thread shipped: its arrival here, with the key its sender's thread gave it. */
  inject(atMs: number, dir: number, key: number, cuts: number, bytes: Uint8Array): void {
    const d = this.directions[dir] as LinkDirection;
    this.kernel.atKey(atMs, this.K.arrive, cuts * this.directions.length + dir, bytes, d.toIndex, key);
  }

  /** [PAR-3] The digest of broker `i`'s deliveries so far (it ends the digest: call it once, at the end). */
  brokerTrace(i: number): string {
    return (this.nodes[i] as Node).trace.hex();
  }

  /** [TRACE-1] The digests of every broker's deliveries, in broker order, hashed together. */
  traceHash(): string {
    return traceHashOf(this.nodes.map((n) => n.trace.hex()));
  }

  /** Runs until `untilMs` (at most `maxEvents` kernel events); returns events executed. */
  runSome(untilMs: number, maxEvents: number): number {
    return this.kernel.runSome(Math.min(untilMs, this.endMs), maxEvents);
  }

  get now(): number {
    return this.kernel.now;
  }

  get done(): boolean {
    return this.kernel.now >= this.endMs && this.kernel.peekTime() > this.endMs;
  }

  /** Counters over every broker and every life. */
  totals(): Totals {
    const t: Record<string, number> = { rejected: this.rejected, publishBackpressured: this.publishBackpressured, delivered: this.delivered, lostPairs: this.accounts.dropped };
    for (const node of this.nodes) {
      if (!this.owns(node.index)) continue;
      for (const [k, v] of Object.entries(this.brokerStats(node.id) as BrokerStats)) t[k] = (t[k] ?? 0) + v;
    }
    return t as unknown as Totals;
  }

  /** A broker's counters summed over its lives (a restart or takeover starts a new Broker). */
  brokerStats(id: BrokerId): BrokerStats | undefined {
    const node = this.byId.get(id);
    if (node === undefined) return undefined;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(node.broker.stats)) out[k] = v + (node.past[k as keyof BrokerStats] ?? 0);
    return out as unknown as BrokerStats;
  }

  /** Subscriber deliveries lost at or on the way out of this broker, by any cause [ACCT-1]. */
  brokerDropped(id: BrokerId): number {
    const node = this.byId.get(id);
    return node === undefined ? 0 : (this.accounts.brokerDropped[node.index] as number);
  }

  /**
   * [ACCT-1] What everything still held when the run ends is worth in subscriber deliveries:
   * realtime frames on links, every broker's custody (spooled, unacknowledged — once per copy,
   * and not when its destination already has it — resequenced) and slow subscribers' queues.
   */
  inFlightAtEnd(): number {
    return this.heldWorth(undefined);
  }

  /**
   * [ACCT-1] What every copy still held is worth — realtime frames on links, each custody's
   * copies (once per copy, and not when its destination already has it), slow subscribers'
   * queues and group backlogs — counting only subscribers at `only` when it is given.
   */
  private heldWorth(only: Node | undefined): number {
    let pairs = 0;
    this.custodyElsewhere.length = 0;
    this.custodySeen.clear();
    // [PAR-1] What is on a wire is its sender's; a replica holds nothing.
    for (const dir of this.directions) if (this.owns(dir.fromIndex)) dir.forEachInFlight((bytes) => (pairs += this.frameWorth(bytes, only)));
    const seen = this.custodySeen;
    const now = this.kernel.now;
    for (const node of this.nodes) {
      if (!this.owns(node.index)) continue;
      const visit = (env: Envelope, dest: BrokerId | null, sub: LocalSubscription | null): void => {
        if (sub !== null) {
          if (only === undefined || node === only) pairs += this.subWorth(node, env, sub);
          return;
        }
        const d = this.byId.get(dest as BrokerId);
        if (d === undefined || (only !== undefined && d !== only)) return;
        if (d !== node) {
          // Sent and not yet acknowledged: the destination may hold it already, or another custody.
          if (this.owns(d.index) && d.durable?.ledger.has(now, env.id, d.id) === true) return;
          const key = `${env.id}\u0000${d.id}`;
          if (seen.has(key)) return;
          seen.add(key);
          if (!this.owns(d.index)) {
            // [PAR-3] Its destination's thread settles it (that ledger, other threads' custody).
            this.custodyElsewhere.push({ id: env.id, dest: d.index, worth: this.worth(d, env) });
            return;
          }
        }
        pairs += this.worth(d, env);
      };
      // A crashed broker's memory is gone; its durable custody is not.
      if (node.alive) node.broker.inspect().forEachHeld(visit);
      else node.broker.inspect().forEachCustody(visit);
    }
    return pairs;
  }

  /**
   * [ACCT-1] Subscribers at `d` a copy of `env` is worth now: its connected sessions that wanted
   * it when it was published (none at a crashed broker; a session that began after the publish
   * was not owed it).
   */
  private worth(d: Node, env: Envelope): number {
    if (!d.alive) return 0;
    const subs = this.matchScratch;
    subs.length = 0;
    const k = d.broker.inspect().matchLocal(env, subs);
    let n = 0;
    for (let i = 0; i < k; i++) n += this.subWorth(d, env, subs[i] as LocalSubscription);
    return n;
  }

  /** Subscribers one local subscription's copy of `env` is worth (as `worth`). */
  private subWorth(node: Node, env: Envelope, sub: LocalSubscription): number {
    const marks = this.sessionMarks[(sub.tag as Population).index];
    if (!node.alive || (marks !== undefined && publishedBefore(env, marks))) return 0;
    return receivers(sub);
  }

  /** A realtime data frame's worth (other frames carry no lossable deliveries). */
  private frameWorth(bytes: Uint8Array, only: Node | undefined): number {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok || decoded.frame.kind !== FrameKind.Data) return 0;
    const env = decoded.frame.envelope;
    let n = 0;
    for (const id of decoded.frame.dests) {
      const d = this.byId.get(id);
      if (d !== undefined && (only === undefined || d === only)) n += this.worth(d, env);
    }
    return n;
  }

  /** A realtime frame lost for `cause` at (or on the way out of) `node`. */
  private lostFrame(node: Node, cause: LossCause, bytes: Uint8Array): void {
    this.accounts.drop(node.index, cause, this.frameWorth(bytes, undefined));
  }

  /** The node for a broker id (undefined for an unknown id). */
  node(id: BrokerId): { readonly broker: Broker; readonly alive: boolean; readonly region: string } | undefined {
    return this.byId.get(id);
  }

  /** Deepest broker-side queue any current paced subscription on this broker has had. */
  consumerQueuePeak(id: BrokerId): number {
    let peak = 0;
    for (const p of (this.byId.get(id) as Node).populations) peak = Math.max(peak, this.subs[p.index]?.consumer?.peakDepth ?? 0);
    return peak;
  }

  /** Current slow-consumer queue depth summed over this broker's paced subscriptions (messages). */
  consumerQueueDepth(id: BrokerId): number {
    let depth = 0;
    for (const p of (this.byId.get(id) as Node).populations) depth += this.subs[p.index]?.consumer?.depth ?? 0;
    return depth;
  }

  /** Faults applied while running (the browser view), numbered after the scenario's own. */
  readonly injected: FaultSpec[] = [];

  /** Fault number `i`: the scenario's, then the injected ones. */
  faultSpec(i: number): FaultSpec {
    const n = this.scenario.faults.length;
    return (i < n ? this.scenario.faults[i] : this.injected[i - n]) as FaultSpec;
  }

  /**
   * Applies a fault now, between kernel runs, through the same path as a scheduled one (its
   * `atMs` is replaced by the current time). Returns its fault number.
   */
  applyFault(fault: FaultSpec): number {
    const i = this.scenario.faults.length + this.injected.length;
    this.injected.push({ ...fault, atMs: this.kernel.now });
    this.onFault(this.kernel.now, i);
    return i;
  }

  /** Is the direction a→b carrying frames (not cut)? */
  linkUp(a: BrokerId, b: BrokerId): boolean {
    return this.byId.get(a)?.out.get(b)?.up ?? false;
  }

  private configFor(node: Node): BrokerConfig {
    const neighbors = [];
    for (const link of this.scenario.links) {
      const [a, b] = link.between;
      if (a === node.id) neighbors.push({ id: b, cost: link.cost });
      else if (b === node.id) neighbors.push({ id: a, cost: link.cost });
    }
    const r = this.scenario.routing;
    const m = this.scenario.mechanisms ?? {};
    return {
      id: node.id,
      neighbors,
      helloIntervalMs: r.helloIntervalMs,
      deadIntervalMs: r.deadIntervalMs,
      hopLimit: r.hopLimit,
      retransmitMs: r.retransmitMs,
      ackDelayMs: r.ackDelayMs,
      ledgerTtlMs: r.ledgerTtlMs,
      spoolBytes: r.spoolBytes,
      backup: node.pair?.backupId,
      keepaliveMs: r.keepaliveMs,
      disable: {
        reroute: m.reroute === false,
        spool: m.spool === false,
        dedup: m.dedup === false,
        isolation: m.isolation === false,
      },
    };
  }

  /**
   * Starts (or restarts) a node's broker. At the first boot clients subscribe at once (the
   * warm-up); after a crash they reconnect after the scenario's reconnect delay, with jitter.
   */
  private boot(node: Node, reconnect: boolean): void {
    // A new life: the last one's counters join the broker's sum.
    if (node.driver !== undefined) this.retire(node);
    const config = this.configFor(node);
    node.durable ??= durableFor(config);
    node.driver ??= new BrokerDriver(this.hostFor(node), { schedule: (atMs) => this.schedule(Math.max(atMs, this.kernel.now), this.K.timer, node.index, node.index) });
    node.driver.boot(config, node.durable);
    const now = this.kernel.now;
    for (const p of node.populations) {
      this.subs[p.index] = undefined;
      this.consumeAt[p.index] = NaN;
    }
    // [GOV-1] Every broker starts with the scenario's policy as version 1 (origin: the scenario).
    if (this.scenario.acl.length > 0) node.broker.offerDocument(now, { doc: ACL_DOC, origin: '', version: 1, body: JSON.stringify(this.scenario.acl) });
    // [RULE-2] The operator's routing rules, at every broker.
    if (this.scenario.routes.length > 0) node.broker.setRoutingRules(this.scenario.routes);
    // [SCHEMA-3] And with the scenario's schema registry as version 1.
    if (this.schemasBody !== null) node.broker.offerDocument(now, { doc: SCHEMAS_DOC, origin: '', version: 1, body: this.schemasBody });
    node.broker.start(now);
    if (!reconnect) {
      for (const p of node.populations) this.subscribe(node, p);
      return;
    }
    // Each population reconnects after reconnect × U(0.5, 1.5) (randomized client backoff) plus a
    // round trip for the handshake; the last one completes the rebuilt subscription table.
    const r = this.scenario.routing.reconnectMs;
    for (const p of node.populations) {
      const at = now + r * (0.5 + this.reconnectRng.next()) + 2 * node.clientOneWayMs;
      this.kernel.at(at, this.K.resubscribe, p.index, undefined, node.index);
    }
  }

  private subscribe(node: Node, p: Population): void {
    if (!node.broker.authorizeSubscribe(p.principal, p.pattern).allowed) {
      // [ACL-4] Refused: the population never subscribes, so nothing is owed to it.
      if (this.refusedPop[p.index] !== 1 && this.owns(node.index)) this.countDenied(p.principal, 'subscribe', p.count);
      this.refusedPop[p.index] = 1;
      return;
    }
    const sub = node.broker.subscribe(this.kernel.now, p.pattern, p.filter, p.count, p, p.principal);
    this.subs[p.index] = sub;
    this.demand.connect(p.index);
    if (this.streams.some((s) => s.n > 0)) this.sessionMarks[p.index] = Int32Array.from(this.streams, (s) => s.n);
    if (this.rate[p.index] !== Infinity) node.broker.pace(sub, p.queueLimit);
  }

  private countDenied(principal: string, what: 'publish' | 'subscribe' | 'delivery', n: number): void {
    let c = this.denied.get(principal);
    if (c === undefined) this.denied.set(principal, (c = { publish: 0, subscribe: 0, delivery: 0 }));
    c[what] += n;
  }

  private onResubscribe(now: number, pi: number): void {
    const p = this.populations[pi] as Population;
    const node = this.byId.get(p.broker) as Node;
    if (!node.alive || this.subs[pi] !== undefined) return;
    this.subscribe(node, p);
    if (node.populations.every((q) => this.subs[q.index] !== undefined || this.refusedPop[q.index] === 1)) {
      this.control.push({ type: 'resubscribed', at: now, broker: node.id, populations: node.populations.length });
    }
  }

  /** Keeps a broker's counters before it is replaced. */
  private retire(node: Node): void {
    for (const [k, v] of Object.entries(node.broker.stats)) node.past[k as keyof BrokerStats] = (node.past[k as keyof BrokerStats] ?? 0) + v;
    for (const s of node.broker.schemas.subjects) {
      const p = this.schemaPast.get(s.name) ?? { validated: 0, invalid: 0 };
      this.schemaPast.set(s.name, { validated: p.validated + s.validated, invalid: p.invalid + s.invalid });
    }
  }

  /** [SCHEMA-7] Per subject, events checked and refused over every broker and life (subjects in registry order). */
  schemaCounts(): Map<string, { validated: number; invalid: number }> {
    const out = new Map<string, { validated: number; invalid: number }>();
    for (const spec of this.scenario.schemas) out.set(spec.subject, { ...(this.schemaPast.get(spec.subject) ?? { validated: 0, invalid: 0 }) });
    for (const node of this.nodes) {
      for (const s of node.broker.schemas.subjects) {
        const c = out.get(s.name) ?? { validated: 0, invalid: 0 };
        out.set(s.name, { validated: c.validated + s.validated, invalid: c.invalid + s.invalid });
      }
    }
    return out;
  }

  /** What the broker's effects mean here: frames onto virtual links, deliveries to populations. */
  private hostFor(node: Node): HostEffects {
    // [PAR-1] A replica (a broker another thread runs) does nothing outside its own memory.
    if (!this.owns(node.index)) return REPLICA_EFFECTS;
    return {
      send: (to: BrokerId, bytes: Uint8Array) => {
        const dir = node.out.get(to);
        if (dir === undefined) throw new Error(`${node.id} sent to ${to}, which is not a neighbor`);
        const arrival = dir.transmit(this.kernel.now, bytes);
        if (!Number.isNaN(arrival)) {
          // The arrival is the receiver's event; this thread keeps it too, to take the frame off
          // the wire then (what is in flight at the end is the sender's), and ships it [PAR-2].
          const to = dir.toIndex;
          this.kernel.at(arrival, this.K.arrive, dir.index, undefined, to);
          if (!this.owns(to)) (this.share as MeshShare).ship(arrival, dir.index, to, this.kernel.lastKey, dir.cuts, bytes);
        } else if (dir.lastDrop !== 'lossRetried' && frameKindOf(bytes) === FrameKind.Data) {
          this.lostFrame(node, dir.lastDrop === 'loss' ? 'linkLoss' : dir.lastDrop === 'queue' ? 'queueFull' : 'linkDown', bytes);
        }
      },
      drop: (cause: DropCause, env: Envelope, dests: readonly BrokerId[] | null, sub: LocalSubscription | null) => {
        let pairs = 0;
        if (sub !== null) pairs = this.subWorth(node, env, sub);
        else for (const id of dests as readonly BrokerId[]) pairs += this.worth(this.byId.get(id) as Node, env);
        this.accounts.drop(node.index, cause, pairs);
        if (cause === 'denied' && sub !== null) this.countDenied((sub.tag as Population).principal, 'delivery', pairs);
      },
      keepalive: (backup: BrokerId, bytes: Uint8Array) => {
        // [HA-1] keep-alives cross the region's LAN to the standby (one way: half the client RTT).
        const pair = node.pair;
        if (pair === undefined || backup !== pair.backupId) return;
        pair.onLan.push(bytes);
        this.kernel.at(this.kernel.now + node.clientOneWayMs, this.K.keepalive, pair.index, undefined, node.index);
      },
      deliver: (sub: LocalSubscription, env: Envelope, now: number, guaranteed: boolean) => this.onDeliver(node, sub, env, now, guaranteed),
      emit: (event: BrokerEvent) => this.control.push(event),
      // [LINK-3] The simulated connection closes: the peer sees it at once, and the two redial
      // after one round trip (the link's own state, cut or not, is untouched).
      disconnect: (neighbor: BrokerId) => {
        const dir = node.out.get(neighbor) as LinkDirection;
        if (!this.owns(dir.toIndex))
          throw new UsageError(`${node.id} closed its connection to ${neighbor} (a protocol error), which runs on another thread: a parallel run cannot model that yet; run without --workers`);
        (this.byId.get(neighbor) as Node).driver.handleLinkDown(this.kernel.now, node.id);
        this.kernel.at(this.kernel.now + dir.props.rttMs, this.K.relink, dir.index, undefined, node.index);
      },
    };
  }

  private onDeliver(node: Node, sub: LocalSubscription, env: Envelope, now: number, guaranteed: boolean): void {
    const pop = sub.tag as Population;
    if (sub.consumer !== null) {
      // A paced population: its clients take 1/rate per message; the broker hands over the next then.
      // A consumer group's population shares the load: its `count` members together consume count × rate.
      const r = (this.rate[pop.index] as number) * (sub.share === null ? 1 : sub.count);
      const at = r === Infinity ? now : now + 1000 / r;
      this.consumeAt[pop.index] = at;
      this.kernel.at(at, this.K.consumed, pop.index, undefined, node.index);
    }
    const at = now + node.clientOneWayMs;
    const latency = at - env.publishedAtMs;
    const first = env.path[0] as string;
    const count = receivers(sub);
    if (first === node.id || this.regionIndexOf(first) === node.regionIndex) {
      this.local.record(latency, count);
      this.series.local.record(latency, count);
    } else {
      this.cross.record(latency, count);
      this.series.cross.record(latency, count);
    }
    if (env.path.length > 1) this.dups.seen(now, node.index, env.id, node.arrivals, count);
    this.delivered += count;
    const marks = this.sessionMarks[pop.index];
    if (marks !== undefined && publishedBefore(env, marks)) this.accounts.newSessions += count;
    this.series.deliveredNow += count;
    const rec = this.popLatency[pop.index];
    if (rec !== undefined) {
      rec.record(latency, count);
      this.popDelivered[pop.index] = (this.popDelivered[pop.index] as number) + count;
    }
    node.trace.add(at, pop.index, env.publishedAtMs, count);
    this.observer?.deliver(now, pop, env, guaranteed);
    this.functions[pop.index]?.deliver(at, env, guaranteed);
  }

  /** [FN-SIM-3] A function's last failure, published on its dead-letter topic from its broker. */
  private deadLetter(p: Population, now: number, env: Envelope, guaranteed: boolean, attempts: number): boolean {
    const node = this.byId.get(p.broker) as Node;
    const topic = p.fn?.deadLetter ?? null;
    if (!node.alive || topic === null) return false;
    const headers: Headers = { ...env.headers, fnattempts: attempts, fntopic: env.topic };
    const input: PublishInput = { id: `${env.id}/dead-letter`, source: env.source, type: env.type, topic, headers, payload: env.payload, publishedAtMs: now, guaranteed, principal: INTERNAL };
    const r = node.broker.handlePublish(now, input);
    if (r !== 'accepted') return false;
    this.accounts.expected += this.demand.demand(input);
    this.published++;
    this.series.publishedNow++;
    return true;
  }

  private onConsumed(now: number, pi: number): void {
    if (this.consumeAt[pi] !== now) return;
    this.consumeAt[pi] = NaN;
    const p = this.populations[pi] as Population;
    const node = this.byId.get(p.broker) as Node;
    const sub = this.subs[pi];
    if (!node.alive || sub === undefined) return;
    node.broker.handleConsumed(now, sub);
  }

  private regionIndexOf(id: BrokerId): number {
    return this.byId.get(id)?.regionIndex ?? -1;
  }

  /**
   * Kernel events this thread ran that another thread runs too: a shipped frame's arrival on its
   * sender's thread, the second ticks on every thread but the first [PAR-3].
   */
  echoes = 0;

  /** A frame arrives on direction `d`: off this thread's wire, or shipped from another [PAR-2]. */
  private onArrive(now: number, arg: number, shipped: Uint8Array | undefined): void {
    // A shipped frame's arg also says how many cuts the link had seen when it left [PAR-2].
    const n = this.directions.length;
    const d = shipped === undefined ? arg : arg % n;
    const dir = this.directions[d] as LinkDirection;
    let bytes = shipped;
    if (bytes !== undefined) {
      // Cut while on the wire: lost, and counted lost by its sender's thread when the cut came.
      if (dir.cuts !== (arg - d) / n) return;
    } else {
      bytes = dir.arrive();
      if (!this.owns(dir.toIndex)) {
        this.echoes++;
        return;
      }
      if (bytes === undefined) return;
    }
    const node = this.nodes[dir.toIndex] as Node;
    if (!node.alive) {
      this.lostFrame(node, 'brokerDown', bytes);
      return;
    }
    node.arrivals++;
    node.driver.handleFrame(now, dir.spec.from, bytes);
  }

  /** [LINK-2] Both ends of direction `d`'s link are told it is connected. */
  private onRelink(now: number, d: number): void {
    const dir = this.directions[d] as LinkDirection;
    (this.byId.get(dir.spec.from) as Node).driver.handleLinkUp(now, dir.spec.to);
    (this.byId.get(dir.spec.to) as Node).driver.handleLinkUp(now, dir.spec.from);
  }

  private onTimer(now: number, i: number): void {
    (this.nodes[i] as Node).driver.handleTimer(now);
  }

  private onPublish(now: number, si: number): void {
    const s = this.streams[si] as PublishStream;
    const node = this.byId.get(s.broker) as Node;
    const input = this.inputs[si] as { id: string; type: string; topic: string; headers: Headers; payload: Uint8Array; publishedAtMs: number; principal: string };
    input.id = `${si}-${s.n}`;
    input.topic = s.topic();
    input.headers = s.headers();
    input.payload = s.nextPayload();
    input.publishedAtMs = now - node.clientOneWayMs;
    let result: PublishResult | 'broker-down' = 'broker-down';
    if (node.alive) {
      const schemas = node.broker.schemas;
      if (!schemas.empty) this.sampleValidation(schemas, input);
      if (s.lastInvalid) this.invalidSent++;
      if (this.published >= this.decisionSkip && this.published % this.decisionSampleEvery === 0) {
        const t0 = performance.now();
        result = node.broker.handlePublish(now, input as PublishInput);
        this.decisionUs.push((performance.now() - t0) * 1000);
      } else {
        result = node.broker.handlePublish(now, input as PublishInput);
      }
      if (result === 'backpressure') this.publishBackpressured++;
      else if (result === 'denied') this.countDenied(input.principal, 'publish', 1);
      else if (result === 'invalid-data') this.invalid++;
      else {
        if (result === 'accepted') this.accounts.expected += this.demand.demand(input as PublishInput);
        this.published++;
        this.series.publishedNow++;
      }
    } else {
      this.rejected++;
    }
    this.observer?.publish(now, s, s.n, input as PublishInput, result);
    s.n++;
    const next = now + s.nextGapMs();
    if (next < s.spec.stopMs && next < this.durationMs) this.kernel.at(next, this.K.publish, si, undefined, node.index);
  }

  /**
   * [SCHEMA-7] Times the schema check of a publish a subject applies to, 1 in decisionSampleEvery
   * after decisionSkip: the broker's own registry, asked without counting (the broker checks it
   * again, counted, in handlePublish).
   */
  private sampleValidation(schemas: SchemaRegistry, input: { topic: string; type: string; headers: Headers; payload: Uint8Array }): void {
    const sample = this.schemaChecked >= this.decisionSkip && this.schemaChecked % this.decisionSampleEvery === 0;
    if (!sample) {
      // Counting the publishes a subject applies to costs the lookup only (memoized per type).
      if (schemas.subjectsApply(input.topic, input.type)) this.schemaChecked++;
      return;
    }
    const t0 = performance.now();
    const n = schemas.validate(input.topic, input.type, input.headers, input.payload, false);
    const us = (performance.now() - t0) * 1000;
    if (n !== 0) {
      this.validationUs.push(us);
      this.schemaChecked++;
    }
  }

  private onSecond(): void {
    this.series.close();
    for (const dir of this.directions) while (dir.perSecondBytes.length < this.series.delivered.length) dir.perSecondBytes.push(0);
    this.nextSecondAt += 1000;
    if (this.nextSecondAt <= this.durationMs) this.kernel.at(this.nextSecondAt, this.K.second, 0);
  }

  // ---- HA ----------------------------------------------------------------------------------

  /** The standby machine starts watching the pair's identity [HA-2]. */
  private watch(pair: HaPair): void {
    const now = this.kernel.now;
    pair.standby = new Standby(
      pair.primary.id,
      this.scenario.routing.takeoverMs,
      {
        setTimer: (atMs) => {
          pair.standbyTimerAt = atMs;
          this.kernel.at(atMs, this.K.standby, pair.index, undefined, pair.primary.index);
        },
        takeover: (at, lastHeardMs) => this.takeover(pair, at, lastHeardMs),
      },
      now,
    );
  }

  private onKeepalive(now: number, pi: number): void {
    const pair = this.pairs[pi] as HaPair;
    const bytes = pair.onLan.shift() as Uint8Array;
    pair.standby?.handleFrame(now, bytes);
  }

  private onStandbyTimer(now: number, pi: number): void {
    const pair = this.pairs[pi] as HaPair;
    if (pair.standbyTimerAt !== now) return;
    pair.standby?.handleTimeout(now);
  }

  private takeover(pair: HaPair, now: number, lastKeepaliveAt: number): void {
    pair.standby = null;
    const node = pair.primary;
    this.control.push({ type: 'takeover', at: now, broker: node.id, backup: pair.backupId, lastKeepaliveAt });
    // The backup machine now answers at the primary's address, with the pair's shared store;
    // clients reconnect to it. The standby role is empty until the old primary machine returns.
    this.boot(node, true);
  }

  // ---- faults -------------------------------------------------------------------------------

  private dirsOf(a: BrokerId, b: BrokerId): [LinkDirection, LinkDirection] {
    return [(this.byId.get(a) as Node).out.get(b) as LinkDirection, (this.byId.get(b) as Node).out.get(a) as LinkDirection];
  }

  /** Cuts a direction: realtime frames on it are lost [NET-3]. */
  private cut(dir: LinkDirection): void {
    const from = this.byId.get(dir.spec.from) as Node;
    dir.setDown((bytes) => this.lostFrame(from, 'linkDown', bytes));
  }

  private onFault(now: number, i: number): void {
    const fault = this.faultSpec(i);
    // [PAR-1] Every thread applies a fault to its own part; one records it.
    if (this.share?.primary !== false) this.control.push({ type: 'fault', at: now, fault, index: i });
    this.faultTotals.push({ index: i, at: now, totals: this.totals() });
    const [a, b] = fault.target as [string, string];
    switch (fault.action) {
      case 'link-down':
      case 'link-up':
        for (const dir of this.dirsOf(a, b)) {
          if (fault.action === 'link-down') this.cut(dir);
          else dir.setUp();
          if (fault.detect === 'notified') this.notify(now, dir, fault.action === 'link-up');
        }
        break;
      case 'crash':
        this.crash(now, a);
        break;
      case 'restart':
        this.restart(a);
        break;
      case 'partition': {
        const regions = new Set(fault.target);
        const dirs: LinkDirection[] = [];
        for (const dir of this.directions) {
          const from = this.byId.get(dir.spec.from) as Node;
          const to = this.byId.get(dir.spec.to) as Node;
          if (regions.has(from.region) !== regions.has(to.region) && dir.up) {
            this.cut(dir);
            dirs.push(dir);
          }
        }
        if (fault.detect === 'notified') for (const dir of dirs) this.notify(now, dir, false);
        this.partitions.set(i, { regions, dirs });
        break;
      }
      case 'heal':
        for (const [pi, part] of this.partitions) {
          if (fault.target.length > 0 && !fault.target.some((r) => part.regions.has(r))) continue;
          for (const dir of part.dirs) dir.setUp();
          if (fault.detect === 'notified') for (const dir of part.dirs) this.notify(now, dir, true);
          this.partitions.delete(pi);
        }
        break;
      case 'degrade': {
        const props = { loss: fault.loss, rttMs: fault.rttMs, jitterMs: fault.jitterMs, bandwidthBps: fault.bandwidthBps };
        for (const dir of this.dirsOf(a, b)) dir.degrade(props);
        if (fault.forMs !== undefined) this.kernel.at(now + fault.forMs, this.K.revert, i);
        break;
      }
      case 'slow-consumer': {
        for (const p of this.slowTargets(fault)) {
          this.rate[p.index] = fault.ratePerSec as number;
          const sub = this.subs[p.index];
          const node = this.byId.get(p.broker) as Node;
          if (sub !== undefined && node.alive && this.owns(node.index)) node.broker.pace(sub, p.queueLimit);
        }
        if (fault.forMs !== undefined) this.kernel.at(now + fault.forMs, this.K.revert, i);
        break;
      }
      default: {
        const never: never = fault.action;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
  }

  /**
   * [LINK-1..2] A notified fault: the sending end of `dir` sees its connection close (or open)
   * at once, as a TCP socket would; each direction tells its own end, so a link tells both.
   */
  private notify(now: number, dir: LinkDirection, up: boolean): void {
    if (!this.owns(dir.fromIndex)) return;
    const driver = (this.byId.get(dir.spec.from) as Node).driver;
    if (up) driver.handleLinkUp(now, dir.spec.to);
    else driver.handleLinkDown(now, dir.spec.to);
  }

  private slowTargets(fault: FaultSpec): Population[] {
    const node = this.byId.get(fault.target[0] as string) as Node;
    return node.populations.filter((p) => fault.pattern === undefined || p.pattern === fault.pattern);
  }

  /** A degrade or slow-consumer fault's `for` has run out. */
  private onRevert(now: number, i: number): void {
    const fault = this.faultSpec(i);
    if (this.share?.primary !== false) this.control.push({ type: 'fault-reverted', at: now, index: i });
    if (fault.action === 'degrade') {
      for (const dir of this.dirsOf(fault.target[0] as string, fault.target[1] as string)) dir.restore();
    } else if (fault.action === 'slow-consumer') {
      for (const p of this.slowTargets(fault)) {
        this.rate[p.index] = p.consumeRatePerSec ?? Infinity;
        // A waiting consumed event was timed at the slow rate; the next one uses the new rate.
      }
    }
  }

  private crash(now: number, id: BrokerId): void {
    const node = this.byId.get(id);
    if (node !== undefined) {
      if (!node.alive) return;
      this.sessionsEnd(node);
      node.driver.stop();
      node.crashedAt = now;
      return;
    }
    // A standby machine.
    const pair = this.pairs.find((p) => p.backupId === id);
    if (pair !== undefined) {
      pair.standbyUp = false;
      pair.standby = null;
    }
  }

  /**
   * [ACCT-1] A broker crashes: its subscribers' sessions end, and with them every delivery they
   * were still owed — copies on their way (realtime on links, guaranteed in any custody) and what
   * waited in its memory (slow subscribers' queues, group backlogs). Counted lost (`crash`) now;
   * a new session that receives one later counts it as a delivery to a new session.
   */
  private sessionsEnd(node: Node): void {
    this.accounts.drop(node.index, 'crash', this.heldWorth(node));
    for (const p of node.populations) this.demand.disconnect(p.index);
  }

  private restart(id: BrokerId): void {
    const node = this.byId.get(id);
    if (node !== undefined) {
      if (!node.alive) {
        this.boot(node, true);
        return;
      }
      // The identity is alive on the backup machine: the old primary machine returns as standby.
      const pair = node.pair;
      if (pair !== undefined && pair.standby === null && this.scenario.mechanisms?.ha !== false) this.watch(pair);
      return;
    }
    const pair = this.pairs.find((p) => p.backupId === id);
    if (pair !== undefined && !pair.standbyUp) {
      pair.standbyUp = true;
      if (pair.primary.alive && this.scenario.mechanisms?.ha !== false) this.watch(pair);
    }
  }
}

/** What a replica's broker does to the world: nothing [PAR-1]. */
const REPLICA_EFFECTS: HostEffects = {
  send: () => {},
  drop: () => {},
  keepalive: () => {},
  deliver: () => {},
  emit: () => {},
  disconnect: () => {},
};

/** [TRACE-1] One hash over the brokers' delivery digests, in broker order. */
export function traceHashOf(brokerDigests: readonly string[]): string {
  const h = createHash('sha256');
  for (const d of brokerDigests) h.update(d);
  return h.digest('hex');
}

function maxRtt(s: Scenario): number {
  let m = 0;
  for (const l of s.links) m = Math.max(m, l.rttMs);
  return m;
}

/** Was `env` published (by stream and number, from its id) before these marks were taken? */
function publishedBefore(env: Envelope, marks: Int32Array): boolean {
  const dash = env.id.indexOf('-');
  const si = Number(env.id.slice(0, dash));
  return Number(env.id.slice(dash + 1)) < (marks[si] ?? 0);
}
