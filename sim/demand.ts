/**
 * [ACCT-4] The demand oracle: how many (event, subscriber) pairs an accepted publish creates,
 * from the scenario's populations alone — not from any broker's routing state. A pair exists for
 * every population whose client session is connected when the event is accepted and whose
 * pattern and selector accept it; a consumer group on a broker is one subscriber however many
 * members it has (the event is due to it once). This is the `expected` side of the conservation
 * line: delivered + dropped + in flight at end = expected.
 *
 * A run asks once per publish, so the lookup must be cheap: every pattern sits in one trie (the
 * engine's, engine/trie.ts — a dense table whose match costs about one cache miss per level on
 * the seed's 600,000 patterns, less than a Map keyed by the topic string, which hashes the
 * fresh string and then chases its bucket, entry and key).
 */
import { parseSelector, type Selector, type SelectorEvent } from '../engine/selector/index.ts';
import { groupKey, parseShared } from '../engine/share.ts';
import { SCRATCH_CLEAR } from '../engine/broker/core.ts';
import { SubscriptionTrie } from '../engine/trie.ts';
import type { Population } from './workload.ts';

interface Demand {
  /** The population's index (kept here, not behind a Population reference: one load less). */
  readonly pop: number;
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
      const d: Demand = { pop: pop.index, selector: pop.filter === null ? null : parseSelector(pop.filter), weight: shared === null ? pop.count : 1, group };
      this.trie.add(shared?.pattern ?? pop.pattern, d);
    }
    this.groupStamp = new Int32Array(groups.size);
  }

  /** A population's clients subscribed (or re-subscribed after their broker came back). */
  connect(popIndex: number): void {
    this.connected[popIndex] = 1;
  }

  /** A population's sessions ended (its broker crashed). */
  disconnect(popIndex: number): void {
    this.connected[popIndex] = 0;
  }

  /** Pairs an accepted publish creates now (its topic, and its headers and attributes for selectors). */
  demand(event: SelectorEvent): number {
    const stamp = ++this.stamp;
    let n = 0;
    // Matches append after what earlier calls left: truncating to 0 would free the array's
    // storage and make every call allocate it again.
    const out = this.scratch;
    if (out.length > SCRATCH_CLEAR) out.length = 0;
    const base = out.length;
    const end = base + this.trie.match(event.topic, out);
    for (let i = base; i < end; i++) n += this.weigh(out[i] as Demand, event, stamp);
    return n;
  }

  /** Subscribers one matching population is owed (0 when disconnected, filtered, or its group already counted). */
  private weigh(d: Demand, event: SelectorEvent, stamp: number): number {
    if (this.connected[d.pop] !== 1) return 0;
    if (d.selector !== null && !d.selector.matches(event)) return 0;
    if (d.group >= 0) {
      if (this.groupStamp[d.group] === stamp) return 0;
      this.groupStamp[d.group] = stamp;
    }
    return d.weight;
  }
}
