/**
 * The broker: a state machine that is handed time and bytes (sans-IO, after quinn-proto / h11).
 *
 * Inputs are method calls: `start`, `subscribe`, `handlePublish`, `handleFrame`, `handleTimeout`.
 * Effects go out through one interface the host implements, `BrokerHost` (types.ts): frames to
 * send (bytes from the real codec), deliveries to local subscribers, one timer, and notable events.
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
 * [REL-1..3] per-link sequencing, acks and retransmission (reliable.ts, custody.ts);
 * [DEDUP-1] the dedup ledger at the destination (ledger.ts);
 * [ORD-1..2] per (origin, destination) sequence numbers and the destination's resequencer
 *         (durable.ts), so each origin's events reach subscribers in publish order whatever path
 *         or retry carried them;
 * [SPOOL-1] the spool, when no path exists (spool.ts); [SLOW-1..3] slow consumers (consumer.ts);
 * [HA-1] keep-alives to an HA backup (ha.ts).
 * Governance: [ACL-1..5] the policy, enforced at publish, subscribe and delivery (../acl.ts);
 * [SCHEMA-1..9] the schema registry, enforced at publish (../schema/); [GOV-1..5] mesh-wide
 * documents flooded like adverts (governance.ts).
 * A broker's spool, custody, ledger and sequence numbers live in a `DurableState` the host keeps
 * across crashes (the seed's disk-backed spool).
 *
 * The folder, one concept per file: core.ts (the state), local.ts (local subscribers),
 * forward.ts (realtime forwarding), custody.ts (guaranteed delivery), adjacency.ts (neighbors,
 * hellos, keep-alives), sync.ts (adverts, interest, database exchange), governance.ts (mesh-wide
 * documents).
 */
import type { AclDecision, AclPolicy } from '../acl.ts';
import { decodeFrame, type ProtocolError } from '../codec/index.ts';
import type { DurableState } from '../durable.ts';
import { FrameKind, type Frame } from '../frames.ts';
import type { LocalSubscription } from '../interest.ts';
import { validateTopic } from '../topic.ts';
import { SPECVERSION, UsageError, type BrokerId, type Envelope, type Millis } from '../types.ts';
import { checkDeadNeighbors, handleHello, keepaliveEveryMs, linkDown, linkUp, sendHellos, sendKeepalive } from './adjacency.ts';
import { BrokerCore } from './core.ts';
import { handleAck, handleGuaranteed, retransmitExpired, routeGuaranteed, sendDueAcks, spoolPending } from './custody.ts';
import { handleData, remoteDests, sendToDests } from './forward.ts';
import { changeDocument, handleGovernance, offerDocument, type GovernanceDocument } from './governance.ts';
import { setRoutingRules, type RoutingRuleSpec } from './rules.ts';
import { envelopeOf, explainHop, explainLocal, explainOrigin, type GateResult } from './explain.ts';
import { consumed, deliverLocal, localOverflowBytes, pace, subscribe, unsubscribe } from './local.ts';
import type { SchemaRefusal, SchemaRegistry } from '../schema/registry.ts';
import { heldBytes } from '../spool.ts';
import { checkNeighborAdverts, flushInterest, handleAdvert, handleInterest, handleSyncRequest, originateAdvert } from './sync.ts';
import { BrokerView } from './view.ts';
import { ANONYMOUS, INTERNAL, durableFor, type BrokerConfig, type BrokerHost, type BrokerStats, type PublishInput, type PublishResult } from './types.ts';

export class Broker {
  readonly id: BrokerId;
  readonly #b: BrokerCore;
  readonly #view: BrokerView;

  constructor(
    readonly config: BrokerConfig,
    host: BrokerHost,
    durable?: DurableState,
  ) {
    this.#b = new BrokerCore(config, host, durable ?? durableFor(config));
    this.id = config.id;
    this.#view = new BrokerView(this.#b);
  }

  /** Counters; plain numbers the host may read at any time. */
  get stats(): BrokerStats {
    return this.#b.stats;
  }

  /** A read-only view for reports and checkers (the same object every call). */
  inspect(): BrokerView {
    return this.#view;
  }

  /** Begins the protocol: first advert, first hellos. */
  start(now: Millis): void {
    const b = this.#b;
    if (b.started) throw new UsageError(`broker ${this.id} already started`);
    b.started = true;
    originateAdvert(b, now);
    sendHellos(b);
    b.nextHelloAt = now + b.config.helloIntervalMs;
    if (b.config.backup !== undefined) {
      sendKeepalive(b);
      b.nextKeepaliveAt = now + keepaliveEveryMs(b);
    }
    // Custody from an earlier life: everything unacknowledged waits in the spool for routes.
    for (const [, outbox] of b.durable.outboxes) spoolPending(b, outbox.takeAll());
    b.armTimer(b.nextDeadline(now));
  }

  /**
   * Adds a population of `count` identical local subscribers. Throws UsageError on a bad pattern
   * or filter. With a `principal`, deliveries follow the policy [ACL-5]; ask `authorizeSubscribe`
   * first.
   */
  subscribe(now: Millis, pattern: string, filter: string | null, count: number, tag?: unknown, principal?: string): LocalSubscription {
    return subscribe(this.#b, now, pattern, filter, count, tag, principal);
  }

  /** [ACL-4] May `principal` subscribe to `pattern` (`$share/GROUP/` stripped)? A refusal is counted. */
  authorizeSubscribe(principal: string, pattern: string): AclDecision {
    const b = this.#b;
    const d = b.acl.decideSubscribe(principal, pattern.startsWith('$share/') ? pattern.split('/').slice(2).join('/') : pattern);
    if (!d.allowed) {
      b.stats.deniedSubscribe++;
      b.countDenied(principal, 'subscribe');
    }
    return d;
  }

  /** The policy in force [ACL-2] (version 0 and open until a document is installed). */
  get policy(): AclPolicy {
    return this.#b.acl;
  }

  /**
   * The schema registry in force [SCHEMA-3] (version 0 and empty until a document is installed).
   * A change is `changeDocument(now, SCHEMAS_DOC, registry.register(…).body)`.
   */
  get schemas(): SchemaRegistry {
    return this.#b.schemas;
  }

  /**
   * [SCHEMA-8] Why the last publish answered 'invalid-data' was refused: the subject, its
   * version and id, and the first validation error (data path, keyword, message).
   */
  schemaRefusal(): SchemaRefusal | null {
    return this.#b.schemaRefusal;
  }

  /**
   * [GOV-2][GOV-3] Offers a mesh-wide document (from the host's config, or a store): installed
   * and flooded when it supersedes the one held. Throws UsageError when its body does not compile.
   */
  offerDocument(now: Millis, d: GovernanceDocument): boolean {
    return offerDocument(this.#b, now, d);
  }

  /** [RULE-2] Replaces the operator's routing rules (empty: none). Throws UsageError on a bad rule. */
  setRoutingRules(rules: readonly RoutingRuleSpec[]): void {
    setRoutingRules(this.#b, rules);
  }

  /** [EXPLAIN-1] The publishing broker's gates for `input` bound for `dest` (read-only). */
  explainOrigin(input: PublishInput, dest: BrokerId): GateResult[] {
    return explainOrigin(this.#b, input, dest);
  }

  /** [EXPLAIN-2] This broker's next hop toward `dest`, with `hopsLeft` hops left (read-only). */
  explainHop(dest: BrokerId, hopsLeft: number, guaranteed: boolean): { gates: GateResult[]; next: BrokerId | null } {
    return explainHop(this.#b, dest, hopsLeft, guaranteed);
  }

  /** [EXPLAIN-3] Which local subscriptions here would take `input`'s event (read-only). */
  explainLocal(input: PublishInput): GateResult[] {
    return explainLocal(this.#b, envelopeOf(this.#b, input));
  }

  /** A change made at this broker: the document's next version, flooded to the mesh [GOV-3]. */
  changeDocument(now: Millis, doc: string, body: string): GovernanceDocument {
    return changeDocument(this.#b, now, doc, body);
  }

  unsubscribe(now: Millis, sub: LocalSubscription): boolean {
    return unsubscribe(this.#b, now, sub);
  }

  /** A client publishes an event to this broker. */
  handlePublish(now: Millis, input: PublishInput): PublishResult {
    if (validateTopic(input.topic) !== null) return 'invalid-topic';
    const b = this.#b;
    if (!b.acl.open && input.principal !== INTERNAL) {
      // [ACL-3] Refused at ingress: never counted as published, never forwarded.
      const principal = input.principal ?? ANONYMOUS;
      if (!b.acl.decidePublish(principal, input.topic, input.type).allowed) {
        b.stats.deniedPublish++;
        b.countDenied(principal, 'publish');
        return 'denied';
      }
    }
    if (!b.schemas.empty && input.principal !== INTERNAL) {
      // [SCHEMA-7] Refused at ingress: never counted as published, never forwarded. The mesh's
      // own publishes (a retained replication of an event already checked) are not checked again.
      const checked = b.schemas.validate(input.topic, input.type, input.headers, input.payload);
      if (checked !== 0) b.stats.schemaValidated++;
      if (checked < 0) {
        b.stats.invalidData++;
        b.schemaRefusal = b.schemas.refusal;
        return 'invalid-data';
      }
    }
    const env: Envelope = {
      id: input.id,
      source: input.source,
      type: input.type,
      specversion: SPECVERSION,
      topic: input.topic,
      headers: input.headers,
      payload: input.payload,
      publishedAtMs: input.publishedAtMs,
      path: b.selfPath,
      hopLimit: b.config.hopLimit,
    };
    if (input.guaranteed !== true) {
      b.stats.published++;
      deliverLocal(b, now, env, false);
      const dests = remoteDests(b, env);
      if (dests !== undefined) sendToDests(b, env, dests);
      return 'accepted';
    }
    // Guaranteed: refuse up front what we could not hold, so nothing is accepted then lost.
    const dests = remoteDests(b, env);
    const bytes = heldBytes(env);
    // [SPOOL-2] Each remote destination takes custody bytes, sent (in flight until acked) or spooled.
    let need = dests === undefined ? 0 : bytes * dests.length;
    need += localOverflowBytes(b, env, bytes);
    if (need > 0 && !b.durable.spool.hasRoom(need)) {
      b.stats.backpressured++;
      return 'backpressure';
    }
    b.stats.published++;
    deliverLocal(b, now, env, true);
    if (dests === undefined) return 'accepted';
    const seqs: number[] = new Array(dests.length);
    for (let i = 0; i < dests.length; i++) seqs[i] = b.durable.nextSeqFor(dests[i] as BrokerId);
    if (env.hopLimit <= 0) {
      b.stats.droppedHopLimit += dests.length;
      b.host.drop('hopLimit', env, dests.slice(), null);
      return 'accepted';
    }
    routeGuaranteed(b, now, { ...env, hopLimit: env.hopLimit - 1 }, dests.slice(), seqs, 0, 0, true);
    return 'accepted';
  }

  /** Bytes arrived from neighbor `from` (one encoded frame). */
  handleFrame(now: Millis, from: BrokerId, bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (decoded.ok) this.handleDecodedFrame(now, from, decoded.frame, bytes);
    else this.handleUndecodable(now, from, decoded.error);
  }

  /**
   * A frame from neighbor `from` that the host already decoded, with the exact bytes it came in
   * (a socket host's `FrameDecoder` yields both): nothing is decoded twice, and adverts and
   * interest are flooded on as the bytes received.
   */
  handleDecodedFrame(now: Millis, from: BrokerId, frame: Frame, bytes: Uint8Array): void {
    const b = this.#b;
    const errors = b.stats.protocolErrors;
    switch (frame.kind) {
      case FrameKind.Data:
        handleData(b, now, frame);
        break;
      case FrameKind.Guaranteed:
        handleGuaranteed(b, now, from, frame);
        break;
      case FrameKind.Ack:
        handleAck(b, now, from, frame);
        break;
      case FrameKind.Hello:
        handleHello(b, now, from, frame);
        break;
      case FrameKind.LinkState:
        handleAdvert(b, now, from, frame, bytes);
        break;
      case FrameKind.Interest:
        handleInterest(b, now, from, frame, bytes);
        break;
      case FrameKind.SyncRequest:
        handleSyncRequest(b, from, frame.origin);
        break;
      case FrameKind.Governance:
        handleGovernance(b, now, from, frame, bytes);
        break;
      case FrameKind.KeepAlive:
        b.protocolError(now, from, 'keep-alive sent to a broker, not to its standby');
        break;
      default: {
        const never: never = frame;
        b.protocolError(now, from, `unknown frame ${String(never)}`);
      }
    }
    // [LINK-3] A protocol violation closes the link (the host was asked to disconnect).
    if (b.stats.protocolErrors !== errors && b.neighbors.has(from)) linkDown(b, now, from);
  }

  /**
   * [LINK-3] Bytes from `from` that are not a frame (or a stream decoder's sticky error: the
   * stream is unusable): counted, reported, and the neighbor disconnected.
   */
  handleUndecodable(now: Millis, from: BrokerId, error: ProtocolError): void {
    const b = this.#b;
    b.protocolError(now, from, `${error.reason} at byte ${error.offset}`);
    if (b.neighbors.has(from)) linkDown(b, now, from);
  }

  /**
   * [LINK-1] The connection to `neighbor` closed (the host saw it: a TCP close, a reset, or a
   * disconnect the broker asked for): the adjacency is down at once. Throws UsageError for a
   * broker that is not a neighbor.
   */
  handleLinkDown(now: Millis, neighbor: BrokerId): void {
    linkDown(this.#b, now, neighbor);
  }

  /** [LINK-2] A connection to `neighbor` is (re-)established: hello at once. */
  handleLinkUp(now: Millis, neighbor: BrokerId): void {
    linkUp(this.#b, now, neighbor);
  }

  /** The timer the host armed has fired. */
  handleTimeout(now: Millis): void {
    const b = this.#b;
    b.armedAt = Infinity;
    if (!b.started) return;
    if (now >= b.nextHelloAt) {
      sendHellos(b);
      while (b.nextHelloAt <= now) b.nextHelloAt += b.config.helloIntervalMs;
    }
    if (now >= b.nextKeepaliveAt) {
      sendKeepalive(b);
      const every = keepaliveEveryMs(b);
      while (b.nextKeepaliveAt <= now) b.nextKeepaliveAt += every;
    }
    checkDeadNeighbors(b, now);
    checkNeighborAdverts(b, now);
    flushInterest(b);
    sendDueAcks(b, now);
    retransmitExpired(b, now);
    b.armTimer(b.nextDeadline(now));
  }

  /**
   * A paced subscription's clients consumed the message they were handed [SLOW-1..3]: hand them
   * the next one, moving spooled overflow back into the queue as room appears.
   */
  handleConsumed(now: Millis, sub: LocalSubscription): void {
    consumed(this.#b, now, sub);
  }

  /**
   * Gives a subscription a bounded queue at this broker (its clients consume at a finite rate;
   * the host reports each message consumed through `handleConsumed`). Idempotent.
   */
  pace(sub: LocalSubscription, queueLimit: number): void {
    pace(this.#b, sub, queueLimit);
  }
}
