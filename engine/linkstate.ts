/**
 * The link-state database and shortest paths.
 *
 * [LS-1] Every broker originates one advert listing its live adjacencies and their costs, with a
 *        sequence number that only grows. A newer advert replaces an older one; older or equal
 *        ones are ignored (and not flooded again), so flooding stops.
 * [LS-2] An edge counts only when both ends list each other (two-way check), so a half-dead
 *        link is never used.
 * [LS-3] Dijkstra from this broker over those edges; ties are broken by broker id so every run
 *        computes the same tree. The result is, per destination, the neighbor to send to.
 */
import type { LinkStateFrame, LinkStateNeighbor } from './frames.ts';
import type { BrokerId } from './types.ts';

/** One stored advert. */
export interface Advert {
  readonly origin: BrokerId;
  readonly seq: number;
  readonly neighbors: readonly LinkStateNeighbor[];
}

export class LinkStateDb {
  private readonly adverts = new Map<BrokerId, Advert>();
  /** destination → first hop, recomputed by `computeRoutes`. */
  private nextHops = new Map<BrokerId, BrokerId>();
  /** Path cost to each reachable broker, from the last computeRoutes. */
  private costs = new Map<BrokerId, number>();

  constructor(readonly self: BrokerId) {}

  /** Number of adverts held (one per known broker). */
  get size(): number {
    return this.adverts.size;
  }

  get(origin: BrokerId): Advert | undefined {
    return this.adverts.get(origin);
  }

  /** All adverts in insertion order (deterministic). */
  all(): IterableIterator<Advert> {
    return this.adverts.values();
  }

  /**
   * Offers an advert. Returns 'newer' if it replaced what we had (caller floods it on and
   * recomputes), 'same-or-older' otherwise [LS-1].
   */
  offer(frame: LinkStateFrame | Advert): 'newer' | 'same-or-older' {
    const known = this.adverts.get(frame.origin);
    if (known !== undefined && known.seq >= frame.seq) return 'same-or-older';
    this.adverts.set(frame.origin, { origin: frame.origin, seq: frame.seq, neighbors: frame.neighbors });
    return 'newer';
  }

  /** The first hop toward `dest`, or undefined when unreachable (or dest is self). */
  nextHop(dest: BrokerId): BrokerId | undefined {
    return this.nextHops.get(dest);
  }

  /** The shortest path's cost to `dest` (undefined when unreachable). */
  distance(dest: BrokerId): number | undefined {
    return this.costs.get(dest);
  }

  /** A snapshot of the routing table: destination → next hop, sorted by destination. */
  routes(): Array<[BrokerId, BrokerId]> {
    return [...this.nextHops.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /**
   * Recomputes shortest paths from self [LS-2][LS-3]. Returns true if any next hop changed.
   * The mesh has tens of brokers, so an O(V²) scan is both simple and fast enough.
   */
  computeRoutes(): boolean {
    const dist = new Map<BrokerId, number>();
    const first = new Map<BrokerId, BrokerId>();
    const done = new Set<BrokerId>();
    dist.set(this.self, 0);
    for (;;) {
      let u: BrokerId | undefined;
      let best = Infinity;
      for (const [id, d] of dist) {
        if (done.has(id)) continue;
        if (d < best || (d === best && u !== undefined && id < u)) {
          best = d;
          u = id;
        }
      }
      if (u === undefined) break;
      done.add(u);
      const advert = this.adverts.get(u);
      if (advert === undefined) continue;
      for (const n of advert.neighbors) {
        if (done.has(n.id) || !this.listsBack(n.id, u)) continue;
        const nd = best + n.cost;
        const hop = u === this.self ? n.id : (first.get(u) as BrokerId);
        const old = dist.get(n.id);
        // Equal cost: keep the path whose first hop sorts first, so the tree is deterministic.
        if (old === undefined || nd < old || (nd === old && hop < (first.get(n.id) as BrokerId))) {
          dist.set(n.id, nd);
          first.set(n.id, hop);
        }
      }
    }
    let changed = first.size !== this.nextHops.size;
    if (!changed) {
      for (const [dest, hop] of first) {
        if (this.nextHops.get(dest) !== hop) {
          changed = true;
          break;
        }
      }
    }
    this.nextHops = first;
    this.costs = dist;
    return changed;
  }

  private listsBack(from: BrokerId, to: BrokerId): boolean {
    const advert = this.adverts.get(from);
    if (advert === undefined) return false;
    for (const n of advert.neighbors) if (n.id === to) return true;
    return false;
  }
}
