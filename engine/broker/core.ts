/**
 * The broker's state, shared by the files of this folder (one concept each: local.ts, forward.ts,
 * custody.ts, adjacency.ts, sync.ts). Each is a set of functions over a `BrokerCore`, in the
 * manner of aedes's `lib/handlers/`; `Broker` (broker.ts) is the public face and the only
 * thing outside this folder sees.
 */
import { AclPolicy } from '../acl.ts';
import type { DurableState } from '../durable.ts';
import { InterestTable, type LocalSubscription, type RemoteInterest } from '../interest.ts';
import { LinkStateDb } from '../linkstate.ts';
import type { Inbox } from '../reliable.ts';
import { SchemaRegistry, type SchemaRefusal } from '../schema/registry.ts';
import type { ShareGroup } from '../share.ts';
import { UsageError, type BrokerId, type Millis } from '../types.ts';
import type { GovernanceDocument } from './governance.ts';
import type { RoutingRules } from './rules.ts';
import { GUARANTEED_DEFAULTS, newStats, type BrokerConfig, type BrokerHost, type BrokerStats } from './types.ts';

export interface Neighbor {
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
  /** [LINK-1] The host said the connection is closed; no hellos go to it until it is back. */
  linkDown: boolean;
}

/** What the policy refused one principal [ACL-3..5]. */
export interface DeniedCounts {
  publish: number;
  subscribe: number;
  delivery: number;
}

export const DEFAULT_INTEREST_CHUNK = 4096;
/** Scratch arrays are cleared once they hold more than this many stale entries. */
export const SCRATCH_CLEAR = 256;

export class BrokerCore {
  readonly id: BrokerId;
  readonly stats: BrokerStats = newStats();
  readonly interest: InterestTable;
  readonly lsdb: LinkStateDb;
  readonly neighbors = new Map<BrokerId, Neighbor>();
  readonly selfPath: readonly BrokerId[];
  lsSeq: number;
  nextHelloAt = Infinity;
  nextKeepaliveAt = Infinity;
  keepaliveSeq = 0;
  readonly inboxes = new Map<BrokerId, Inbox>();
  readonly ackDelayMs: Millis;
  armedAt = Infinity;
  started = false;
  /** [SYNC-2] An earlier life used this broker's durable state. */
  readonly restarted: boolean;
  // Scratch space reused by every publish (no per-event allocation on the hot path).
  readonly localScratch: LocalSubscription[] = [];
  /** Consumer groups on this broker, by groupKey [SHARE-1]. */
  readonly groups = new Map<string, ShareGroup>();
  /** Numbers each local match, so a group serves one member per event. */
  shareStamp = 0;
  readonly remoteScratch: RemoteInterest[] = [];
  readonly destScratch: BrokerId[] = [];
  /** Indices of destinations without a route, from the last byNextHop (forward.ts). */
  readonly unrouted: number[] = [];
  marks = new Int32Array(16);
  stamp = 0;
  /** The policy in force (version 0, open: no document installed) [ACL-2]. */
  acl = new AclPolicy([], 0);
  /** Mesh-wide documents held, by name [GOV-1]. */
  readonly documents = new Map<string, GovernanceDocument>();
  /** Refusals per principal. */
  readonly denied = new Map<string, DeniedCounts>();
  /** Operator routing rules, or null for none [RULE-1]. */
  rules: RoutingRules | null = null;
  /** The schema registry in force (version 0, empty: no document installed) [SCHEMA-3]. */
  schemas = SchemaRegistry.empty();
  /** Why the last publish answered 'invalid-data' was refused [SCHEMA-8]. */
  schemaRefusal: SchemaRefusal | null = null;

  constructor(
    readonly config: BrokerConfig,
    readonly host: BrokerHost,
    readonly durable: DurableState,
  ) {
    if (config.deadIntervalMs <= config.helloIntervalMs) {
      throw new UsageError(`deadIntervalMs (${config.deadIntervalMs}) must exceed helloIntervalMs (${config.helloIntervalMs})`);
    }
    if (!(config.hopLimit >= 1 && config.hopLimit <= 255)) throw new UsageError(`hopLimit must be 1..255, got ${config.hopLimit}`);
    this.id = config.id;
    this.selfPath = Object.freeze([config.id]);
    this.interest = new InterestTable(config.id);
    this.lsdb = new LinkStateDb(config.id);
    this.ackDelayMs = config.ackDelayMs ?? GUARANTEED_DEFAULTS.ackDelayMs;
    // Sequences continue from an earlier life, so nothing we say now looks older than what the
    // mesh remembers of us.
    this.lsSeq = durable.lsSeq;
    this.restarted = durable.lsSeq > 0;
    this.interest.bumpOwnSequence(durable.interestSeq);
    // [DUR-1] Other origins' interest as the last life knew it (the exchange corrects it later).
    const last = durable.interest;
    if (last !== undefined) {
      for (const origin of last.knownOrigins()) {
        const snap = last.originSnapshot(origin);
        if (snap !== undefined) this.interest.apply(snap);
      }
    }
    durable.interest = this.interest;
    for (const n of config.neighbors) {
      if (n.id === config.id) throw new UsageError(`broker ${config.id} lists itself as a neighbor`);
      this.neighbors.set(n.id, { id: n.id, cost: n.cost, hearing: false, up: false, lastHeardMs: -Infinity, upSinceMs: -Infinity, syncAskedMs: -Infinity, linkDown: false });
    }
  }

  /** When the broker next has something to do (never before `now`). */
  nextDeadline(now: Millis): Millis {
    let t = Math.min(this.nextHelloAt, this.nextKeepaliveAt);
    if (this.config.disable?.reroute !== true) for (const n of this.neighbors.values()) if (n.hearing) t = Math.min(t, n.lastHeardMs + this.config.deadIntervalMs);
    for (const inbox of this.inboxes.values()) t = Math.min(t, inbox.dueMs);
    for (const outbox of this.durable.outboxes.values()) t = Math.min(t, outbox.nextDeadline());
    return Math.max(t, now);
  }

  /** Asks the host for the timer at `at` unless it is already armed earlier. */
  armTimer(at: Millis): void {
    if (at < this.armedAt) {
      this.armedAt = at;
      this.host.setTimer(at);
    }
  }

  /** Counts a refusal of `principal`'s `what`. */
  countDenied(principal: string, what: keyof DeniedCounts, n = 1): void {
    let c = this.denied.get(principal);
    if (c === undefined) this.denied.set(principal, (c = { publish: 0, subscribe: 0, delivery: 0 }));
    c[what] += n;
  }

  /**
   * [LINK-3] A peer's fault (h11's split: never a thrown exception): counted, reported, and the
   * host is asked to disconnect the neighbor that sent it. The caller then treats the link as
   * down (adjacency.ts `linkDown`).
   */
  protocolError(now: Millis, from: BrokerId, reason: string): void {
    this.stats.protocolErrors++;
    this.host.emit({ type: 'protocol-error', at: now, broker: this.id, from, reason });
    if (this.neighbors.has(from)) this.host.disconnect(from, reason);
  }
}
