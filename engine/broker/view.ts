/**
 * A read-only view of a broker for reports, the browser view and invariant checkers: what they
 * read, without reaching into the broker's tables (`broker.inspect()`). Cheap to ask: the view
 * is one object per broker, each figure read when asked.
 */
import type { InterestFrame } from '../frames.ts';
import type { LocalSubscription } from '../interest.ts';
import type { BrokerId } from '../types.ts';
import { upNeighbors } from './adjacency.ts';
import type { BrokerCore } from './core.ts';
import { groupSharesMoved } from './local.ts';
import type { BrokerStats } from './types.ts';

/** What a heap measurement of the routing table rebuilds (sim/heap.ts). */
export interface InterestImage {
  readonly self: BrokerId;
  readonly locals: readonly LocalSubscription[];
  /** Every other origin's interest, as reset frames. */
  readonly snapshots: readonly InterestFrame[];
}

export class BrokerView {
  readonly #b: BrokerCore;

  /** @internal Made by `Broker.inspect()`. */
  constructor(core: BrokerCore) {
    this.#b = core;
  }

  get id(): BrokerId {
    return this.#b.id;
  }

  /** The counters (live: they change as the broker runs). */
  get stats(): Readonly<BrokerStats> {
    return this.#b.stats;
  }

  /** Routing entries: local subscriptions plus remote interest entries. */
  get routingEntries(): number {
    return this.#b.interest.routingEntries;
  }

  /** The routing table's size as counted by the interest table (not a heap measurement). */
  get routingTableBytesCounted(): number {
    return this.#b.interest.bytes;
  }

  get localPatterns(): number {
    return this.#b.interest.local.patternCount;
  }

  get remotePatterns(): number {
    return this.#b.interest.remote.patternCount;
  }

  /** Guaranteed events in the spool. */
  get spoolEvents(): number {
    return this.#b.durable.spool.length;
  }

  /** Bytes held against the spool limit: the spool plus slow subscribers' overflow. */
  get spoolBytes(): number {
    const s = this.#b.durable.spool;
    return s.usedBytes + s.externalBytes;
  }

  get spoolPeakBytes(): number {
    return this.#b.durable.spool.peakBytes;
  }

  get ledgerEntries(): number {
    return this.#b.durable.ledger.size;
  }

  /** Guaranteed events held: spooled, unacknowledged, or waiting for an earlier one. */
  get heldEvents(): number {
    return this.#b.durable.held();
  }

  /** Link-state adverts held (one per known origin, ours included). */
  get adverts(): number {
    return this.#b.lsdb.size;
  }

  /** The sequence number of this broker's own interest adverts. */
  get interestSequence(): number {
    return this.#b.interest.ownSequence;
  }

  /** Bytes of slow subscribers' overflow and consumer-group backlogs held against the spool limit. */
  get spoolExternalBytes(): number {
    return this.#b.durable.spool.externalBytes;
  }

  /** (destination, next hop) for every reachable broker. */
  routes(): ReadonlyArray<readonly [BrokerId, BrokerId]> {
    return this.#b.lsdb.routes();
  }

  nextHop(dest: BrokerId): BrokerId | undefined {
    return this.#b.lsdb.nextHop(dest);
  }

  /** Neighbors with an established adjacency, in configuration order. */
  upNeighbors(): BrokerId[] {
    return upNeighbors(this.#b);
  }

  /** Events a lagging consumer-group member was skipped for [SHARE-3]. */
  get groupSharesMoved(): number {
    return groupSharesMoved(this.#b);
  }

  /** The interest table's content, for a heap measurement that rebuilds it. */
  interestImage(): InterestImage {
    const t = this.#b.interest;
    const snapshots: InterestFrame[] = [];
    for (const origin of t.knownOrigins()) {
      const snap = t.originSnapshot(origin);
      if (snap !== undefined) snapshots.push(snap);
    }
    return { self: t.self, locals: [...t.local.entries()].map(([, sub]) => sub), snapshots };
  }
}
