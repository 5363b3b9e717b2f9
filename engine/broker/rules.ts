/**
 * Operator routing rules [RULE-1..3] (seed 002's `event_routing_rules`): static routes the engine
 * honors beside dynamic interest.
 *
 * [RULE-1] A rule (name, topic pattern, optional selector, destination brokers) sends every event
 *          its pattern and selector accept toward each destination, whether or not a subscriber
 *          there advertised interest: a sink, an archive, a region that must see everything.
 * [RULE-2] The host sets the rules as a whole (`setRoutingRules`), replacing the last set; a
 *          suspended rule is one the host leaves out. A region is the host's to resolve into
 *          brokers; a rule naming this broker adds nothing (local delivery is interest's).
 * [RULE-3] A rule's destinations join interest's, one copy per destination: an event that both
 *          interest and a rule send to a broker goes there once.
 */
import { parseSelector, type Selector } from '../selector/index.ts';
import { SubscriptionTrie } from '../trie.ts';
import { validatePattern } from '../topic.ts';
import { UsageError, type BrokerId, type Envelope } from '../types.ts';
import type { BrokerCore } from './core.ts';

export interface RoutingRuleSpec {
  readonly name: string;
  readonly pattern: string;
  readonly filter: string | null;
  readonly dests: readonly BrokerId[];
}

interface Rule {
  readonly spec: RoutingRuleSpec;
  readonly selector: Selector | null;
}

/** The compiled rule set; null when there are none (the publish path checks one field). */
export class RoutingRules {
  readonly #trie = new SubscriptionTrie<Rule>();
  readonly #scratch: Rule[] = [];
  readonly specs: readonly RoutingRuleSpec[];

  constructor(specs: readonly RoutingRuleSpec[]) {
    this.specs = specs;
    for (const spec of specs) {
      const bad = validatePattern(spec.pattern);
      if (bad !== null) throw new UsageError(`routing rule ${spec.name}: pattern ${JSON.stringify(spec.pattern)}: ${bad}`);
      this.#trie.add(spec.pattern, { spec, selector: spec.filter === null ? null : parseSelector(spec.filter) });
    }
  }

  /** [RULE-1][RULE-3] Adds to `dests` each rule destination for `env` not already there (never `self`). */
  addDests(env: Envelope, self: BrokerId, dests: BrokerId[]): void {
    const rules = this.#scratch;
    rules.length = 0;
    this.#trie.match(env.topic, rules);
    for (const r of rules) {
      if (r.selector !== null && !r.selector.matches(env)) continue;
      for (const d of r.spec.dests) if (d !== self && !dests.includes(d)) dests.push(d);
    }
  }

  /** The rules whose pattern and selector accept `env` (for explain). */
  matching(env: Envelope): RoutingRuleSpec[] {
    const rules: Rule[] = [];
    this.#trie.match(env.topic, rules);
    return rules.filter((r) => r.selector === null || r.selector.matches(env)).map((r) => r.spec);
  }
}

/** [RULE-2] Replaces the broker's rules (an empty list removes them). Throws UsageError on a bad rule. */
export function setRoutingRules(b: BrokerCore, specs: readonly RoutingRuleSpec[]): void {
  b.rules = specs.length === 0 ? null : new RoutingRules(specs);
}
