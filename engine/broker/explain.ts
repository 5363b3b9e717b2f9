/**
 * "Why did, or didn't, this event reach broker X?" [EXPLAIN-1..4], answered from the state the
 * broker holds, gate by gate, in the order the engine applies them. Read-only: nothing is
 * published, counted or changed, and nothing is allocated on the publish path.
 *
 * [EXPLAIN-1] At the publishing broker: the topic, the policy [ACL-3], and the destination's
 *             interest as this broker knows it — a pattern the destination advertised that
 *             matches the topic, and its selector, evaluated here before the WAN [FWD-2].
 * [EXPLAIN-2] At each broker on the way: its next hop toward the destination (link state and
 *             Dijkstra [LS-3]), whether that adjacency is up, and the hops left [FWD-3]; without
 *             a route a guaranteed event is spooled [SPOOL-1], a realtime one dropped (noRoute).
 * [EXPLAIN-3] At the destination: each local subscription whose pattern matches, its selector,
 *             the policy for its principal [ACL-4][ACL-5], and its slow-consumer queue [SLOW-1].
 * [EXPLAIN-4] Each gate is `pass` or `stop` with a one-line reason; the first `stop` is the answer.
 */
import type { LocalSubscription, RemoteInterest } from '../interest.ts';
import { validateTopic } from '../topic.ts';
import { SPECVERSION, type BrokerId, type Envelope } from '../types.ts';
import type { BrokerCore } from './core.ts';
import { ANONYMOUS, INTERNAL, type PublishInput } from './types.ts';

export type Gate =
  | 'topic'
  | 'policy (publish)'
  | 'schema'
  | 'routing rule'
  | 'interest'
  | 'edge selector'
  | 'route'
  | 'link'
  | 'hop limit'
  | 'subscription'
  | 'selector'
  | 'policy (delivery)'
  | 'slow consumer';

export interface GateResult {
  readonly broker: BrokerId;
  readonly gate: Gate;
  readonly pass: boolean;
  readonly why: string;
}

/** The envelope a publish of `input` at broker `b` would carry. */
export function envelopeOf(b: BrokerCore, input: PublishInput): Envelope {
  return { ...input, specversion: SPECVERSION, path: b.selfPath, hopLimit: b.config.hopLimit };
}

/** [EXPLAIN-1] At the publishing broker, for destination `dest` (this broker itself: local delivery only). */
export function explainOrigin(b: BrokerCore, input: PublishInput, dest: BrokerId): GateResult[] {
  const out: GateResult[] = [];
  const at = (gate: Gate, pass: boolean, why: string): boolean => {
    out.push({ broker: b.id, gate, pass, why });
    return pass;
  };
  const bad = validateTopic(input.topic);
  if (!at('topic', bad === null, bad === null ? `${input.topic} is a valid topic` : `${input.topic}: ${bad}`)) return out;
  const principal = input.principal ?? ANONYMOUS;
  if (b.acl.open || principal === INTERNAL) at('policy (publish)', true, b.acl.open ? 'no policy installed: everything is allowed' : 'the mesh’s own publish');
  else {
    const d = b.acl.decidePublish(principal, input.topic, input.type);
    const by = d.by === 'allow' ? `allowed by ${d.entry} (${d.rule})` : d.by === 'deny' ? `denied by ${d.entry} (${d.rule})` : 'no entry allows it';
    if (!at('policy (publish)', d.allowed, `${principal} publishing ${input.type} on ${input.topic}: ${by} (policy v${b.acl.version})`)) return out;
  }
  if (!b.schemas.empty && principal !== INTERNAL) {
    // [SCHEMA-7] Read-only: the subjects' counters are not touched.
    const n = b.schemas.validate(input.topic, input.type, input.headers, input.payload, false);
    const r = b.schemas.refusal;
    if (n < 0 && r !== null) {
      at('schema', false, `data does not match ${r.subject} v${r.version}: ${r.error.path === '' ? '' : `${r.error.path} `}${r.error.message}`);
      return out;
    }
    at('schema', true, n === 0 ? 'no schema subject applies' : `valid under ${n} subject${n === 1 ? '' : 's'} (registry v${b.schemas.version})`);
  }
  if (dest === b.id) return out;
  const env = envelopeOf(b, input);
  // [RULE-1] An operator's rule sends it there whatever the interest.
  const rule = b.rules?.matching(env).find((r) => r.dests.includes(dest));
  if (rule !== undefined) {
    at('routing rule', true, `rule ${rule.name} (${rule.pattern}${rule.filter === null ? '' : ` [${rule.filter}]`}) sends it to ${dest}`);
    return out;
  }
  const matches: RemoteInterest[] = [];
  b.interest.remote.match(env.topic, matches);
  const theirs = matches.filter((r) => r.origin === dest);
  if (theirs.length === 0) {
    const known = [...b.interest.knownOrigins()].includes(dest);
    at(
      'interest',
      false,
      known
        ? `${dest} advertised no pattern that matches ${input.topic}: nobody there wants it, so ${b.id} does not send it there`
        : `${b.id} knows no interest from ${dest} (no subscriber there, or its adverts have not arrived)`,
    );
    return out;
  }
  at('interest', true, `${dest} advertised ${theirs.map((r) => r.pattern + (r.filter === null ? '' : ` [${r.filter}]`)).join(', ')}`);
  const open = theirs.find((r) => r.selector === null || r.selector.matches(env));
  if (open === undefined) {
    at('edge selector', false, `${theirs.map((r) => r.filter).join(' / ')} is false for this event at ${b.id}: filtered before the WAN [FWD-2]`);
    return out;
  }
  at('edge selector', true, open.filter === null ? `${open.pattern} has no selector` : `${open.filter} is true for this event`);
  return out;
}

/** [EXPLAIN-2] At broker `b` on the way to `dest`, with `hopsLeft` hops left. `next` is null when the walk stops here. */
export function explainHop(b: BrokerCore, dest: BrokerId, hopsLeft: number, guaranteed: boolean): { gates: GateResult[]; next: BrokerId | null } {
  const gates: GateResult[] = [];
  const hop = b.lsdb.nextHop(dest);
  if (hop === undefined) {
    const what = guaranteed ? 'a guaranteed event waits in the spool until a route returns [SPOOL-1]' : 'a realtime event is dropped (no route)';
    gates.push({ broker: b.id, gate: 'route', pass: false, why: `${b.id} has no route to ${dest}: ${what}` });
    return { gates, next: null };
  }
  const n = b.neighbors.get(hop);
  const cost = b.lsdb.distance(dest);
  gates.push({ broker: b.id, gate: 'route', pass: true, why: `next hop ${hop}${cost === undefined ? '' : ` (path cost ${cost})`}${n !== undefined && !n.up ? ', adjacency down' : ''}` });
  if (hopsLeft <= 0) {
    gates.push({ broker: b.id, gate: 'hop limit', pass: false, why: `no hops left at ${b.id}: dropped [FWD-3]` });
    return { gates, next: null };
  }
  gates.push({ broker: b.id, gate: 'hop limit', pass: true, why: `${hopsLeft} hops left` });
  return { gates, next: hop };
}

/** [EXPLAIN-3] At the destination broker: which local subscriptions take `env`. */
export function explainLocal(b: BrokerCore, env: Envelope): GateResult[] {
  const out: GateResult[] = [];
  const subs: LocalSubscription[] = [];
  b.interest.local.match(env.topic, subs);
  if (subs.length === 0) {
    out.push({ broker: b.id, gate: 'subscription', pass: false, why: `no subscription at ${b.id} matches ${env.topic}` });
    return out;
  }
  for (const sub of subs) {
    const who = sub.principal === null ? '' : ` (${sub.principal})`;
    const name = `${sub.share === null ? '' : `$share/${sub.share.group}/`}${sub.pattern}${who}`;
    out.push({ broker: b.id, gate: 'subscription', pass: true, why: `${name}: ${sub.count} subscriber${sub.count === 1 ? '' : 's'}` });
    if (sub.selector !== null && !sub.selector.matches(env)) {
      out.push({ broker: b.id, gate: 'selector', pass: false, why: `${name}: ${sub.filter} is false for this event` });
      continue;
    }
    if (sub.principal !== null && !b.acl.open) {
      const d = b.acl.decideSubscribe(sub.principal, sub.pattern);
      const refusal = !d.allowed ? 'its subscription is no longer allowed' : b.acl.deliveryRefusal(sub.principal, env.type, d.typesOnly);
      if (refusal !== null) {
        out.push({ broker: b.id, gate: 'policy (delivery)', pass: false, why: `${name}: ${env.type} refused: ${refusal} (policy v${b.acl.version})` });
        continue;
      }
    }
    const q = sub.consumer;
    if (q !== null && q.depth >= q.limit) {
      out.push({
        broker: b.id,
        gate: 'slow consumer',
        pass: false,
        why: `${name}: its queue holds ${q.depth} of ${q.limit}: a realtime event evicts the oldest, a guaranteed one overflows to the spool [SLOW-1][SLOW-2]`,
      });
      continue;
    }
    out.push({ broker: b.id, gate: 'slow consumer', pass: true, why: `${name}: delivered${q === null ? '' : ` (queue ${q.depth} of ${q.limit})`}` });
  }
  return out;
}
