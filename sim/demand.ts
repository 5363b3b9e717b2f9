/**
 * [ACCT-4] The demand oracle: how many (event, subscriber) pairs an accepted publish creates,
 * from the scenario's populations alone — not from any broker's routing state. A pair exists for
 * every population whose client session is connected when the event is accepted and whose
 * pattern and selector accept it; a consumer group on a broker is one subscriber however many
 * members it has (the event is due to it once). This is the `expected` side of the conservation
 * line: delivered + dropped + in flight at end = expected.
 *
 * A run asks once per publish, so answers are cached per topic while no session connects or
 * disconnects and no population has a selector (then the answer depends on the topic alone):
 * on the seed's 600,000 patterns a trie match costs a few µs of cache misses, a Map hit far less.
 */
import { parseSelector, type Selector } from '../engine/selector/index.ts';
import { groupKey, parseShared } from '../engine/share.ts';
import { SubscriptionTrie } from '../engine/trie.ts';
import type { Headers } from '../engine/types.ts';
import type { Population } from './workload.ts';

interface Demand {
  readonly pop: Population;
  readonly selector: Selector | null;
  /** Subscribers one matching event is due to: the population's count, or 1 for a group member. */
  readonly weight: number;
  /** Members of one consumer group on one broker share a slot, so the group counts once. */
  readonly group: number;
}

export class DemandOracle {
  private readonly trie = new SubscriptionTrie<Demand>();
  private readonly connected: Uint8Array;
  private readonly groupStamp: Int32Array;
  private stamp = 0;
  private readonly scratch: Demand[] = [];
  /** Answers by topic (only when no population has a selector); cleared when sessions change. */
  private readonly cache: Map<string, number> | null;

  constructor(populations: readonly Population[]) {
    this.connected = new Uint8Array(populations.length);
    const groups = new Map<string, number>();
    for (const pop of populations) {
      const shared = parseShared(pop.pattern);
      let group = -1;
      if (shared !== null) {
        const key = `${pop.broker}\u0000${groupKey(shared.group, shared.pattern, pop.filter)}`;
        group = groups.get(key) ?? groups.size;
        groups.set(key, group);
      }
      const d: Demand = { pop, selector: pop.filter === null ? null : parseSelector(pop.filter), weight: shared === null ? pop.count : 1, group };
      this.trie.add(shared?.pattern ?? pop.pattern, d);
    }
    this.groupStamp = new Int32Array(groups.size);
    this.cache = populations.some((p) => p.filter !== null) ? null : new Map();
  }

  /** A population's clients subscribed (or re-subscribed after their broker came back). */
  connect(popIndex: number): void {
    if (this.connected[popIndex] === 1) return;
    this.connected[popIndex] = 1;
    this.cache?.clear();
  }

  /** A population's sessions ended (its broker crashed). */
  disconnect(popIndex: number): void {
    if (this.connected[popIndex] === 0) return;
    this.connected[popIndex] = 0;
    this.cache?.clear();
  }

  isConnected(popIndex: number): boolean {
    return this.connected[popIndex] === 1;
  }

  /** Pairs an event on `topic` with `headers` creates now. */
  demand(topic: string, headers: Headers): number {
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache.get(topic);
      if (hit !== undefined) return hit;
      const n = this.match(topic, headers);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(topic, n);
      return n;
    }
    return this.match(topic, headers);
  }

  private match(topic: string, headers: Headers): number {
    const out = this.scratch;
    out.length = 0;
    const k = this.trie.match(topic, out);
    if (k === 0) return 0;
    const stamp = ++this.stamp;
    let n = 0;
    for (let i = 0; i < k; i++) {
      const d = out[i] as Demand;
      if (this.connected[d.pop.index] !== 1) continue;
      if (d.selector !== null && !d.selector.matches(headers)) continue;
      if (d.group >= 0) {
        if (this.groupStamp[d.group] === stamp) continue;
        this.groupStamp[d.group] = stamp;
      }
      n += d.weight;
    }
    return n;
  }
}

/** Topics remembered at most (the seed publishes on 500,001). */
const CACHE_MAX = 1 << 20;
