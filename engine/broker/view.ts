/**
 * A read-only view of a broker for reports, the browser view and invariant checkers: what they
 * read, without reaching into the broker's tables (`broker.inspect()`). Cheap to ask: the view
 * is one object per broker, each figure read when asked.
 */
import type { InterestFrame } from '../frames.ts';
import type { LocalSubscription } from '../interest.ts';
import type { BrokerId, Envelope } from '../types.ts';
import { upNeighbors } from './adjacency.ts';
import type { BrokerCore, DeniedCounts } from './core.ts';
import type { SchemaRegistry } from '../schema/registry.ts';
import type { GovernanceDocument } from './governance.ts';
import { groupSharesMoved, matchLocal, scratchBase } from './local.ts';

/** One held event: bound for a broker (`dest`), or waiting for a local subscription (`sub`). */
export type HeldVisitor = (env: Envelope, dest: BrokerId | null, sub: LocalSubscription | null) => void;
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

  /** The policy's version in force (0: none installed) [ACL-2]. */
  get policyVersion(): number {
    return this.#b.acl.version;
  }

  /** What the policy refused, per principal [ACL-3..5]. */
  denied(): ReadonlyMap<string, Readonly<DeniedCounts>> {
    return this.#b.denied;
  }

  /** The schema registry's version in force (0: none installed) [SCHEMA-3]. */
  get schemasVersion(): number {
    return this.#b.schemas.version;
  }

  /** The schema registry in force, with each subject's counters here [SCHEMA-3][SCHEMA-7]. */
  get schemas(): SchemaRegistry {
    return this.#b.schemas;
  }

  /** Mesh-wide documents held [GOV-1]. */
  documents(): GovernanceDocument[] {
    return [...this.#b.documents.values()];
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

  /**
   * [ACCT-3] The local subscriptions `env` would reach now (pattern and selector; one member per
   * consumer group), appended to `out`; returns how many. What a copy bound here is worth.
   */
  matchLocal(env: Envelope, out: LocalSubscription[]): number {
    const b = this.#b;
    const base = scratchBase(b);
    const end = matchLocal(b, env, base);
    for (let i = base; i < end; i++) out.push(b.localScratch[i] as LocalSubscription);
    return end - base;
  }

  /**
   * [ACCT-3] Every event this broker holds and has not yet delivered: slow subscribers' queues and
   * consumer-group backlogs (memory: lost in a crash), then its durable custody (`forEachCustody`).
   */
  forEachHeld(visit: HeldVisitor): void {
    for (const [, sub] of this.#b.interest.local.entries()) sub.consumer?.forEachWaiting((env) => visit(env, null, sub));
    for (const group of this.#b.groups.values()) {
      const member = group.members[0];
      if (member !== undefined) group.forEachHeld((env) => visit(env, null, member));
    }
    this.forEachCustody(visit);
  }

  /**
   * [ACCT-3] The durable custody: spooled and unacknowledged copies bound for `dest`, and events
   * its resequencers hold for this broker. A guaranteed copy can be in two custodies at once
   * (sent, not yet acknowledged): the caller dedupes.
   */
  forEachCustody(visit: HeldVisitor): void {
    const d = this.#b.durable;
    d.spool.forEach((e) => visit(e.env, e.dest, null));
    for (const outbox of d.outboxes.values()) for (const p of outbox.pending.values()) for (const dest of p.dests) visit(p.env, dest, null);
    for (const r of d.resequencers.values()) for (const env of r.waiting.values()) visit(env, this.#b.id, null);
  }

  /** Guaranteed frames sent again to `neighbor` [REL-3]. */
  retransmittedTo(neighbor: BrokerId): number {
    return this.#b.durable.outboxes.get(neighbor)?.retransmitted ?? 0;
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
