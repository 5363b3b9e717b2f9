/**
 * The broker's contract with its host: configuration, the effects it asks for (`BrokerHost`), the
 * events it reports, what a client publishes, and the counters the host may read.
 */
import { DurableState, type DurableConfig } from '../durable.ts';
import type { LocalSubscription } from '../interest.ts';
import type { BrokerId, Envelope, Headers, Millis } from '../types.ts';

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

/** The durable state's sizes from a broker config. */
export function durableConfigFor(config: BrokerConfig): DurableConfig {
  return {
    ledgerTtlMs: config.ledgerTtlMs ?? GUARANTEED_DEFAULTS.ledgerTtlMs,
    spoolBytes: config.spoolBytes ?? GUARANTEED_DEFAULTS.spoolBytes,
    retransmitMs: config.retransmitMs ?? GUARANTEED_DEFAULTS.retransmitMs,
  };
}

/** A durable store sized from a broker config (the host creates it once and keeps it across crashes). */
export function durableFor(config: BrokerConfig): DurableState {
  return new DurableState(durableConfigFor(config));
}

/** Something worth telling the host about (rare: control-plane changes and errors). */
export type BrokerEvent =
  | { readonly type: 'neighbor-up'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'neighbor-down'; readonly at: Millis; readonly broker: BrokerId; readonly neighbor: BrokerId }
  | { readonly type: 'routes-changed'; readonly at: Millis; readonly broker: BrokerId; readonly routes: ReadonlyArray<readonly [BrokerId, BrokerId]> }
  | { readonly type: 'protocol-error'; readonly at: Millis; readonly broker: BrokerId; readonly from: BrokerId; readonly reason: string }
  | { readonly type: 'interest-gap'; readonly at: Millis; readonly broker: BrokerId; readonly origin: BrokerId; readonly expected: number; readonly got: number }
  | { readonly type: 'spool-drained'; readonly at: Millis; readonly broker: BrokerId; readonly events: number }
  | { readonly type: 'governance-installed'; readonly at: Millis; readonly broker: BrokerId; readonly doc: string; readonly version: number; readonly origin: BrokerId };

/** The effects a broker asks of its host. */
export interface BrokerHost {
  /**
   * Put these bytes (one encoded frame) on the link to neighbor `to`. What kind of frame it is,
   * should the host care (the simulator splits data from control bytes), is `frameKindOf(bytes)`.
   */
  send(to: BrokerId, bytes: Uint8Array): void;
  /**
   * [HA-1] Put these bytes (one encoded KeepAlive frame) on the path to the HA backup `backup`:
   * not a neighbor, not a mesh link (the pair's LAN, or its own connection in live mode).
   */
  keepalive(backup: BrokerId, bytes: Uint8Array): void;
  /**
   * [LINK-3] Neighbor `neighbor` broke the protocol (`reason` says how): close the connection to
   * it. The broker already treats the link as down; the host reconnects as it would after any
   * close and reports it with `handleLinkUp`.
   */
  disconnect(neighbor: BrokerId, reason: string): void;
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

/**
 * Why a delivery was lost [ACCT-1]. Every (event, interested subscriber) pair ends delivered,
 * dropped for one of these causes (or, in the host's world, lost on a link or with a crashed
 * broker), or still held somewhere when the run ends.
 * noRoute: a realtime copy with no path to its destination broker; loop: a realtime copy back at
 * a broker already in its path; hopLimit: no hops left; slowConsumer: a slow subscriber's realtime
 * event evicted or refused [SLOW-1]; spoolFull: a guaranteed event with no room to wait [SLOW-2];
 * denied: the policy refuses the event's type to the subscription's principal [ACL-5].
 */
export type DropCause = 'noRoute' | 'loop' | 'hopLimit' | 'slowConsumer' | 'spoolFull' | 'denied';

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
  /** Who publishes, for the policy [ACL-3] (`service:billing`, `cert:alice`; default `anonymous`). */
  readonly principal?: string;
}

/** The principal of a client that presented no identity. */
export const ANONYMOUS = 'anonymous';

/**
 * [ACL-7] The brokers' own publishes (MQTT retained replication on `$mesh/`): the policy governs
 * clients, never the mesh's own bookkeeping. No client authenticates as it (auth.ts makes
 * principals with a `token:`, `mqtt:` or `cert:` prefix, or `anonymous`).
 */
export const INTERNAL = '$internal';

/**
 * 'backpressure': a guaranteed event that would need spool space the broker does not have
 * [SPOOL-1]; 'denied': the policy does not let the principal publish it [ACL-3]; 'invalid-data':
 * a schema that applies to it rejects its data (`Broker.schemaRefusal()` says why) [SCHEMA-7].
 */
export type PublishResult = 'accepted' | 'invalid-topic' | 'backpressure' | 'denied' | 'invalid-data';

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
  /** Publishes the policy refused [ACL-3] (per principal: BrokerView.denied). */
  deniedPublish: number;
  /** Subscriptions the policy refused [ACL-4]. */
  deniedSubscribe: number;
  /** Deliveries the policy refused by type [ACL-5] (also drops, cause `denied`). */
  deniedDelivery: number;
  /** Publishes a schema subject applied to, checked at ingress (valid or not) [SCHEMA-7]. */
  schemaValidated: number;
  /** Of those, refused: their data did not validate (per subject: BrokerView.schemas) [SCHEMA-7]. */
  invalidData: number;
}

/** Every counter at zero. */
export function newStats(): BrokerStats {
  return {
    published: 0,
    deliveries: 0,
    subscriberDeliveries: 0,
    dataFramesSent: 0,
    dataFramesReceived: 0,
    droppedLoop: 0,
    droppedHopLimit: 0,
    droppedNoRoute: 0,
    filteredAtEdge: 0,
    protocolErrors: 0,
    interestGaps: 0,
    retransmitted: 0,
    spooled: 0,
    spooledSlow: 0,
    duplicatesSuppressed: 0,
    backpressured: 0,
    refusedSpoolFull: 0,
    droppedSlowConsumer: 0,
    droppedSpoolFull: 0,
    acksSent: 0,
    acksReceived: 0,
    deniedPublish: 0,
    deniedSubscribe: 0,
    deniedDelivery: 0,
    schemaValidated: 0,
    invalidData: 0,
  };
}
