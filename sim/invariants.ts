/**
 * Invariants of a run, checked apart from the driver that runs it (TigerBeetle's
 * state_checker): an oracle that sees every publish and delivery through `MeshObserver` and
 * knows, from the scenario alone, which populations each event should reach.
 *
 * [INV-LOST]  No guaranteed event is lost while its spool had room: every accepted guaranteed
 *             event reaches every matching population on a broker that never crashed (a crash
 *             ends its clients' sessions) and never dropped for a full spool.
 * [INV-DUP]   No population receives the same event twice. A consumer group (engine/share.ts)
 *             counts as one population: the event is due to it once, to any one member.
 * [INV-MATCH] No population receives an event its pattern or selector does not accept.
 * [INV-LOOP]  No realtime event's path repeats a broker; no path is longer than the hop limit.
 * [INV-ORDER] Guaranteed events from one publisher reach each population in publish order.
 * [INV-CONV]  After the last fault, routes have converged: every live broker routes to exactly
 *             the brokers it can reach over live links, and following next hops gets there.
 */
import { parseSelector, type Selector } from '../engine/selector/index.ts';
import { groupKey, parseShared } from '../engine/share.ts';
import { matchesPattern } from '../engine/topic.ts';
import { SubscriptionTrie } from '../engine/trie.ts';
import type { BrokerId, Envelope } from '../engine/types.ts';
import type { PublishInput, PublishResult } from '../engine/broker.ts';
import type { Scenario } from '../scenarios/types.ts';
import type { MeshObserver } from './mesh.ts';
import type { Population, PublishStream } from './workload.ts';

/**
 * What the checker needs of a mesh: the simulated one (sim/mesh.ts) or a live run's view of its
 * broker processes (live/run/), so both are judged by the same invariants.
 */
export interface CheckedMesh {
  readonly scenario: Scenario;
  readonly durationMs: number;
  readonly streams: readonly PublishStream[];
  readonly populations: readonly Population[];
  node(id: BrokerId): CheckedNode | undefined;
  /** Whether the direction a → b is up. */
  linkUp(a: BrokerId, b: BrokerId): boolean;
}

export interface CheckedNode {
  readonly alive: boolean;
  readonly broker: { inspect(): { nextHop(dest: BrokerId): BrokerId | undefined; readonly stats: { readonly droppedSpoolFull: number } } };
}

export type InvariantName = 'lost' | 'duplicate' | 'match' | 'loop' | 'order' | 'convergence';

export interface Violation {
  readonly invariant: InvariantName;
  readonly message: string;
}

/** A growable bitset over event numbers of one stream. */
class Bits {
  private words = new Uint32Array(4);
  has(n: number): boolean {
    const w = n >>> 5;
    return w < this.words.length && ((this.words[w] as number) & (1 << (n & 31))) !== 0;
  }
  set(n: number): void {
    const w = n >>> 5;
    if (w >= this.words.length) {
      const bigger = new Uint32Array(Math.max(w + 1, this.words.length * 2));
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words[w] = (this.words[w] as number) | (1 << (n & 31));
  }
}

interface PopState {
  readonly pop: Population;
  /** The pattern events are matched against (a shared subscription's bare pattern). */
  readonly pattern: string;
  /**
   * [SHARE-1] Members of one consumer group on one broker share the delivered and expected sets
   * (an event is due to the group once, to any one member) and count as one subscriber; each
   * member keeps its own order.
   */
  readonly weight: number;
  readonly selector: Selector | null;
  /** Per stream: events delivered, guaranteed events expected, last guaranteed number delivered. */
  readonly delivered: Bits[];
  readonly expected: Bits[];
  readonly lastGuaranteed: Int32Array;
}

/** What the checker measured, for the summary (subscriber-weighted counts). */
export interface CheckedMessages {
  /** Deliveries the oracle expected, to populations it can judge (all classes). */
  readonly expected: number;
  /** Of those, delivered. */
  readonly deliveredExpected: number;
  readonly deliveredRatio: number;
  /** Guaranteed deliveries expected and never made [INV-LOST]. */
  readonly lost: number;
  /** Exact duplicate deliveries [INV-DUP]. */
  readonly duplicates: number;
  /** Populations the loss figures cover (brokers that never crashed). */
  readonly checkedPopulations: number;
}

export class InvariantChecker implements MeshObserver {
  readonly violations: Violation[] = [];
  private readonly trie = new SubscriptionTrie<PopState>();
  private readonly pops: PopState[];
  private readonly scratch: PopState[] = [];
  /** Per stream: which events were accepted, and whether guaranteed. */
  private readonly accepted: Bits[];
  private readonly guaranteedStream: boolean[];
  private expectedAll = 0;
  private deliveredExpectedAll = 0;
  private duplicates = 0;
  /** Cap per invariant, so a broken run does not print a million lines. */
  private readonly counts = new Map<InvariantName, number>();

  constructor(
    private readonly mesh: CheckedMesh,
    private readonly maxPerInvariant = 20,
  ) {
    const streams = mesh.streams.length;
    const groups = new Map<string, PopState>();
    this.pops = mesh.populations.map((pop) => {
      const shared = parseShared(pop.pattern);
      const key = shared === null ? '' : `${pop.broker}\u0000${groupKey(shared.group, shared.pattern, pop.filter)}`;
      const group = shared === null ? undefined : groups.get(key);
      // Order holds per member: members consume their shares at their own pace.
      if (group !== undefined) return { ...group, pop, lastGuaranteed: new Int32Array(streams).fill(-1) };
      const st: PopState = {
        pop,
        pattern: shared?.pattern ?? pop.pattern,
        weight: shared === null ? pop.count : 1,
        selector: pop.filter === null ? null : parseSelector(pop.filter),
        delivered: Array.from({ length: streams }, () => new Bits()),
        expected: Array.from({ length: streams }, () => new Bits()),
        lastGuaranteed: new Int32Array(streams).fill(-1),
      };
      if (shared !== null) groups.set(key, st);
      this.trie.add(st.pattern, st);
      return st;
    });
    this.accepted = Array.from({ length: streams }, () => new Bits());
    this.guaranteedStream = mesh.streams.map((s) => s.spec.delivery === 'guaranteed');
  }

  publish(_now: number, stream: PublishStream, n: number, input: PublishInput, result: PublishResult | 'broker-down'): void {
    if (result !== 'accepted') return;
    this.accepted[stream.index]?.set(n);
    const out = this.scratch;
    out.length = 0;
    const k = this.trie.match(input.topic, out);
    for (let i = 0; i < k; i++) {
      const st = out[i] as PopState;
      if (st.selector !== null && !st.selector.matches(input)) continue;
      st.expected[stream.index]?.set(n);
    }
  }

  deliver(_now: number, pop: Population, env: Envelope, guaranteed: boolean): void {
    const st = this.pops[pop.index] as PopState;
    const [si, n] = parseId(env.id);
    if (!matchesPattern(st.pattern, env.topic) || (st.selector !== null && !st.selector.matches(env))) {
      this.fail('match', `population ${pop.index} (${pop.pattern}${pop.filter === null ? '' : ` where ${pop.filter}`}) on ${pop.broker} received ${env.id} on ${env.topic}`);
    }
    if (env.path.length > this.mesh.scenario.routing.hopLimit + 1) this.fail('loop', `${env.id} reached ${pop.broker} over ${env.path.length - 1} hops: ${env.path.join(' > ')}`);
    if (!guaranteed && new Set(env.path).size !== env.path.length) this.fail('loop', `realtime ${env.id} looped: ${env.path.join(' > ')}`);
    const delivered = st.delivered[si];
    if (delivered === undefined) return;
    if (delivered.has(n)) {
      this.duplicates += st.weight;
      this.fail('duplicate', `population ${pop.index} on ${pop.broker} received ${env.id} twice`);
      return;
    }
    delivered.set(n);
    if (guaranteed) {
      const last = st.lastGuaranteed[si] as number;
      if (n < last) this.fail('order', `population ${pop.index} on ${pop.broker} received ${env.id} after ${si}-${last}`);
      else st.lastGuaranteed[si] = n;
    }
  }

  /** Ends the run's checks: loss and convergence need the whole run. Call once, at the end. */
  finish(): CheckedMessages {
    const crashed = new Set<BrokerId>();
    for (const f of this.mesh.scenario.faults) if (f.action === 'crash' && f.atMs <= this.mesh.durationMs) crashed.add(f.target[0] as string);
    let lost = 0;
    let checked = 0;
    const seen = new Set<Bits[]>();
    for (const st of this.pops) {
      if (seen.has(st.delivered)) continue; // a consumer group's other members
      seen.add(st.delivered);
      const node = this.mesh.node(st.pop.broker);
      if (crashed.has(st.pop.broker) || node === undefined || node.broker.inspect().stats.droppedSpoolFull > 0) continue;
      checked++;
      for (let si = 0; si < this.mesh.streams.length; si++) {
        const stream = this.mesh.streams[si] as PublishStream;
        const exp = st.expected[si] as Bits;
        const got = st.delivered[si] as Bits;
        for (let n = 0; n < stream.n; n++) {
          if (!exp.has(n)) continue;
          this.expectedAll += st.weight;
          if (got.has(n)) this.deliveredExpectedAll += st.weight;
          else if (this.guaranteedStream[si] === true) {
            lost += st.weight;
            this.fail('lost', `guaranteed ${si}-${n} never reached population ${st.pop.index} (${st.pop.pattern}) on ${st.pop.broker}`);
          }
        }
      }
    }
    for (const v of convergenceViolations(this.mesh)) this.fail('convergence', v);
    return {
      expected: this.expectedAll,
      deliveredExpected: this.deliveredExpectedAll,
      deliveredRatio: this.expectedAll === 0 ? 1 : this.deliveredExpectedAll / this.expectedAll,
      lost,
      duplicates: this.duplicates,
      checkedPopulations: checked,
    };
  }

  private fail(invariant: InvariantName, message: string): void {
    const c = (this.counts.get(invariant) ?? 0) + 1;
    this.counts.set(invariant, c);
    if (c <= this.maxPerInvariant) this.violations.push({ invariant, message });
    else if (c === this.maxPerInvariant + 1) this.violations.push({ invariant, message: `… more ${invariant} violations not listed` });
  }
}

function parseId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/**
 * [INV-CONV] Compares every live broker's routes with the live topology: a link counts when both
 * directions are up and both ends are alive.
 */
export function convergenceViolations(mesh: CheckedMesh): string[] {
  const out: string[] = [];
  const ids = mesh.scenario.regions.flatMap((r) => r.brokers);
  const alive = ids.filter((id) => mesh.node(id)?.alive === true);
  const adj = new Map<BrokerId, BrokerId[]>(alive.map((id) => [id, []]));
  for (const l of mesh.scenario.links) {
    const [a, b] = l.between;
    if (adj.has(a) && adj.has(b) && mesh.linkUp(a, b) && mesh.linkUp(b, a)) {
      (adj.get(a) as BrokerId[]).push(b);
      (adj.get(b) as BrokerId[]).push(a);
    }
  }
  for (const src of alive) {
    const reach = new Set<BrokerId>([src]);
    const queue = [src];
    while (queue.length > 0) for (const n of adj.get(queue.shift() as BrokerId) ?? []) if (!reach.has(n)) reach.add(n), queue.push(n);
    const lsdb = (mesh.node(src) as CheckedNode).broker.inspect();
    for (const dest of ids) {
      if (dest === src) continue;
      const hop = lsdb.nextHop(dest);
      if (!reach.has(dest)) {
        if (hop !== undefined) out.push(`${src} still routes to unreachable ${dest} via ${hop}`);
        continue;
      }
      if (hop === undefined) {
        out.push(`${src} has no route to reachable ${dest}`);
        continue;
      }
      // Follow next hops over live links; it must arrive without revisiting a broker.
      const seen = new Set<BrokerId>([src]);
      let at = src;
      let next: BrokerId | undefined = hop;
      while (next !== undefined && next !== dest) {
        if (seen.has(next) || !(adj.get(at) ?? []).includes(next)) break;
        seen.add(next);
        at = next;
        next = (mesh.node(at) as CheckedNode).broker.inspect().nextHop(dest);
      }
      if (next !== dest || !(adj.get(at) ?? []).includes(dest)) out.push(`following next hops from ${src} to ${dest} does not arrive (stuck at ${at})`);
    }
  }
  return out;
}
