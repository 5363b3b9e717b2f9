/**
 * Who wants what: local subscriptions, and the interest other brokers advertised.
 *
 * [INT-1] A broker advertises each distinct (pattern, selector) its local subscribers hold, once,
 *         however many subscribers share it (a refcount keeps it until the last one leaves).
 * [INT-2] Interest from each origin carries a sequence number; a delta applies only on top of
 *         the state it follows, a reset (database exchange) replaces the origin's whole set.
 * [INT-3] The selector travels with the interest and is compiled where it lands, so the
 *         publishing broker can filter before the WAN (edge filtering).
 */
import type { ConsumerQueue } from './consumer.ts';
import type { InterestEntry, InterestFrame } from './frames.ts';
import type { ShareGroup } from './share.ts';
import { tryParseSelector, type Selector } from './selector/index.ts';
import { validatePattern } from './topic.ts';
import { SubscriptionTrie } from './trie.ts';
import { UsageError, type BrokerId } from './types.ts';

/** A population of identical local subscribers: one routing entry, `count` deliveries. */
export interface LocalSubscription {
  readonly id: number;
  readonly pattern: string;
  readonly filter: string | null;
  readonly selector: Selector | null;
  readonly count: number;
  /** The host's own handle (which client or population this is). */
  readonly tag: unknown;
  /** Its queue at the broker once the host paces it (slow consumers, consumer.ts); null: unpaced. */
  consumer: ConsumerQueue | null;
  /** Its consumer group when subscribed as `$share/GROUP/PATTERN` (share.ts); null otherwise. */
  share: ShareGroup | null;
  /** Who subscribed, for the policy [ACL-5]; null: not subject to it (the host's own subscriptions). */
  principal: string | null;
  /** The policy version `aclAllowed` and `aclTypesOnly` were decided under (-1: not yet). */
  aclVersion: number;
  /** [ACL-4] The policy of `aclVersion` allows the subscription. */
  aclAllowed: boolean;
  /** [ACL-4] Delivery limited to the types the principal's allow rules name. */
  aclTypesOnly: boolean;
}

/** How many subscribers one delivery to `sub` reaches: all `count`, or one member of a consumer group. */
export function receivers(sub: LocalSubscription): number {
  return sub.share === null ? sub.count : 1;
}

/** One (origin, pattern, selector) a remote broker advertised. */
export interface RemoteInterest {
  readonly origin: BrokerId;
  /** Dense per-broker index of the origin, for allocation-free de-duplication. */
  readonly originIdx: number;
  readonly pattern: string;
  readonly filter: string | null;
  readonly selector: Selector | null;
}

interface OwnEntry {
  readonly pattern: string;
  readonly filter: string | null;
  refs: number;
}

interface OriginDb {
  seq: number;
  readonly entries: Map<string, RemoteInterest>;
}

/** Outcome of applying an interest frame, for the broker's flooding decision. */
export type InterestApply = { readonly kind: 'applied' } | { readonly kind: 'stale' } | { readonly kind: 'gap'; readonly expected: number } | { readonly kind: 'bad-entry'; readonly reason: string };

const keyOf = (pattern: string, filter: string | null): string => (filter === null ? pattern : `${pattern}\u0000${filter}`);

export class InterestTable {
  readonly local = new SubscriptionTrie<LocalSubscription>();
  readonly remote = new SubscriptionTrie<RemoteInterest>();
  private readonly own = new Map<string, OwnEntry>();
  private readonly origins = new Map<BrokerId, OriginDb>();
  private readonly originIndex = new Map<BrokerId, number>();
  private readonly originIds: BrokerId[] = [];
  private ownSeq = 0;
  private pending: InterestEntry[] = [];
  private nextSubId = 1;

  constructor(readonly self: BrokerId) {
    this.indexOf(self);
  }

  /** Dense index of a broker id (assigned on first sight, never reused). */
  indexOf(id: BrokerId): number {
    let idx = this.originIndex.get(id);
    if (idx === undefined) {
      idx = this.originIds.length;
      this.originIndex.set(id, idx);
      this.originIds.push(id);
    }
    return idx;
  }

  idAt(idx: number): BrokerId {
    return this.originIds[idx] as BrokerId;
  }

  get knownBrokers(): number {
    return this.originIds.length;
  }

  get ownSequence(): number {
    return this.ownSeq;
  }

  /** Adds a local subscription population; queues an advert if its (pattern, selector) is new [INT-1]. */
  subscribe(pattern: string, filter: string | null, selector: Selector | null, count: number, tag: unknown): LocalSubscription {
    const sub: LocalSubscription = { id: this.nextSubId++, pattern, filter, selector, count, tag, consumer: null, share: null, principal: null, aclVersion: -1, aclAllowed: true, aclTypesOnly: false };
    this.local.add(pattern, sub);
    const key = keyOf(pattern, filter);
    const entry = this.own.get(key);
    if (entry !== undefined) entry.refs++;
    else {
      this.own.set(key, { pattern, filter, refs: 1 });
      this.pending.push({ op: 'add', pattern, selector: filter });
    }
    return sub;
  }

  /** Removes a local subscription; queues a withdrawal when the last holder of its key leaves. */
  unsubscribe(sub: LocalSubscription): boolean {
    if (!this.local.remove(sub.pattern, sub)) return false;
    const key = keyOf(sub.pattern, sub.filter);
    const entry = this.own.get(key);
    if (entry !== undefined && --entry.refs === 0) {
      this.own.delete(key);
      this.pending.push({ op: 'remove', pattern: sub.pattern, selector: sub.filter });
    }
    return true;
  }

  /** True when local subscription changes wait to be advertised. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Takes queued deltas as frames of at most `chunk` entries, each with the next own sequence. */
  takeDeltas(chunk: number): InterestFrame[] {
    const frames: InterestFrame[] = [];
    for (let i = 0; i < this.pending.length; i += chunk) {
      frames.push({ kind: 3, origin: this.self, seq: ++this.ownSeq, reset: false, entries: this.pending.slice(i, i + chunk) });
    }
    this.pending = [];
    return frames;
  }

  /**
   * Our own full state as one reset frame. With `bump` it takes a new sequence and folds queued
   * deltas in (re-advertising after a restart); without, it describes the current sequence,
   * which is only true when no deltas are queued (the database exchange flushes them first).
   */
  ownSnapshot(bump: boolean): InterestFrame {
    if (bump) {
      this.pending = [];
      this.ownSeq++;
    } else if (this.pending.length > 0) {
      throw new UsageError('ownSnapshot(false) with queued deltas: flush them first');
    }
    const entries: InterestEntry[] = [];
    for (const e of this.own.values()) entries.push({ op: 'add', pattern: e.pattern, selector: e.filter });
    return { kind: 3, origin: this.self, seq: this.ownSeq, reset: true, entries };
  }

  /** What we know of another origin, as a reset frame at that origin's sequence. */
  originSnapshot(origin: BrokerId): InterestFrame | undefined {
    const db = this.origins.get(origin);
    if (db === undefined) return undefined;
    const entries: InterestEntry[] = [];
    for (const r of db.entries.values()) entries.push({ op: 'add', pattern: r.pattern, selector: r.filter });
    return { kind: 3, origin, seq: db.seq, reset: true, entries };
  }

  /** Origins we hold interest for, in first-seen order. */
  knownOrigins(): IterableIterator<BrokerId> {
    return this.origins.keys();
  }

  /**
   * Our own interest came back with a sequence at or above ours (we restarted and the mesh
   * remembers an older life): jump past it so our next advert wins.
   */
  bumpOwnSequence(seen: number): void {
    if (seen >= this.ownSeq) this.ownSeq = seen;
  }

  /** Applies a frame from another origin [INT-2][INT-3]. */
  apply(frame: InterestFrame): InterestApply {
    let db = this.origins.get(frame.origin);
    const known = db === undefined ? 0 : db.seq;
    if (frame.seq <= known) return { kind: 'stale' };
    if (!frame.reset && frame.seq !== known + 1) return { kind: 'gap', expected: known + 1 };
    // Compile every selector before touching state, so a bad frame changes nothing.
    const compiled: Array<Selector | null> = [];
    for (const e of frame.entries) {
      const bad = validatePattern(e.pattern);
      if (bad !== null) return { kind: 'bad-entry', reason: `pattern ${JSON.stringify(e.pattern)}: ${bad}` };
      if (e.op === 'add' && e.selector !== null) {
        const parsed = tryParseSelector(e.selector);
        if (!parsed.ok) return { kind: 'bad-entry', reason: `selector ${JSON.stringify(e.selector)}: ${parsed.error.message}` };
        compiled.push(parsed.selector);
      } else compiled.push(null);
    }
    if (db === undefined) {
      db = { seq: 0, entries: new Map() };
      this.origins.set(frame.origin, db);
    }
    if (frame.reset) this.clearOrigin(db);
    const originIdx = this.indexOf(frame.origin);
    for (let i = 0; i < frame.entries.length; i++) {
      const e = frame.entries[i] as InterestEntry;
      const key = keyOf(e.pattern, e.selector);
      if (e.op === 'add') {
        if (db.entries.has(key)) continue;
        const r: RemoteInterest = { origin: frame.origin, originIdx, pattern: e.pattern, filter: e.selector, selector: compiled[i] ?? null };
        db.entries.set(key, r);
        this.remote.add(e.pattern, r);
      } else {
        const r = db.entries.get(key);
        if (r === undefined) continue;
        db.entries.delete(key);
        this.remote.remove(r.pattern, r);
      }
    }
    db.seq = frame.seq;
    return { kind: 'applied' };
  }

  private clearOrigin(db: OriginDb): void {
    for (const r of db.entries.values()) this.remote.remove(r.pattern, r);
    db.entries.clear();
  }

  /** Routing entries: local populations plus remote (origin, pattern, selector) triples. */
  get routingEntries(): number {
    return this.local.entryCount + this.remote.entryCount;
  }

  /** Self-counted bytes of both tries. */
  get bytes(): number {
    return this.local.bytes + this.remote.bytes;
  }
}
