/**
 * Local subscribers: subscribing, matching an event against them, and handing it over — at once,
 * through a slow consumer's queue [SLOW-1..3], or to one member of a consumer group [SHARE-1..5].
 */
import { ConsumerQueue } from '../consumer.ts';
import { receivers, type LocalSubscription } from '../interest.ts';
import { parseSelector } from '../selector/index.ts';
import { groupKey, isShared, parseShared, ShareGroup, validateShared } from '../share.ts';
import { heldBytes } from '../spool.ts';
import { validatePattern } from '../topic.ts';
import { UsageError, type Envelope, type Millis } from '../types.ts';
import { SCRATCH_CLEAR, type BrokerCore } from './core.ts';

/**
 * Adds a population of `count` identical local subscribers. Throws UsageError on a bad pattern or
 * filter. With a `principal`, deliveries to it follow the policy [ACL-5] (the host asks
 * `authorizeSubscribe` first).
 */
export function subscribe(b: BrokerCore, now: Millis, pattern: string, filter: string | null, count: number, tag?: unknown, principal?: string): LocalSubscription {
  const shared = parseShared(pattern);
  const bad = isShared(pattern) ? validateShared(pattern) : validatePattern(pattern);
  if (bad !== null) throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: ${bad}`);
  if (!(count >= 1)) throw new UsageError(`count must be >= 1, got ${count}`);
  const selector = filter === null ? null : parseSelector(filter);
  // [SHARE-4] A group member is advertised and matched by its bare pattern.
  const sub = b.interest.subscribe(shared === null ? pattern : shared.pattern, filter, selector, count, tag);
  if (principal !== undefined) sub.principal = principal;
  if (shared !== null) {
    const key = groupKey(shared.group, shared.pattern, filter);
    let group = b.groups.get(key);
    if (group === undefined) b.groups.set(key, (group = new ShareGroup(key, shared.group)));
    group.add(sub);
    sub.share = group;
  }
  if (b.interest.hasPending) b.armTimer(now);
  return sub;
}

export function unsubscribe(b: BrokerCore, now: Millis, sub: LocalSubscription): boolean {
  const removed = b.interest.unsubscribe(sub);
  // What a departed client's queue held is no longer owed to anyone: its spool bytes go back.
  if (removed && sub.consumer !== null) b.durable.spool.externalBytes -= sub.consumer.clear();
  if (removed && sub.share !== null && sub.share.remove(sub)) {
    b.groups.delete(sub.share.key);
    // Nobody is left to take what the group held: release its spool bytes.
    for (let e = sub.share.takeHeld(); e !== undefined; e = sub.share.takeHeld()) b.durable.spool.externalBytes -= e.bytes;
  }
  if (b.interest.hasPending) b.armTimer(now);
  return removed;
}

/** Gives a subscription a bounded queue at this broker. Idempotent. */
export function pace(b: BrokerCore, sub: LocalSubscription, queueLimit: number): void {
  if (!(queueLimit >= 1)) throw new UsageError(`queueLimit must be >= 1, got ${queueLimit}`);
  if (sub.consumer === null) sub.consumer = new ConsumerQueue(b.config.disable?.isolation === true ? Infinity : queueLimit);
}

/** A paced subscription's clients consumed the message they were handed: hand them the next one. */
export function consumed(b: BrokerCore, now: Millis, sub: LocalSubscription): void {
  const q = sub.consumer;
  if (q === null) return;
  b.durable.spool.externalBytes -= q.refill();
  const next = q.next();
  if (next !== undefined) handOver(b, now, sub, next.env, next.guaranteed);
  if (sub.share !== null) pumpBacklog(b, now, sub.share);
}

/** Events a lagging consumer-group member was skipped for, over this broker's groups [SHARE-3]. */
export function groupSharesMoved(b: BrokerCore): number {
  let n = 0;
  for (const g of b.groups.values()) n += g.rebalanced;
  return n;
}

/**
 * The local subscriptions `env` goes to, as `b.localScratch[base, end)` (returns `end`): those
 * whose pattern and selector accept it, a consumer group once (by whichever member the trie found
 * first) [SHARE-1]. Scratch arrays are appended to and only cleared when they grow: setting
 * `length` on every publish showed up in profiles.
 */
export function matchLocal(b: BrokerCore, env: Envelope, base: number): number {
  const subs = b.localScratch;
  const end = base + b.interest.local.match(env.topic, subs);
  const stamp = ++b.shareStamp;
  let w = base;
  for (let i = base; i < end; i++) {
    const sub = subs[i] as LocalSubscription;
    if (sub.selector !== null && !sub.selector.matches(env)) continue;
    const group = sub.share;
    if (group !== null) {
      if (group.servedStamp === stamp) continue;
      group.servedStamp = stamp;
    }
    subs[w++] = sub;
  }
  return w;
}

export function scratchBase(b: BrokerCore): number {
  const subs = b.localScratch;
  if (subs.length > SCRATCH_CLEAR) subs.length = 0;
  return subs.length;
}

/** Hands `env` to every local subscription that wants it. */
export function deliverLocal(b: BrokerCore, now: Millis, env: Envelope, guaranteed: boolean): void {
  const subs = b.localScratch;
  const base = scratchBase(b);
  const end = matchLocal(b, env, base);
  const policed = !b.acl.open;
  for (let i = base; i < end; i++) {
    let sub = subs[i] as LocalSubscription;
    if (policed && sub.principal !== null && refusedByPolicy(b, sub, env)) {
      const n = receivers(sub);
      b.stats.deniedDelivery += n;
      b.countDenied(sub.principal, 'delivery', n);
      b.host.drop('denied', env, null, sub);
      continue;
    }
    const group = sub.share;
    if (group !== null) {
      // [SHARE-5] A guaranteed event waits while every member lags, or behind others waiting.
      if (guaranteed && (group.backlogDepth > 0 || group.allLagging())) {
        holdForGroup(b, now, group, sub, env);
        continue;
      }
      sub = group.pick() as LocalSubscription;
    }
    offer(b, now, sub, env, guaranteed);
  }
}

/** Spool bytes a guaranteed event would need for local subscribers whose queues are full. */
export function localOverflowBytes(b: BrokerCore, env: Envelope, bytes: number): number {
  const subs = b.localScratch;
  const base = scratchBase(b);
  const end = matchLocal(b, env, base);
  let need = 0;
  for (let i = base; i < end; i++) {
    const sub = subs[i] as LocalSubscription;
    if (sub.principal !== null && !b.acl.open && refusedByPolicy(b, sub, env)) continue;
    const group = sub.share;
    if (group !== null) {
      // [SHARE-5] A group needs room when the event would wait in its backlog.
      if (group.backlogDepth > 0 || group.allLagging()) need += bytes;
      continue;
    }
    const q = sub.consumer;
    if (q !== null && q.depth >= q.limit) need += bytes;
  }
  return need;
}

/**
 * [ACL-4][ACL-5] Whether the policy keeps `env` from `sub`: the subscription is no longer allowed
 * (a newer policy refuses its pattern), or the event's type is refused to its principal. The
 * subscribe decision is made again once per policy version.
 */
function refusedByPolicy(b: BrokerCore, sub: LocalSubscription, env: Envelope): boolean {
  const principal = sub.principal as string;
  const acl = b.acl;
  if (sub.aclVersion !== acl.version) {
    const d = acl.decideSubscribe(principal, sub.pattern);
    sub.aclVersion = acl.version;
    sub.aclAllowed = d.allowed;
    sub.aclTypesOnly = d.typesOnly;
  }
  return !sub.aclAllowed || acl.deliveryRefusal(principal, env.type, sub.aclTypesOnly) !== null;
}

/** To the subscription: through its queue if paced, else at once. */
function offer(b: BrokerCore, now: Millis, sub: LocalSubscription, env: Envelope, guaranteed: boolean): void {
  if (sub.consumer !== null) offerPaced(b, now, sub, sub.consumer, env, guaranteed);
  else handOver(b, now, sub, env, guaranteed);
}

/** Counts the delivery and hands it to the host: the one place a delivery is counted. */
function handOver(b: BrokerCore, now: Millis, sub: LocalSubscription, env: Envelope, guaranteed: boolean): void {
  b.stats.deliveries++;
  b.stats.subscriberDeliveries += receivers(sub);
  b.host.deliver(sub, env, now, guaranteed);
}

/** [SHARE-5] Into the group's backlog (charged to the spool), then to any member with room. */
function holdForGroup(b: BrokerCore, now: Millis, group: ShareGroup, member: LocalSubscription, env: Envelope): void {
  const bytes = heldBytes(env);
  const spool = b.durable.spool;
  if (!spool.hasRoom(bytes)) {
    b.stats.droppedSpoolFull++;
    b.host.drop('spoolFull', env, null, member);
    return;
  }
  group.hold(env, bytes);
  spool.externalBytes += bytes;
  spool.notePeak();
  b.stats.spooledSlow++;
  pumpBacklog(b, now, group);
}

/** [SHARE-5] Hands the group's held events, oldest first, to members that do not lag. */
function pumpBacklog(b: BrokerCore, now: Millis, group: ShareGroup): void {
  while (group.backlogDepth > 0 && !group.allLagging()) {
    const sub = group.pick() as LocalSubscription;
    const e = group.takeHeld() as { readonly env: Envelope; readonly bytes: number };
    b.durable.spool.externalBytes -= e.bytes;
    offer(b, now, sub, e.env, true);
  }
}

function offerPaced(b: BrokerCore, now: Millis, sub: LocalSubscription, q: ConsumerQueue, env: Envelope, guaranteed: boolean): void {
  const bytes = heldBytes(env);
  const spool = b.durable.spool;
  const verdict = q.offer(env, guaranteed, bytes, spool.hasRoom(bytes));
  switch (verdict) {
    case 'deliver-now':
      handOver(b, now, sub, env, guaranteed);
      break;
    case 'queued':
      break;
    case 'evicted-oldest':
      b.stats.droppedSlowConsumer += receivers(sub);
      b.host.drop('slowConsumer', q.lastEvicted as Envelope, null, sub);
      break;
    case 'overflow':
      spool.externalBytes += bytes;
      spool.notePeak();
      b.stats.spooledSlow++;
      break;
    case 'dropped-newest':
      if (guaranteed) b.stats.droppedSpoolFull += receivers(sub);
      else b.stats.droppedSlowConsumer += receivers(sub);
      b.host.drop(guaranteed ? 'spoolFull' : 'slowConsumer', env, null, sub);
      break;
    default: {
      const never: never = verdict;
      throw new UsageError(`unhandled offer ${String(never)}`);
    }
  }
}
