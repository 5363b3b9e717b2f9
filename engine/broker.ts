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
 * [SYNC-2] A broker in its second or later life (a restart, an HA takeover) also asks each
 *         neighbor it comes up with for the neighbor's database (a SyncRequest naming itself):
 *         a neighbor that never saw it go — it came back within the dead interval, its first
 *         hellos lost on a cut link — still has the adjacency up and would not exchange, and
 *         the restarted broker would never learn that neighbor's adverts (found by explore).
 * [SYNC-3] A neighbor up for a dead interval whose advert (as we hold it) does not list us had
 *         its flood or database exchange lost on the way — a cut shorter than the dead interval
 *         loses what is on the wire and neither side notices — so we ask it for its database
 *         again (at most once a dead interval). Found by explore: a backup that took over and
 *         lost its neighbor's exchange to a 430 ms cut never had a route back.
 * [INT-4] A gap in an origin's interest sequence asks the neighbor it came from for a reset.
 *
 * Guaranteed delivery (seed 002's failure scenarios), in the modules named:
 * [REL-1..3] per-link sequencing, acks and retransmission (reliable.ts);
 * [DEDUP-1] the dedup ledger at the destination (ledger.ts);
 * [ORD-1..2] per (origin, destination) sequence numbers and the destination's resequencer
 *         (durable.ts), so each origin's events reach subscribers in publish order whatever path
 *         or retry carried them;
 * [SPOOL-1] the spool, when no path exists (spool.ts); [SLOW-1..3] slow consumers (consumer.ts);
 * [HA-1] keep-alives to an HA backup (ha.ts).
 * A broker's spool, custody, ledger and sequence numbers live in a `DurableState` the host keeps
 * across crashes (the seed's disk-backed spool).
 */
import { decodeFrame, encodeFrame } from './codec/index.ts';
import { ConsumerQueue } from './consumer.ts';
import { DurableState } from './durable.ts';
import { FrameKind, type AckFrame, type DataFrame, type Frame, type GuaranteedFrame, type HelloFrame, type InterestFrame, type LinkStateFrame } from './frames.ts';
import type { Pending } from './reliable.ts';
import { InterestTable, receivers, type LocalSubscription, type RemoteInterest } from './interest.ts';
import { LinkStateDb } from './linkstate.ts';
import { parseSelector } from './selector/index.ts';
import { validatePattern, validateTopic } from './topic.ts';
import { UsageError, type BrokerId, type Envelope, type Headers, type Millis } from './types.ts';
import { Inbox } from './reliable.ts';
import { heldBytes } from './spool.ts';
import { groupKey, isShared, parseShared, ShareGroup, validateShared } from './share.ts';

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
  /** Guaranteed delivery: first RTO before any RTT sample (default 200 ms). */
  readonly retransmitMs?: Millis;
  /** Ack batching delay (default 2 ms). */
  readonly ackDelayMs?: Millis;
  /** Dedup ledger TTL (default 15 min, seed 002). */
  readonly ledgerTtlMs?: Millis;
  /** Spool limit in bytes (default 50 GB, seed 002). */
  readonly spoolBytes?: number;
  /**
   * Mechanisms switched off, to prove a test catches their absence (all on by default):
   * reroute (never declare a silent neighbor dead), spool (drop what has no path),
   * dedup (deliver retries again, in arrival order), isolation (unbounded subscriber queues).
   */
  readonly disable?: { readonly reroute?: boolean; readonly spool?: boolean; readonly dedup?: boolean; readonly isolation?: boolean };
  /** HA: the backup to send keep-alives to, every keepaliveMs [HA-1]. */
  readonly backup?: BrokerId;
  readonly keepaliveMs?: Millis;
}

export const GUARANTEED_DEFAULTS = { retransmitMs: 200, ackDelayMs: 2, ledgerTtlMs: 15 * 60_000, spoolBytes: 50e9, keepaliveMs: 100 } as const;

/** A durable store sized from a broker config (the host creates it once and keeps it across crashes). */
export function durableFor(config: BrokerConfig): DurableState {
  return new DurableState({
    ledgerTtlMs: config.ledgerTtlMs ?? GUARANTEED_DEFAULTS.ledgerTtlMs,
    spoolBytes: config.spoolBytes ?? GUARANTEED_DEFAULTS.spoolBytes,
    retransmitMs: config.retransmitMs ?? GUARANTEED_DEFAULTS.retransmitMs,
  });
}

/** Something worth telling the host about (rare: control-plane changes and errors). */
export type BrokerEvent =
  | { readonly type: 'neighbor-up'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'neighbor-down'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'routes-changed'; readonly at: Millis; readonly broker: BrokerId; readonly routes: ReadonlyArray<readonly [BrokerId, BrokerId]> }
  | { readonly type: 'protocol-error'; readonly at: Millis; readonly broker: BrokerId; readonly from: BrokerId; readonly reason: string }
  | { readonly type: 'interest-gap'; readonly at: Millis; readonly broker: BrokerId; readonly origin: BrokerId; readonly expected: number; readonly got: number }
  | { readonly type: 'spool-drained'; readonly at: Millis; readonly broker: BrokerId; readonly events: number };

/**
 * Why a delivery was lost [ACCT-1]. Every (event, interested subscriber) pair ends delivered,
 * dropped for one of these causes (or, in the host's world, lost on a link or with a crashed
 * broker), or still held somewhere when the run ends.
 * noRoute: a realtime copy with no path to its destination broker; loop: a realtime copy back at
 * a broker already in its path; hopLimit: no hops left; slowConsumer: a slow subscriber's realtime
 * event evicted or refused [SLOW-1]; spoolFull: a guaranteed event with no room to wait [SLOW-2].
 */
export type DropCause = 'noRoute' | 'loop' | 'hopLimit' | 'slowConsumer' | 'spoolFull';

/** The effects a broker asks of its host. */
export interface BrokerHost {
  /** Put these bytes (one encoded frame) on the link to neighbor `to`. */
  send(to: BrokerId, bytes: Uint8Array, kind: FrameKind): void;
  /**
   * Hand an event to a local subscription population (`receivers(sub)` subscribers: all of them,
   * or one member of a consumer group). For a paced subscription the host calls
   * `handleConsumed` when its clients have consumed it.
   */
  deliver(sub: LocalSubscription, env: Envelope, now: Millis, guaranteed: boolean): void;
  /** Call `handleTimeout` at `atMs`. One timer: a new request replaces the previous one. */
  setTimer(atMs: Millis): void;
  emit(event: BrokerEvent): void;
  /**
   * [ACCT-1] A copy of `env` was dropped: bound for the remote brokers `dests`, or for the local
   * subscription `sub` (exactly one of the two is non-null). Rare; the host may weigh it in
   * subscribers (the simulator asks each destination how many of its subscribers wanted it).
   */
  drop(cause: DropCause, env: Envelope, dests: readonly BrokerId[] | null, sub: LocalSubscription | null): void;
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
  /** Delivery class: guaranteed (sequenced, acknowledged, spooled) or realtime (default). */
  readonly guaranteed?: boolean;
}

/** 'backpressure': a guaranteed event that would need spool space the broker does not have [SPOOL-1]. */
export type PublishResult = 'accepted' | 'invalid-topic' | 'backpressure';

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
  /** Guaranteed frames sent again after a timeout or a lost adjacency [REL-3]. */
  retransmitted: number;
  /** Guaranteed events spooled for lack of a path [SPOOL-1]. */
  spooled: number;
  /** Guaranteed events a slow subscriber's queue overflowed into the spool [SLOW-2]. */
  spooledSlow: number;
  /** Retries discarded by the dedup ledger or the resequencer [DEDUP-1]. */
  duplicatesSuppressed: number;
  /** Guaranteed publishes refused for lack of spool space. */
  backpressured: number;
  /** Guaranteed frames not acknowledged because the spool was full (the sender keeps them). */
  refusedSpoolFull: number;
  /** Realtime events a slow subscriber lost (oldest evicted, or newest dropped) [SLOW-1]. */
  droppedSlowConsumer: number;
  /** Guaranteed events a slow subscriber lost because the spool was full [SLOW-2]. */
  droppedSpoolFull: number;
  acksSent: number;
  acksReceived: number;
}

interface Neighbor {
  readonly id: BrokerId;
  readonly cost: number;
  /** Heard a hello within the dead interval. */
  hearing: boolean;
  /** Two-way adjacency established. */
  up: boolean;
  lastHeardMs: Millis;
  /** When the adjacency last came up, and when we last asked for the neighbor's database [SYNC-3]. */
  upSinceMs: Millis;
  syncAskedMs: Millis;
}

const DEFAULT_INTEREST_CHUNK = 4096;
/** Scratch arrays are cleared once they hold more than this many stale entries. */
const SCRATCH_CLEAR = 256;

export class Broker {
  readonly id: BrokerId;
  readonly stats: BrokerStats = {
    published: 0, deliveries: 0, subscriberDeliveries: 0, dataFramesSent: 0, dataFramesReceived: 0,
    droppedLoop: 0, droppedHopLimit: 0, droppedNoRoute: 0, filteredAtEdge: 0, protocolErrors: 0, interestGaps: 0,
    retransmitted: 0, spooled: 0, spooledSlow: 0, duplicatesSuppressed: 0, backpressured: 0, refusedSpoolFull: 0,
    droppedSlowConsumer: 0, droppedSpoolFull: 0, acksSent: 0, acksReceived: 0,
  };
  readonly durable: DurableState;
  readonly interest: InterestTable;
  readonly lsdb: LinkStateDb;
  private readonly neighbors = new Map<BrokerId, Neighbor>();
  private readonly selfPath: readonly BrokerId[];
  private lsSeq: number;
  private nextHelloAt = Infinity;
  private nextKeepaliveAt = Infinity;
  private keepaliveSeq = 0;
  private readonly inboxes = new Map<BrokerId, Inbox>();
  private readonly ackDelayMs: Millis;
  private armedAt = Infinity;
  private started = false;
  /** [SYNC-2] An earlier life used this broker's durable state. */
  private readonly restarted: boolean;
  // Scratch space reused by every publish (no per-event allocation on the hot path).
  private readonly localScratch: LocalSubscription[] = [];
  /** Consumer groups on this broker, by groupKey [SHARE-1]. */
  private readonly groups = new Map<string, ShareGroup>();
  /** Numbers each local match, so a group serves one member per event. */
  private shareStamp = 0;
  private readonly remoteScratch: RemoteInterest[] = [];
  private readonly destScratch: BrokerId[] = [];
  private marks = new Int32Array(16);
  private stamp = 0;

  constructor(readonly config: BrokerConfig, private readonly host: BrokerHost, durable?: DurableState) {
    if (config.deadIntervalMs <= config.helloIntervalMs) {
      throw new UsageError(`deadIntervalMs (${config.deadIntervalMs}) must exceed helloIntervalMs (${config.helloIntervalMs})`);
    }
    if (!(config.hopLimit >= 1 && config.hopLimit <= 255)) throw new UsageError(`hopLimit must be 1..255, got ${config.hopLimit}`);
    this.id = config.id;
    this.selfPath = Object.freeze([config.id]);
    this.interest = new InterestTable(config.id);
    this.lsdb = new LinkStateDb(config.id);
    this.durable = durable ?? durableFor(config);
    this.ackDelayMs = config.ackDelayMs ?? GUARANTEED_DEFAULTS.ackDelayMs;
    // Sequences continue from an earlier life, so nothing we say now looks older than what the
    // mesh remembers of us.
    this.lsSeq = this.durable.lsSeq;
    this.restarted = this.durable.lsSeq > 0;
    this.interest.bumpOwnSequence(this.durable.interestSeq);
    // [DUR-1] Other origins' interest as the last life knew it (the exchange corrects it later).
    const last = this.durable.interest;
    if (last !== undefined) {
      for (const origin of last.knownOrigins()) {
        const snap = last.originSnapshot(origin);
        if (snap !== undefined) this.interest.apply(snap);
      }
    }
    this.durable.interest = this.interest;
    for (const n of config.neighbors) {
      if (n.id === config.id) throw new UsageError(`broker ${config.id} lists itself as a neighbor`);
      this.neighbors.set(n.id, { id: n.id, cost: n.cost, hearing: false, up: false, lastHeardMs: -Infinity, upSinceMs: -Infinity, syncAskedMs: -Infinity });
    }
  }

  /** Begins the protocol: first advert, first hellos. */
  start(now: Millis): void {
    if (this.started) throw new UsageError(`broker ${this.id} already started`);
    this.started = true;
    this.originateAdvert(now);
    this.sendHellos();
    this.nextHelloAt = now + this.config.helloIntervalMs;
    if (this.config.backup !== undefined) {
      this.sendKeepalive();
      this.nextKeepaliveAt = now + (this.config.keepaliveMs ?? GUARANTEED_DEFAULTS.keepaliveMs);
    }
    // Custody from an earlier life: everything unacknowledged waits in the spool for routes.
    for (const [, outbox] of this.durable.outboxes) this.spoolPending(outbox.takeAll());
    this.armTimer(this.nextDeadline(now));
  }

  /** Adds a population of `count` identical local subscribers. Throws UsageError on a bad pattern or filter. */
  subscribe(now: Millis, pattern: string, filter: string | null, count: number, tag?: unknown): LocalSubscription {
    const shared = parseShared(pattern);
    const bad = isShared(pattern) ? validateShared(pattern) : validatePattern(pattern);
    if (bad !== null) throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: ${bad}`);
    if (!(count >= 1)) throw new UsageError(`count must be >= 1, got ${count}`);
    const selector = filter === null ? null : parseSelector(filter);
    // [SHARE-4] A group member is advertised and matched by its bare pattern.
    const sub = this.interest.subscribe(shared === null ? pattern : shared.pattern, filter, selector, count, tag);
    if (shared !== null) {
      const key = groupKey(shared.group, shared.pattern, filter);
      let group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, (group = new ShareGroup(key, shared.group)));
      group.add(sub);
      sub.share = group;
    }
    if (this.interest.hasPending) this.armTimer(now);
    return sub;
  }

  unsubscribe(now: Millis, sub: LocalSubscription): boolean {
    const removed = this.interest.unsubscribe(sub);
    if (removed && sub.share !== null && sub.share.remove(sub)) {
      this.groups.delete(sub.share.key);
      // Nobody is left to take what the group held: release its spool bytes.
      for (let e = sub.share.takeHeld(); e !== undefined; e = sub.share.takeHeld()) this.durable.spool.externalBytes -= e.bytes;
    }
    if (this.interest.hasPending) this.armTimer(now);
    return removed;
  }

  /** A client publishes an event to this broker. */
  handlePublish(now: Millis, input: PublishInput): PublishResult {
    if (validateTopic(input.topic) !== null) return 'invalid-topic';
    const env: Envelope = {
      id: input.id, source: input.source, type: input.type, specversion: '1.0', topic: input.topic,
      headers: input.headers, payload: input.payload, publishedAtMs: input.publishedAtMs,
      path: this.selfPath, hopLimit: this.config.hopLimit,
    };
    if (input.guaranteed !== true) {
      this.stats.published++;
      this.deliverLocal(now, env, false);
      const dests = this.remoteDests(env);
      if (dests !== undefined) this.sendToDests(env, dests);
      return 'accepted';
    }
    // Guaranteed: refuse up front what we could not hold, so nothing is accepted then lost.
    const dests = this.remoteDests(env);
    const bytes = heldBytes(env);
    // [SPOOL-2] Each remote destination takes custody bytes, sent (in flight until acked) or spooled.
    let need = dests === undefined ? 0 : bytes * dests.length;
    need += this.localOverflowBytes(env, bytes);
    if (need > 0 && !this.durable.spool.hasRoom(need)) {
      this.stats.backpressured++;
      return 'backpressure';
    }
    this.stats.published++;
    this.deliverLocal(now, env, true);
    if (dests === undefined) return 'accepted';
    const seqs: number[] = new Array(dests.length);
    for (let i = 0; i < dests.length; i++) seqs[i] = this.durable.nextSeqFor(dests[i] as BrokerId);
    if (env.hopLimit <= 0) {
      this.stats.droppedHopLimit += dests.length;
      this.host.drop('hopLimit', env, dests.slice(), null);
      return 'accepted';
    }
    this.routeGuaranteed(now, { ...env, hopLimit: env.hopLimit - 1 }, dests.slice(), seqs, 0, 0);
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
      case FrameKind.Guaranteed: this.handleGuaranteed(now, from, frame); break;
      case FrameKind.Ack: this.handleAck(now, from, frame); break;
      case FrameKind.Hello: this.handleHello(now, from, frame); break;
      case FrameKind.LinkState: this.handleAdvert(now, from, frame, bytes); break;
      case FrameKind.Interest: this.handleInterest(now, from, frame, bytes); break;
      case FrameKind.SyncRequest: this.handleSyncRequest(from, frame.origin); break;
      case FrameKind.KeepAlive: this.protocolError(now, from, 'keep-alive sent to a broker, not to its standby'); break;
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
    if (now >= this.nextKeepaliveAt) {
      this.sendKeepalive();
      const every = this.config.keepaliveMs ?? GUARANTEED_DEFAULTS.keepaliveMs;
      while (this.nextKeepaliveAt <= now) this.nextKeepaliveAt += every;
    }
    let lost = false;
    for (const n of this.neighbors.values()) {
      // The same sum nextDeadline arms the timer with: `now - lastHeardMs >= dead` can round the
      // other way and leave the timer firing at this instant forever.
      if (n.hearing && now >= n.lastHeardMs + this.config.deadIntervalMs && this.config.disable?.reroute !== true) {
        n.hearing = false;
        if (n.up) {
          n.up = false;
          lost = true;
          this.host.emit({ type: 'neighbor-down', at: now, broker: this.id, neighbor: n.id });
        }
      }
    }
    if (lost) {
      this.originateAdvert(now);
      // [REL-3] what the lost neighbors had not acknowledged takes the new routes (or the spool).
      for (const n of this.neighbors.values()) {
        if (n.up) continue;
        const outbox = this.durable.outboxes.get(n.id);
        if (outbox !== undefined && outbox.pending.size > 0) for (const p of outbox.takeAll()) this.reroute(now, p);
      }
    }
    this.checkNeighborAdverts(now);
    this.flushInterest();
    this.sendDueAcks(now);
    this.retransmitExpired(now);
    this.armTimer(this.nextDeadline(now));
  }

  /** [SYNC-3] Asks a long-up neighbor whose advert does not list us for its database. */
  private checkNeighborAdverts(now: Millis): void {
    const dead = this.config.deadIntervalMs;
    for (const n of this.neighbors.values()) {
      if (!n.up || now < n.upSinceMs + dead || now < n.syncAskedMs + dead) continue;
      const advert = this.lsdb.get(n.id);
      if (advert !== undefined && advert.neighbors.some((x) => x.id === this.id)) continue;
      n.syncAskedMs = now;
      this.host.send(n.id, encodeFrame({ kind: FrameKind.SyncRequest, origin: this.id }), FrameKind.SyncRequest);
    }
  }

  /**
   * A paced subscription's clients consumed the message they were handed [SLOW-1..3]: hand them
   * the next one, moving spooled overflow back into the queue as room appears.
   */
  handleConsumed(now: Millis, sub: LocalSubscription): void {
    const q = sub.consumer;
    if (q === null) return;
    this.durable.spool.externalBytes -= q.refill();
    const next = q.next();
    if (next !== undefined) this.handOver(now, sub, next.env, next.guaranteed);
    if (sub.share !== null) this.pumpBacklog(now, sub.share);
  }

  /**
   * Gives a subscription a bounded queue at this broker (its clients consume at a finite rate;
   * the host reports each message consumed through `handleConsumed`). Idempotent.
   */
  pace(sub: LocalSubscription, queueLimit: number): void {
    if (!(queueLimit >= 1)) throw new UsageError(`queueLimit must be >= 1, got ${queueLimit}`);
    if (sub.consumer === null) sub.consumer = new ConsumerQueue(this.config.disable?.isolation === true ? Infinity : queueLimit);
  }

  /** Events a lagging consumer-group member was skipped for, over this broker's groups [SHARE-3]. */
  groupSharesMoved(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.rebalanced;
    return n;
  }

  /**
   * [ACCT-3] The local subscriptions `env` would reach now (pattern and selector; one member per
   * consumer group), appended to `out`; returns how many. What a copy bound for this broker is
   * worth. A query: nothing changes.
   */
  matchLocal(env: Envelope, out: LocalSubscription[]): number {
    const subs = this.localScratch;
    if (subs.length > SCRATCH_CLEAR) subs.length = 0;
    const base = subs.length;
    const end = base + this.interest.local.match(env.topic, subs);
    let n = 0;
    const stamp = ++this.shareStamp;
    for (let i = base; i < end; i++) {
      const sub = subs[i] as LocalSubscription;
      if (sub.selector !== null && !sub.selector.matches(env.headers)) continue;
      if (sub.share !== null) {
        if (sub.share.servedStamp === stamp) continue;
        sub.share.servedStamp = stamp;
      }
      out.push(sub);
      n++;
    }
    return n;
  }

  /**
   * [ACCT-3] Every event this broker holds and has not yet delivered: slow subscribers' queues and
   * consumer-group backlogs (memory: lost in a crash), and its durable custody — spooled and
   * unacknowledged copies bound for `dest`, and events its resequencers hold for itself. A
   * guaranteed copy can be in two custodies at once (sent, not yet acknowledged): the host dedupes.
   */
  forEachHeld(visit: (env: Envelope, dest: BrokerId | null, sub: LocalSubscription | null) => void): void {
    for (const [, sub] of this.interest.local.entries()) sub.consumer?.forEachWaiting((env) => visit(env, null, sub));
    for (const group of this.groups.values()) {
      const member = group.members[0];
      if (member !== undefined) group.forEachHeld((env) => visit(env, null, member));
    }
    this.forEachCustody(visit);
  }

  /** The durable part of forEachHeld: what survives a crash. */
  forEachCustody(visit: (env: Envelope, dest: BrokerId | null, sub: LocalSubscription | null) => void): void {
    this.durable.spool.forEach((e) => visit(e.env, e.dest, null));
    for (const outbox of this.durable.outboxes.values()) for (const p of outbox.pending.values()) for (const d of p.dests) visit(p.env, d, null);
    for (const r of this.durable.resequencers.values()) for (const env of r.waiting.values()) visit(env, this.id, null);
  }

  /** Neighbors with an established adjacency, in configuration order. */
  upNeighbors(): BrokerId[] {
    const out: BrokerId[] = [];
    for (const n of this.neighbors.values()) if (n.up) out.push(n.id);
    return out;
  }

  // ---- data plane -------------------------------------------------------------------------

  private deliverLocal(now: Millis, env: Envelope, guaranteed: boolean): void {
    // Scratch arrays are appended to and only cleared when they grow: setting `length` on every
    // publish showed up in profiles.
    const subs = this.localScratch;
    if (subs.length > SCRATCH_CLEAR) subs.length = 0;
    const base = subs.length;
    const end = base + this.interest.local.match(env.topic, subs);
    const stamp = ++this.shareStamp;
    for (let i = base; i < end; i++) {
      let sub = subs[i] as LocalSubscription;
      if (sub.selector !== null && !sub.selector.matches(env.headers)) continue;
      const group = sub.share;
      if (group !== null) {
        // [SHARE-1] One member of the group gets it, whichever member the trie found first.
        if (group.servedStamp === stamp) continue;
        group.servedStamp = stamp;
        // [SHARE-5] A guaranteed event waits while every member lags, or behind others waiting.
        if (guaranteed && (group.backlogDepth > 0 || group.allLagging())) {
          this.holdForGroup(now, group, sub, env);
          continue;
        }
        sub = group.pick() as LocalSubscription;
      }
      if (sub.consumer !== null) this.offerPaced(now, sub, sub.consumer, env, guaranteed);
      else this.handOver(now, sub, env, guaranteed);
    }
  }

  /** Counts a delivery to a local subscription and hands it to the host: the one place that does [ACCT-2]. */
  private handOver(now: Millis, sub: LocalSubscription, env: Envelope, guaranteed: boolean): void {
    this.stats.deliveries++;
    this.stats.subscriberDeliveries += receivers(sub);
    this.host.deliver(sub, env, now, guaranteed);
  }

  /** [SHARE-5] Into the group's backlog (charged to the spool), then to any member with room. */
  private holdForGroup(now: Millis, group: ShareGroup, member: LocalSubscription, env: Envelope): void {
    const bytes = heldBytes(env);
    const spool = this.durable.spool;
    if (!spool.hasRoom(bytes)) {
      this.stats.droppedSpoolFull++;
      this.host.drop('spoolFull', env, null, member);
      return;
    }
    group.hold(env, bytes);
    spool.externalBytes += bytes;
    spool.notePeak();
    this.stats.spooledSlow++;
    this.pumpBacklog(now, group);
  }

  /** [SHARE-5] Hands the group's held events, oldest first, to members that do not lag. */
  private pumpBacklog(now: Millis, group: ShareGroup): void {
    while (group.backlogDepth > 0 && !group.allLagging()) {
      const sub = group.pick() as LocalSubscription;
      const e = group.takeHeld() as { readonly env: Envelope; readonly bytes: number };
      this.durable.spool.externalBytes -= e.bytes;
      if (sub.consumer !== null) this.offerPaced(now, sub, sub.consumer, e.env, true);
      else this.handOver(now, sub, e.env, true);
    }
  }

  private offerPaced(now: Millis, sub: LocalSubscription, q: ConsumerQueue, env: Envelope, guaranteed: boolean): void {
    const bytes = heldBytes(env);
    const spool = this.durable.spool;
    const verdict = q.offer(env, guaranteed, bytes, spool.hasRoom(bytes));
    switch (verdict) {
      case 'deliver-now': this.handOver(now, sub, env, guaranteed); break;
      case 'queued': break;
      case 'evicted-oldest':
        this.stats.droppedSlowConsumer += receivers(sub);
        this.host.drop('slowConsumer', q.lastEvicted as Envelope, null, sub);
        break;
      case 'overflow':
        spool.externalBytes += bytes;
        spool.notePeak();
        this.stats.spooledSlow++;
        break;
      case 'dropped-newest':
        if (guaranteed) this.stats.droppedSpoolFull += receivers(sub);
        else this.stats.droppedSlowConsumer += receivers(sub);
        this.host.drop(guaranteed ? 'spoolFull' : 'slowConsumer', env, null, sub);
        break;
      default: {
        const never: never = verdict;
        throw new UsageError(`unhandled offer ${String(never)}`);
      }
    }
  }

  /** Spool bytes a guaranteed event would need for local subscribers whose queues are full. */
  private localOverflowBytes(env: Envelope, bytes: number): number {
    const subs = this.localScratch;
    if (subs.length > SCRATCH_CLEAR) subs.length = 0;
    const base = subs.length;
    const end = base + this.interest.local.match(env.topic, subs);
    let need = 0;
    const stamp = ++this.shareStamp;
    for (let i = base; i < end; i++) {
      const sub = subs[i] as LocalSubscription;
      const group = sub.share;
      if (group !== null) {
        // [SHARE-5] A group needs room when the event would wait in its backlog.
        if (group.servedStamp === stamp) continue;
        group.servedStamp = stamp;
        if (sub.selector !== null && !sub.selector.matches(env.headers)) continue;
        if (group.backlogDepth > 0 || group.allLagging()) need += bytes;
        continue;
      }
      const q = sub.consumer;
      if (q === null || q.depth < q.limit) continue;
      if (sub.selector !== null && !sub.selector.matches(env.headers)) continue;
      need += bytes;
    }
    return need;
  }

  /** Remote brokers whose interest (pattern and selector) accepts `env`, or undefined [FWD-2]. */
  private remoteDests(env: Envelope): BrokerId[] | undefined {
    const matches = this.remoteScratch;
    if (matches.length > SCRATCH_CLEAR) matches.length = 0;
    const base = matches.length;
    const end = base + this.interest.remote.match(env.topic, matches);
    if (end === base) return undefined;
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
      return undefined;
    }
    return dests;
  }

  private handleData(now: Millis, frame: DataFrame): void {
    this.stats.dataFramesReceived++;
    const env = frame.envelope;
    if (env.path.includes(this.id)) {
      this.stats.droppedLoop++;
      this.host.drop('loop', env, frame.dests, null);
      return;
    }
    let onward: BrokerId[] | undefined;
    for (const d of frame.dests) {
      if (d === this.id) this.deliverLocal(now, env, false);
      else (onward ??= []).push(d);
    }
    if (onward === undefined) return;
    this.sendToDests({ ...env, path: [...env.path, this.id] }, onward);
  }

  /** Groups destinations by next hop and sends one frame per hop [FWD-1][FWD-3]. */
  private sendToDests(env: Envelope, dests: readonly BrokerId[]): void {
    if (env.hopLimit <= 0) {
      this.stats.droppedHopLimit += dests.length;
      this.host.drop('hopLimit', env, dests, null);
      return;
    }
    const out: Envelope = { ...env, hopLimit: env.hopLimit - 1 };
    if (dests.length === 1) {
      const d = dests[0] as BrokerId;
      const hop = this.lsdb.nextHop(d);
      if (hop === undefined) this.dropNoRoute(env, d);
      else this.sendData(hop, [d], out);
      return;
    }
    const byHop = new Map<BrokerId, BrokerId[]>();
    for (const d of dests) {
      const hop = this.lsdb.nextHop(d);
      if (hop === undefined) {
        this.dropNoRoute(env, d);
        continue;
      }
      const list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, [d]);
      else list.push(d);
    }
    for (const [hop, list] of byHop) this.sendData(hop, list, out);
  }

  private dropNoRoute(env: Envelope, dest: BrokerId): void {
    this.stats.droppedNoRoute++;
    this.host.drop('noRoute', env, [dest], null);
  }

  private sendData(hop: BrokerId, dests: readonly BrokerId[], envelope: Envelope): void {
    this.stats.dataFramesSent++;
    this.host.send(hop, encodeFrame({ kind: FrameKind.Data, dests, envelope }), FrameKind.Data);
  }

  // ---- guaranteed delivery ----------------------------------------------------------------

  /**
   * Sends a guaranteed event (its outgoing envelope, hop already counted) toward `dests`, one
   * frame per next hop; destinations without a path are spooled [SPOOL-1]. Returns false if some
   * destination could neither be sent nor spooled (spool full): the caller must not acknowledge.
   */
  private routeGuaranteed(now: Millis, env: Envelope, dests: readonly BrokerId[], seqs: readonly number[], retries: number, prevRtoMs: Millis): boolean {
    let ok = true;
    let byHop: Map<BrokerId, { dests: BrokerId[]; seqs: number[] }> | undefined;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i] as BrokerId;
      const seq = seqs[i] as number;
      const hop = this.lsdb.nextHop(d);
      if (hop === undefined) {
        const bytes = heldBytes(env);
        if (this.config.disable?.spool === true) {
          this.dropNoRoute(env, d);
          continue;
        }
        if (this.durable.spool.hasRoom(bytes)) {
          this.durable.spool.push({ env, dest: d, seq, bytes });
          this.stats.spooled++;
        } else ok = false;
        continue;
      }
      byHop ??= new Map();
      const g = byHop.get(hop);
      if (g === undefined) byHop.set(hop, { dests: [d], seqs: [seq] });
      else {
        g.dests.push(d);
        g.seqs.push(seq);
      }
    }
    if (byHop !== undefined) for (const [hop, g] of byHop) this.sendGuaranteed(now, hop, g.dests, g.seqs, env, retries, prevRtoMs);
    return ok;
  }

  private sendGuaranteed(now: Millis, hop: BrokerId, dests: readonly BrokerId[], seqs: readonly number[], env: Envelope, retries: number, prevRtoMs: Millis): void {
    const outbox = this.durable.outbox(hop);
    const linkSeq = outbox.track(now, dests, seqs, env, retries, prevRtoMs);
    this.stats.dataFramesSent++;
    if (retries > 0) this.stats.retransmitted++;
    const frame: GuaranteedFrame = { kind: FrameKind.Guaranteed, epoch: outbox.epoch, linkSeq, dests, seqs, envelope: env };
    this.host.send(hop, encodeFrame(frame), FrameKind.Guaranteed);
    this.armTimer((outbox.pending.get(linkSeq) as Pending).deadlineMs);
  }

  private handleGuaranteed(now: Millis, from: BrokerId, frame: GuaranteedFrame): void {
    this.stats.dataFramesReceived++;
    const env = frame.envelope;
    const origin = env.path[0];
    if (origin === undefined) {
      this.protocolError(now, from, 'guaranteed frame with an empty path');
      return;
    }
    let onward: BrokerId[] | undefined;
    let onwardSeqs: number[] | undefined;
    for (let i = 0; i < frame.dests.length; i++) {
      const d = frame.dests[i] as BrokerId;
      const seq = frame.seqs[i] as number;
      if (d !== this.id) {
        (onward ??= []).push(d);
        (onwardSeqs ??= []).push(seq);
        continue;
      }
      if (this.config.disable?.dedup === true) {
        this.deliverLocal(now, env, true);
        continue;
      }
      // [DEDUP-1] a retry of something we already hold: discard it (and acknowledge again).
      const ledger = this.durable.ledger;
      if (ledger.has(now, env.id, this.id)) {
        this.stats.duplicatesSuppressed++;
        continue;
      }
      ledger.record(now, env.id, this.id);
      // [ORD-2] release the origin's stream in order.
      const ready = this.durable.resequencer(origin).offer(seq, env);
      if (ready === 'duplicate') {
        this.stats.duplicatesSuppressed++;
        continue;
      }
      for (const e of ready) this.deliverLocal(now, e, true);
    }
    let ok = true;
    if (onward !== undefined) {
      // Guaranteed frames are not dropped for a repeated path (a retry after a reroute may pass a
      // broker twice); the hop limit bounds them, and without hops left we let the sender retry.
      if (env.hopLimit <= 0) {
        this.stats.droppedHopLimit++;
        ok = false;
      } else if (this.config.disable?.spool !== true && !this.durable.spool.hasRoom(heldBytes(env) * onward.length)) {
        // [SPOOL-2] No custody room to carry it on: no ack, so the sender keeps it and retries.
        this.stats.refusedSpoolFull++;
        ok = false;
      } else {
        ok = this.routeGuaranteed(now, { ...env, path: [...env.path, this.id], hopLimit: env.hopLimit - 1 }, onward, onwardSeqs as number[], 0, 0);
        if (!ok) this.stats.refusedSpoolFull++;
      }
    }
    if (ok) this.oweAck(now, from, frame.epoch, frame.linkSeq);
  }

  private oweAck(now: Millis, to: BrokerId, epoch: number, linkSeq: number): void {
    let inbox = this.inboxes.get(to);
    if (inbox === undefined) this.inboxes.set(to, (inbox = new Inbox()));
    inbox.owe(now, epoch, linkSeq, this.ackDelayMs);
    this.armTimer(inbox.dueMs);
  }

  private sendDueAcks(now: Millis): void {
    for (const [to, inbox] of this.inboxes) {
      if (inbox.dueMs > now) continue;
      const frame: AckFrame = { kind: FrameKind.Ack, epoch: inbox.epoch, linkSeqs: inbox.take() };
      this.stats.acksSent++;
      this.host.send(to, encodeFrame(frame), FrameKind.Ack);
    }
  }

  private handleAck(now: Millis, from: BrokerId, frame: AckFrame): void {
    this.stats.acksReceived++;
    const outbox = this.durable.outboxes.get(from);
    if (outbox === undefined) return;
    for (const s of frame.linkSeqs) outbox.ack(now, frame.epoch, s);
    // [REL-4] an ack can bring backed-off retries forward.
    this.armTimer(outbox.nextDeadline());
  }

  /** [REL-3] Frames past their deadline are sent again along the current routes. */
  private retransmitExpired(now: Millis): void {
    for (const outbox of this.durable.outboxes.values()) {
      if (outbox.nextDeadline() > now) continue;
      for (const p of outbox.expired(now)) this.reroute(now, p);
    }
  }

  private reroute(now: Millis, p: Pending): void {
    if (!this.routeGuaranteed(now, p.env, p.dests, p.seqs, p.retries + 1, p.rtoMs)) {
      // No path and no spool room: keep trying from the spool's side later (never drop).
      this.stats.refusedSpoolFull++;
      this.spoolPending([p]);
    }
  }

  /**
   * Puts unacknowledged frames into the spool. Custody already taken cannot be refused after the
   * fact, so this may go over the limit (the spool's peak shows it); new work is refused instead.
   */
  private spoolPending(list: readonly Pending[]): void {
    const spool = this.durable.spool;
    for (const p of list) {
      for (let i = 0; i < p.dests.length; i++) {
        spool.push({ env: p.env, dest: p.dests[i] as BrokerId, seq: p.seqs[i] as number, bytes: heldBytes(p.env) });
        this.stats.spooled++;
      }
    }
  }

  /** Spooled events whose destination is reachable again go out, in spool (publish) order. */
  private drainSpool(now: Millis): void {
    const ready = this.durable.spool.drain((d) => this.lsdb.nextHop(d) !== undefined);
    if (ready.length === 0) return;
    for (const e of ready) this.routeGuaranteed(now, e.env, [e.dest], [e.seq], 0, 0);
    this.host.emit({ type: 'spool-drained', at: now, broker: this.id, events: ready.length });
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
      n.upSinceMs = now;
      this.host.emit({ type: 'neighbor-up', at: now, broker: this.id, neighbor: from });
      // [REL-1] a new epoch on this link; anything left from the last one goes out again.
      const leftover = this.durable.outbox(from).newEpoch();
      this.originateAdvert(now);
      this.exchangeDatabase(from);
      if (this.restarted) this.host.send(from, encodeFrame({ kind: FrameKind.SyncRequest, origin: this.id }), FrameKind.SyncRequest);
      for (const p of leftover) this.reroute(now, p);
    } else if (!twoWay && n.up) {
      // The neighbor no longer hears us (it restarted): the adjacency is gone until it does.
      this.adjacencyLost(now, n);
    }
    this.armTimer(this.nextDeadline(now));
  }

  private adjacencyLost(now: Millis, n: Neighbor): void {
    n.up = false;
    this.host.emit({ type: 'neighbor-down', at: now, broker: this.id, neighbor: n.id });
    this.originateAdvert(now);
    const outbox = this.durable.outboxes.get(n.id);
    if (outbox !== undefined) for (const p of outbox.takeAll()) this.reroute(now, p);
  }

  private sendKeepalive(): void {
    const backup = this.config.backup as BrokerId;
    this.host.send(backup, encodeFrame({ kind: FrameKind.KeepAlive, from: this.id, seq: ++this.keepaliveSeq }), FrameKind.KeepAlive);
  }

  /** [INT-4] A neighbor missed part of `origin`'s interest: send it all of it. */
  private handleSyncRequest(to: BrokerId, origin: BrokerId): void {
    if (origin === to) {
      // [SYNC-2] The neighbor restarted and asks for everything (if the adjacency is not up,
      // our own neighbor-up will send it).
      if (this.neighbors.get(to)?.up === true) this.exchangeDatabase(to);
      return;
    }
    if (origin === this.id) {
      this.flushInterest();
      this.sendInterest(to, this.interest.ownSnapshot(false));
      this.durable.interestSeq = this.interest.ownSequence;
      return;
    }
    const snap = this.interest.originSnapshot(origin);
    if (snap !== undefined) this.sendInterest(to, snap);
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
    this.durable.lsSeq = this.lsSeq;
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
        this.durable.lsSeq = frame.seq;
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
        this.durable.interestSeq = this.interest.ownSequence;
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
        this.host.send(from, encodeFrame({ kind: FrameKind.SyncRequest, origin: frame.origin }), FrameKind.SyncRequest);
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
    this.durable.interestSeq = this.interest.ownSequence;
  }

  private sendInterest(to: BrokerId, frame: InterestFrame): void {
    this.host.send(to, encodeFrame(frame), FrameKind.Interest);
  }

  private flood(bytes: Uint8Array, kind: FrameKind, except: BrokerId | undefined): void {
    for (const n of this.neighbors.values()) if (n.up && n.id !== except) this.host.send(n.id, bytes, kind);
  }

  private recompute(now: Millis): void {
    if (!this.lsdb.computeRoutes()) return;
    this.host.emit({ type: 'routes-changed', at: now, broker: this.id, routes: this.lsdb.routes() });
    this.drainSpool(now);
  }

  private nextDeadline(now: Millis): Millis {
    let t = Math.min(this.nextHelloAt, this.nextKeepaliveAt);
    if (this.config.disable?.reroute !== true) for (const n of this.neighbors.values()) if (n.hearing) t = Math.min(t, n.lastHeardMs + this.config.deadIntervalMs);
    for (const inbox of this.inboxes.values()) t = Math.min(t, inbox.dueMs);
    for (const outbox of this.durable.outboxes.values()) t = Math.min(t, outbox.nextDeadline());
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
