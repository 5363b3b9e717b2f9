/**
 * Global publish/subscribe policies [ACL-1..7], as seed 004 writes them:
 *
 * ```yaml
 * acl:
 *   - name: production-access
 *     principal: service:payment-service
 *     allow:
 *       - publish: "com.company.payment.*"      # a CloudEvents type glob
 *       - subscribe: "orders/+/created"         # an MQTT-style topic filter
 *     deny:
 *       - subscribe: "com.company.*.internal"
 * ```
 *
 * [ACL-1] A rule's pattern is a topic filter when it contains `/`, `+` or `#`, or is written
 * `topic:PATTERN`; a CloudEvents type glob (`*` any run of characters) when it contains `.` or
 * `*`, or is written `type:GLOB`; a bare word (`orders`) is a topic. A principal is a string such
 * as `service:payment-service`, `cert:alice`, `mqtt:sensor-7`, `token:ci`, `broker:us-1`; an
 * entry's `principal` may be a glob (`service:*`, `*`).
 *
 * [ACL-2] Deny wins: an action is refused when any deny rule of an entry for the principal
 * applies, else allowed when an allow rule applies, else refused — a mesh with policies denies
 * what no entry allows. A mesh without policies (an empty list) allows everything.
 *
 * [ACL-3] Publish of (topic, type): a topic rule applies when its filter matches the topic, a type
 * rule when its glob matches the type.
 *
 * [ACL-4] Subscribe to a filter F: refused when a deny topic rule *intersects* F (some topic
 * could reach the subscriber through both; deny wins, so the subscriber must narrow its filter);
 * allowed outright when an allow topic rule *covers* F (every topic F matches); allowed
 * *restricted to types* when the principal has allow type rules (then only events whose type an
 * allow type glob matches are delivered); else refused.
 *
 * [ACL-5] Delivery: an event whose type a deny subscribe type rule matches is not delivered to
 * the principal's subscriptions, nor, on a restricted subscription, one no allow type glob
 * matches. Both are counted as denied, like a refused publish.
 *
 * The policy is immutable and versioned: a change is a new AclPolicy with a higher version, which
 * the mesh floods like a link-state advert (brokers keep the highest version they have seen, so a
 * broker cut off keeps enforcing its last one).
 */
import { filterCovers, filtersIntersect, matchesPattern, validatePattern } from './topic.ts';
import { UsageError } from './types.ts';

export type AclAction = 'publish' | 'subscribe';

/** One rule as written: `{ publish: PATTERN }` or `{ subscribe: PATTERN }`. */
export type AclRuleSpec = { readonly publish: string } | { readonly subscribe: string };

export interface AclEntrySpec {
  readonly name?: string;
  readonly principal: string;
  readonly allow?: readonly AclRuleSpec[];
  readonly deny?: readonly AclRuleSpec[];
}

/** A compiled rule. */
export interface AclRule {
  readonly action: AclAction;
  readonly kind: 'topic' | 'type';
  /** The filter or glob, without a `topic:`/`type:` prefix. */
  readonly pattern: string;
  /** As written, for reports (`publish: com.company.payment.*`). */
  readonly text: string;
  readonly glob: RegExp | null;
}

interface Entry {
  readonly name: string;
  readonly principal: string;
  readonly principalGlob: RegExp | null;
  readonly allow: readonly AclRule[];
  readonly deny: readonly AclRule[];
}

/** Why an action was allowed or refused: the entry and rule that decided, or that none allowed. */
export interface AclDecision {
  readonly allowed: boolean;
  /** `allow`: an allow rule applied; `deny`: a deny rule applied; `no-allow`: no entry allows it; `open`: the mesh has no policies. */
  readonly by: 'allow' | 'deny' | 'no-allow' | 'open';
  readonly entry: string | null;
  readonly rule: string | null;
  /** Subscribe only: delivery limited to events whose type an allow type rule matches [ACL-4]. */
  readonly typesOnly: boolean;
}

const OPEN: AclDecision = { allowed: true, by: 'open', entry: null, rule: null, typesOnly: false };
const NO_ALLOW: AclDecision = { allowed: false, by: 'no-allow', entry: null, rule: null, typesOnly: false };

/** A `*` glob → an anchored RegExp (`*` any run of characters, everything else literal). */
export function globRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** [ACL-1] Which kind a written pattern is, and the pattern without its prefix. */
export function classifyPattern(written: string): { kind: 'topic' | 'type'; pattern: string } {
  if (written.startsWith('topic:')) return { kind: 'topic', pattern: written.slice(6) };
  if (written.startsWith('type:')) return { kind: 'type', pattern: written.slice(5) };
  if (/[/+#]/.test(written)) return { kind: 'topic', pattern: written };
  if (/[.*]/.test(written)) return { kind: 'type', pattern: written };
  return { kind: 'topic', pattern: written };
}

function compileRule(spec: AclRuleSpec, where: string): AclRule {
  const keys = Object.keys(spec);
  if (keys.length !== 1 || (keys[0] !== 'publish' && keys[0] !== 'subscribe')) {
    throw new UsageError(`${where}: expected one of publish: PATTERN or subscribe: PATTERN, found ${JSON.stringify(spec)}`);
  }
  const action = keys[0] as AclAction;
  const written = (spec as Record<string, unknown>)[action];
  if (typeof written !== 'string' || written.length === 0) throw new UsageError(`${where}.${action}: expected a pattern, found ${JSON.stringify(written)}`);
  const { kind, pattern } = classifyPattern(written);
  if (kind === 'topic') {
    const bad = validatePattern(pattern);
    if (bad !== null) throw new UsageError(`${where}.${action}: ${JSON.stringify(written)}: ${bad}`);
  } else if (pattern.length === 0) throw new UsageError(`${where}.${action}: an empty type glob`);
  return { action, kind, pattern, text: `${action}: ${written}`, glob: kind === 'type' ? globRegExp(pattern) : null };
}

/** A compiled, versioned policy set. Decisions per principal are cached (principals are few). */
export class AclPolicy {
  readonly entries: readonly Entry[];
  readonly #byPrincipal = new Map<string, readonly Entry[]>();

  constructor(
    specs: readonly AclEntrySpec[],
    readonly version = 1,
    where = 'acl',
  ) {
    this.entries = specs.map((spec, i) => {
      const at = `${where}[${i}]`;
      if (typeof spec.principal !== 'string' || spec.principal.length === 0) throw new UsageError(`${at}.principal: expected a principal such as service:payments`);
      return {
        name: spec.name ?? `${where}[${i}]`,
        principal: spec.principal,
        principalGlob: spec.principal.includes('*') ? globRegExp(spec.principal) : null,
        allow: (spec.allow ?? []).map((r, j) => compileRule(r, `${at}.allow[${j}]`)),
        deny: (spec.deny ?? []).map((r, j) => compileRule(r, `${at}.deny[${j}]`)),
      };
    });
  }

  /** No policies: everything is allowed. */
  get open(): boolean {
    return this.entries.length === 0;
  }

  #entriesFor(principal: string): readonly Entry[] {
    let found = this.#byPrincipal.get(principal);
    if (found === undefined) {
      found = this.entries.filter((e) => (e.principalGlob === null ? e.principal === principal : e.principalGlob.test(principal)));
      this.#byPrincipal.set(principal, found);
    }
    return found;
  }

  /** [ACL-2][ACL-3] May `principal` publish an event on `topic` with CloudEvents `type`? */
  decidePublish(principal: string, topic: string, type: string): AclDecision {
    if (this.open) return OPEN;
    const entries = this.#entriesFor(principal);
    for (const e of entries) {
      for (const r of e.deny) if (r.action === 'publish' && appliesToEvent(r, topic, type)) return { allowed: false, by: 'deny', entry: e.name, rule: r.text, typesOnly: false };
    }
    for (const e of entries) {
      for (const r of e.allow) if (r.action === 'publish' && appliesToEvent(r, topic, type)) return { allowed: true, by: 'allow', entry: e.name, rule: r.text, typesOnly: false };
    }
    return NO_ALLOW;
  }

  /** [ACL-2][ACL-4] May `principal` subscribe to `filter`? */
  decideSubscribe(principal: string, filter: string): AclDecision {
    if (this.open) return OPEN;
    const entries = this.#entriesFor(principal);
    for (const e of entries) {
      for (const r of e.deny) {
        if (r.action === 'subscribe' && r.kind === 'topic' && filtersIntersect(r.pattern, filter)) return { allowed: false, by: 'deny', entry: e.name, rule: r.text, typesOnly: false };
      }
    }
    let typeRule: { entry: string; rule: string } | null = null;
    for (const e of entries) {
      for (const r of e.allow) {
        if (r.action !== 'subscribe') continue;
        if (r.kind === 'topic' && filterCovers(r.pattern, filter)) return { allowed: true, by: 'allow', entry: e.name, rule: r.text, typesOnly: false };
        if (r.kind === 'type' && typeRule === null) typeRule = { entry: e.name, rule: r.text };
      }
    }
    if (typeRule !== null) return { allowed: true, by: 'allow', entry: typeRule.entry, rule: typeRule.rule, typesOnly: true };
    return NO_ALLOW;
  }

  /**
   * [ACL-5] May an event of `type` be delivered to a subscription of `principal` that
   * decideSubscribe allowed (with its `typesOnly`)? Returns the deciding rule when refused.
   */
  deliveryRefusal(principal: string, type: string, typesOnly: boolean): string | null {
    if (this.open) return null;
    const entries = this.#entriesFor(principal);
    for (const e of entries) {
      for (const r of e.deny) if (r.action === 'subscribe' && r.glob !== null && r.glob.test(type)) return r.text;
    }
    if (!typesOnly) return null;
    for (const e of entries) {
      for (const r of e.allow) if (r.action === 'subscribe' && r.glob !== null && r.glob.test(type)) return null;
    }
    return 'no allow subscribe rule matches the type';
  }
}

function appliesToEvent(r: AclRule, topic: string, type: string): boolean {
  return r.glob === null ? matchesPattern(r.pattern, topic) : r.glob.test(type);
}
