/**
 * The broker: a state machine that is handed time and bytes (sans-IO, after quinn-proto / h11).
 *
 * Inputs are method calls: `start`, `subscribe`, `handlePublish`, `handleFrame`, `handleTimeout`.
 * Effects go out through one interface the host implements, `BrokerHost`: frames to send (bytes
 * from the real codec), deliveries to local subscribers, one timer, and notable events.
 *
 * [FWD-1] One copy per next hop: destinations behind the same neighbor share one frame, which
 *         names them; a transit broker splits the list by its own next hops.
 * [FWD-2] Edge filtering: the publishing broker evaluates each remote subscription's selector
 *         before the WAN; an event no remote selector accepts sends nothing.
 * [FWD-3] Loop guards: a broker that finds itself in an envelope's path drops it; an envelope
 *         with no hops left is not forwarded. Both are counted.
 * [HEL-1] Hellos every helloIntervalMs list the neighbors the sender hears; an adjacency is up
 *         when a neighbor hears us back (two-way), down after deadIntervalMs of silence.
 * [SYNC-1] When an adjacency comes up the two brokers exchange their databases: every advert
 *         they hold and every origin's interest, as resets.
 */
import { decodeFrame, encodeFrame } from './codec/index.ts';
import { FrameKind, type DataFrame, type Frame, type HelloFrame, type InterestFrame, type LinkStateFrame } from './frames.ts';
import { InterestTable, type LocalSubscription, type RemoteInterest } from './interest.ts';
import { LinkStateDb } from './linkstate.ts';
import { parseSelector } from './selector/index.ts';
import { validatePattern, validateTopic } from './topic.ts';
import { UsageError, type BrokerId, type Envelope, type Headers, type Millis } from './types.ts';

export type { LocalSubscription, RemoteInterest } from './interest.ts';

/** How a broker is set up: its neighbors and protocol timers. */
export interface BrokerConfig {
  readonly id: BrokerId;
  readonly neighbors: ReadonlyArray<{ readonly id: BrokerId; readonly cost: number }>;
  readonly helloIntervalMs: Millis;
  readonly deadIntervalMs: Millis;
  readonly hopLimit: number;
  /** Most interest entries per advert frame (default 4096). */
  readonly interestChunk?: number;
}

/** Something worth telling the host about (rare: control-plane changes and errors). */
export type BrokerEvent =
  | { readonly type: 'neighbor-up'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'neighbor-down'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'routes-changed'; readonly at: Millis; readonly broker: BrokerId; readonly routes: ReadonlyArray<readonly [BrokerId, BrokerId]> }
  | { readonly type: 'protocol-error'; readonly at: Millis; readonly broker: BrokerId; readonly from: BrokerId; readonly reason: string }
  | { readonly type: 'interest-gap'; readonly at: Millis; readonly broker: BrokerId; readonly origin: BrokerId; readonly expected: number; readonly got: number };

/** The effects a broker asks of its host. */
export interface BrokerHost {
  /** Put these bytes (one encoded frame) on the link to neighbor `to`. */
  send(to: BrokerId, bytes: Uint8Array, kind: FrameKind): void;
  /** Hand an event to a local subscription population (`sub.count` subscribers). */
  deliver(sub: LocalSubscription, env: Envelope, now: Millis): void;
  /** Call `handleTimeout` at `atMs`. One timer: a new request replaces the previous one. */
  setTimer(atMs: Millis): void;
  emit(event: BrokerEvent): void;
}

/** What a client publishes; the broker adds path and hop limit. */
export interface PublishInput {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly topic: string;
  readonly headers: Headers;
  readonly payload: Uint8Array;
  readonly publishedAtMs: Millis;
}

export type PublishResult = 'accepted' | 'invalid-topic';

/** Counters; plain numbers so the host can read them at any time. */
export interface BrokerStats {
  published: number;
  /** Deliveries to local subscription populations (one per population). */
  deliveries: number;
  /** Deliveries counted per subscriber (population deliveries × count). */
  subscriberDeliveries: number;
  dataFramesSent: number;
  dataFramesReceived: number;
  droppedLoop: number;
  droppedHopLimit: number;
  droppedNoRoute: number;
  /** Events that matched a remote pattern but no remote selector, so stayed home [FWD-2]. */
  filteredAtEdge: number;
  protocolErrors: number;
  interestGaps: number;
}

interface Neighbor {
  readonly id: BrokerId;
  readonly cost: number;
  /** Heard a hello within the dead interval. */
  hearing: boolean;
  /** Two-way adjacency established. */
  up: boolean;
  lastHeardMs: Millis;
}

const DEFAULT_INTEREST_CHUNK = 4096;
/** Scratch arrays are cleared once they hold more than this many stale entries. */
const SCRATCH_CLEAR = 256;

export class Broker {
  readonly id: BrokerId;
  readonly stats: BrokerStats = {
    published: 0, deliveries: 0, subscriberDeliveries: 0, dataFramesSent: 0, dataFramesReceived: 0,
    droppedLoop: 0, droppedHopLimit: 0, droppedNoRoute: 0, filteredAtEdge: 0, protocolErrors: 0, interestGaps: 0,
  };
  readonly interest: InterestTable;
  readonly lsdb: LinkStateDb;
  private readonly neighbors = new Map<BrokerId, Neighbor>();
  private readonly selfPath: readonly BrokerId[];
  private lsSeq = 0;
  private nextHelloAt = Infinity;
  private armedAt = Infinity;
  private started = false;
  // Scratch space reused by every publish (no per-event allocation on the hot path).
  private readonly localScratch: LocalSubscription[] = [];
  private readonly remoteScratch: RemoteInterest[] = [];
  private readonly destScratch: BrokerId[] = [];
  private marks = new Int32Array(16);
  private stamp = 0;

  constructor(readonly config: BrokerConfig, private readonly host: BrokerHost) {
    if (config.deadIntervalMs <= config.helloIntervalMs) {
      throw new UsageError(`deadIntervalMs (${config.deadIntervalMs}) must exceed helloIntervalMs (${config.helloIntervalMs})`);
    }
    if (!(config.hopLimit >= 1 && config.hopLimit <= 255)) throw new UsageError(`hopLimit must be 1..255, got ${config.hopLimit}`);
    this.id = config.id;
    this.selfPath = Object.freeze([config.id]);
    this.interest = new InterestTable(config.id);
    this.lsdb = new LinkStateDb(config.id);
    for (const n of config.neighbors) {
      if (n.id === config.id) throw new UsageError(`broker ${config.id} lists itself as a neighbor`);
      this.neighbors.set(n.id, { id: n.id, cost: n.cost, hearing: false, up: false, lastHeardMs: -Infinity });
    }
  }

  /** Begins the protocol: first advert, first hellos. */
  start(now: Millis): void {
    if (this.started) throw new UsageError(`broker ${this.id} already started`);
    this.started = true;
    this.originateAdvert(now);
    this.sendHellos();
    this.nextHelloAt = now + this.config.helloIntervalMs;
    this.armTimer(this.nextDeadline(now));
  }

  /** Adds a population of `count` identical local subscribers. Throws UsageError on a bad pattern or filter. */
  subscribe(now: Millis, pattern: string, filter: string | null, count: number, tag?: unknown): LocalSubscription {
    const bad = validatePattern(pattern);
    if (bad !== null) throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: ${bad}`);
    if (!(count >= 1)) throw new UsageError(`count must be >= 1, got ${count}`);
    const selector = filter === null ? null : parseSelector(filter);
    const sub = this.interest.subscribe(pattern, filter, selector, count, tag);
    if (this.interest.hasPending) this.armTimer(now);
    return sub;
  }

  unsubscribe(now: Millis, sub: LocalSubscription): boolean {
    const removed = this.interest.unsubscribe(sub);
    if (this.interest.hasPending) this.armTimer(now);
    return removed;
  }

  /** A client publishes an event to this broker. */
  handlePublish(now: Millis, input: PublishInput): PublishResult {
    if (validateTopic(input.topic) !== null) return 'invalid-topic';
    this.stats.published++;
    const env: Envelope = {
      id: input.id, source: input.source, type: input.type, specversion: '1.0', topic: input.topic,
      headers: input.headers, payload: input.payload, publishedAtMs: input.publishedAtMs,
      path: this.selfPath, hopLimit: this.config.hopLimit,
    };
    this.deliverLocal(now, env);
    this.forwardFromOrigin(env);
    return 'accepted';
  }

  /** Bytes arrived from neighbor `from` (one encoded frame). */
  handleFrame(now: Millis, from: BrokerId, bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.protocolError(now, from, `${decoded.error.reason} at byte ${decoded.error.offset}`);
      return;
    }
    const frame: Frame = decoded.frame;
    switch (frame.kind) {
      case FrameKind.Data: this.handleData(now, frame); break;
      case FrameKind.Hello: this.handleHello(now, from, frame); break;
      case FrameKind.LinkState: this.handleAdvert(now, from, frame, bytes); break;
      case FrameKind.Interest: this.handleInterest(now, from, frame, bytes); break;
      default: {
        const never: never = frame;
        this.protocolError(now, from, `unknown frame ${String(never)}`);
      }
    }
  }

  /** The timer the host armed has fired. */
  handleTimeout(now: Millis): void {
    this.armedAt = Infinity;
    if (!this.started) return;
    if (now >= this.nextHelloAt) {
      this.sendHellos();
      while (this.nextHelloAt <= now) this.nextHelloAt += this.config.helloIntervalMs;
    }
    let lost = false;
    for (const n of this.neighbors.values()) {
      if (n.hearing && now - n.lastHeardMs >= this.config.deadIntervalMs) {
        n.hearing = false;
        if (n.up) {
          n.up = false;
          lost = true;
          this.host.emit({ type: 'neighbor-down', at: now, broker: this.id, neighbor: n.id });
        }
      }
    }
    if (lost) this.originateAdvert(now);
    this.flushInterest();
    this.armTimer(this.nextDeadline(now));
  }

  /** Neighbors with an established adjacency, in configuration order. */
  upNeighbors(): BrokerId[] {
    const out: BrokerId[] = [];
    for (const n of this.neighbors.values()) if (n.up) out.push(n.id);
    return out;
  }

  // ---- data plane -------------------------------------------------------------------------

  private deliverLocal(now: Millis, env: Envelope): void {
    // Scratch arrays are appended to and only cleared when they grow: setting `length` on every
    // publish showed up in profiles.
    const subs = this.localScratch;
    if (subs.length > SCRATCH_CLEAR) subs.length = 0;
    const base = subs.length;
    const end = base + this.interest.local.match(env.topic, subs);
    for (let i = base; i < end; i++) {
      const sub = subs[i] as LocalSubscription;
      if (sub.selector !== null && !sub.selector.matches(env.headers)) continue;
      this.stats.deliveries++;
      this.stats.subscriberDeliveries += sub.count;
      this.host.deliver(sub, env, now);
    }
  }

  private forwardFromOrigin(env: Envelope): void {
    const matches = this.remoteScratch;
    if (matches.length > SCRATCH_CLEAR) matches.length = 0;
    const base = matches.length;
    const end = base + this.interest.remote.match(env.topic, matches);
    if (end === base) return;
    if (this.marks.length < this.interest.knownBrokers) this.marks = new Int32Array(this.interest.knownBrokers * 2);
    const stamp = ++this.stamp;
    const dests = this.destScratch;
    dests.length = 0;
    for (let i = base; i < end; i++) {
      const r = matches[i] as RemoteInterest;
      if (this.marks[r.originIdx] === stamp) continue;
      if (r.selector !== null && !r.selector.matches(env.headers)) continue;
      this.marks[r.originIdx] = stamp;
      dests.push(r.origin);
    }
    if (dests.length === 0) {
      this.stats.filteredAtEdge++;
      return;
    }
    this.sendToDests(env, dests);
  }

  private handleData(now: Millis, frame: DataFrame): void {
    this.stats.dataFramesReceived++;
    const env = frame.envelope;
    if (env.path.includes(this.id)) {
      this.stats.droppedLoop++;
      return;
    }
    let onward: BrokerId[] | undefined;
    for (const d of frame.dests) {
      if (d === this.id) this.deliverLocal(now, env);
      else (onward ??= []).push(d);
    }
    if (onward === undefined) return;
    this.sendToDests({ ...env, path: [...env.path, this.id] }, onward);
  }

  /** Groups destinations by next hop and sends one frame per hop [FWD-1][FWD-3]. */
  private sendToDests(env: Envelope, dests: readonly BrokerId[]): void {
    if (env.hopLimit <= 0) {
      this.stats.droppedHopLimit += dests.length;
      return;
    }
    const out: Envelope = { ...env, hopLimit: env.hopLimit - 1 };
    if (dests.length === 1) {
      const d = dests[0] as BrokerId;
      const hop = this.lsdb.nextHop(d);
      if (hop === undefined) this.stats.droppedNoRoute++;
      else this.sendData(hop, [d], out);
      return;
    }
    const byHop = new Map<BrokerId, BrokerId[]>();
    for (const d of dests) {
      const hop = this.lsdb.nextHop(d);
      if (hop === undefined) {
        this.stats.droppedNoRoute++;
        continue;
      }
      const list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, [d]);
      else list.push(d);
    }
    for (const [hop, list] of byHop) this.sendData(hop, list, out);
  }

  private sendData(hop: BrokerId, dests: readonly BrokerId[], envelope: Envelope): void {
    this.stats.dataFramesSent++;
    this.host.send(hop, encodeFrame({ kind: FrameKind.Data, dests, envelope }), FrameKind.Data);
  }

  // ---- control plane ----------------------------------------------------------------------

  /** A hello listing the neighbors we hear (the two-way check of [HEL-1]). */
  private helloBytes(): Uint8Array {
    const heard: BrokerId[] = [];
    for (const n of this.neighbors.values()) if (n.hearing) heard.push(n.id);
    return encodeFrame({ kind: FrameKind.Hello, from: this.id, helloIntervalMs: this.config.helloIntervalMs, deadIntervalMs: this.config.deadIntervalMs, heard });
  }

  private sendHellos(): void {
    const bytes = this.helloBytes();
    for (const n of this.neighbors.values()) this.host.send(n.id, bytes, FrameKind.Hello);
  }

  private handleHello(now: Millis, from: BrokerId, frame: HelloFrame): void {
    const n = this.neighbors.get(from);
    if (n === undefined || frame.from !== from) {
      this.protocolError(now, from, `hello from ${frame.from}, which is not a configured neighbor on this link`);
      return;
    }
    const wasHearing = n.hearing;
    n.hearing = true;
    n.lastHeardMs = now;
    const twoWay = frame.heard.includes(this.id);
    // Answer a new voice at once, so an adjacency forms in one round trip, not one interval.
    if (!wasHearing) this.sendHelloTo(from);
    if (twoWay && !n.up) {
      n.up = true;
      this.host.emit({ type: 'neighbor-up', at: now, broker: this.id, neighbor: from });
      this.originateAdvert(now);
      this.exchangeDatabase(from);
    } else if (!twoWay && n.up) {
      // The neighbor no longer hears us (it restarted): the adjacency is gone until it does.
      n.up = false;
      this.host.emit({ type: 'neighbor-down', at: now, broker: this.id, neighbor: from });
      this.originateAdvert(now);
    }
    this.armTimer(this.nextDeadline(now));
  }

  private sendHelloTo(to: BrokerId): void {
    this.host.send(to, this.helloBytes(), FrameKind.Hello);
  }

  /** [SYNC-1] */
  private exchangeDatabase(to: BrokerId): void {
    // Deltas not yet sent go to the others first; `to` gets them inside the snapshot.
    this.flushInterest(to);
    for (const advert of this.lsdb.all()) {
      this.host.send(to, encodeFrame({ kind: FrameKind.LinkState, origin: advert.origin, seq: advert.seq, neighbors: advert.neighbors }), FrameKind.LinkState);
    }
    if (this.interest.ownSequence > 0) this.sendInterest(to, this.interest.ownSnapshot(false));
    for (const origin of this.interest.knownOrigins()) {
      const snap = this.interest.originSnapshot(origin);
      if (snap !== undefined) this.sendInterest(to, snap);
    }
  }

  private originateAdvert(now: Millis): void {
    const neighbors = [];
    for (const n of this.neighbors.values()) if (n.up) neighbors.push({ id: n.id, cost: n.cost });
    const frame: LinkStateFrame = { kind: FrameKind.LinkState, origin: this.id, seq: ++this.lsSeq, neighbors };
    this.lsdb.offer(frame);
    this.flood(encodeFrame(frame), FrameKind.LinkState, undefined);
    this.recompute(now);
  }

  private handleAdvert(now: Millis, from: BrokerId, frame: LinkStateFrame, bytes: Uint8Array): void {
    if (frame.origin === this.id) {
      // Our own advert from an earlier life: jump past it and advertise the truth. An equal
      // sequence is our current advert flooded back to us around a cycle: ignore it, or every
      // echo would start a new round of flooding.
      if (frame.seq > this.lsSeq) {
        this.lsSeq = frame.seq;
        this.originateAdvert(now);
      }
      return;
    }
    if (this.lsdb.offer(frame) === 'newer') {
      this.flood(bytes, FrameKind.LinkState, from);
      this.recompute(now);
    }
  }

  private handleInterest(now: Millis, from: BrokerId, frame: InterestFrame, bytes: Uint8Array): void {
    if (frame.origin === this.id) {
      // As for adverts: only a higher sequence is an earlier life's; an equal one is an echo.
      if (frame.seq > this.interest.ownSequence) {
        this.interest.bumpOwnSequence(frame.seq);
        this.flood(encodeFrame(this.interest.ownSnapshot(true)), FrameKind.Interest, undefined);
      }
      return;
    }
    const result = this.interest.apply(frame);
    switch (result.kind) {
      case 'applied': this.flood(bytes, FrameKind.Interest, from); break;
      case 'stale': break;
      case 'gap':
        this.stats.interestGaps++;
        this.host.emit({ type: 'interest-gap', at: now, broker: this.id, origin: frame.origin, expected: result.expected, got: frame.seq });
        break;
      case 'bad-entry': this.protocolError(now, from, result.reason); break;
      default: {
        const never: never = result;
        throw new UsageError(`unhandled interest result ${String(never)}`);
      }
    }
  }

  private flushInterest(except?: BrokerId): void {
    if (!this.interest.hasPending) return;
    for (const frame of this.interest.takeDeltas(this.config.interestChunk ?? DEFAULT_INTEREST_CHUNK)) {
      this.flood(encodeFrame(frame), FrameKind.Interest, except);
    }
  }

  private sendInterest(to: BrokerId, frame: InterestFrame): void {
    this.host.send(to, encodeFrame(frame), FrameKind.Interest);
  }

  private flood(bytes: Uint8Array, kind: FrameKind, except: BrokerId | undefined): void {
    for (const n of this.neighbors.values()) if (n.up && n.id !== except) this.host.send(n.id, bytes, kind);
  }

  private recompute(now: Millis): void {
    if (this.lsdb.computeRoutes()) this.host.emit({ type: 'routes-changed', at: now, broker: this.id, routes: this.lsdb.routes() });
  }

  private nextDeadline(now: Millis): Millis {
    let t = this.nextHelloAt;
    for (const n of this.neighbors.values()) if (n.hearing) t = Math.min(t, n.lastHeardMs + this.config.deadIntervalMs);
    return Math.max(t, now);
  }

  private armTimer(at: Millis): void {
    if (at < this.armedAt) {
      this.armedAt = at;
      this.host.setTimer(at);
    }
  }

  private protocolError(now: Millis, from: BrokerId, reason: string): void {
    this.stats.protocolErrors++;
    this.host.emit({ type: 'protocol-error', at: now, broker: this.id, from, reason });
  }
}
