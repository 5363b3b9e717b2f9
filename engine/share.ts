/**
 * Consumer groups: MQTT shared subscriptions, `$share/GROUP/PATTERN` (seed 002, "Third, we
 * isolate subscribers using Consumer Groups").
 *
 * [SHARE-1] A group is (GROUP, PATTERN, selector) on one broker. Its members are local
 *           subscription populations; a population of `count` subscribers is `count` members.
 *           Each event the group's pattern and selector accept goes to exactly one member, not
 *           to every member.
 * [SHARE-2] Members are chosen by smooth weighted round-robin (each population weighted by its
 *           subscriber count), so over time each subscriber gets an equal share.
 * [SHARE-3] A lagging member — a paced population whose broker-side queue holds at least
 *           `lagDepth(limit)` messages — is skipped: its share moves to the healthy members. Only
 *           when every member lags does the least-queued one get the event (then the slow-
 *           consumer policy of consumer.ts applies to it) — for realtime events; guaranteed
 *           ones follow [SHARE-5].
 * [SHARE-5] A guaranteed event that finds every member lagging waits in the group's backlog
 *           (its bytes charged to the spool, as a member's overflow is), and so does every later
 *           one while the backlog is not empty; a member whose queue drops below its lag depth
 *           takes from the backlog's head. So each member still receives events in arrival
 *           order, and a slow member never holds a backlog its faster siblings could have taken.
 *           (Handing the least-queued member everything after a burst — a partition healing, a
 *           link recovering — left the slowest member seconds of events while the others sat
 *           idle: meshtwin explore found guaranteed events still queued when the run ended.)
 * [SHARE-4] Interest travels as the bare PATTERN: remote brokers forward to a broker with group
 *           members like to any other subscriber. The group is broker-local: members of one
 *           group on two brokers form two groups, each receiving every event once (as MQTT
 *           shared subscriptions do across independent brokers).
 */
import type { LocalSubscription } from './interest.ts';
import { validatePattern } from './topic.ts';
import type { Envelope } from './types.ts';

const PREFIX = '$share/';

/** Whether a subscription is written as a shared one (well formed or not). */
export function isShared(text: string): boolean {
  return text.startsWith(PREFIX);
}

/** `$share/G/orders/#` → { group: 'G', pattern: 'orders/#' }; null for a plain pattern. */
export function parseShared(text: string): { readonly group: string; readonly pattern: string } | null {
  if (!text.startsWith(PREFIX)) return null;
  const slash = text.indexOf('/', PREFIX.length);
  if (slash < 0) return null;
  return { group: text.slice(PREFIX.length, slash), pattern: text.slice(slash + 1) };
}

/** Why a shared subscription is malformed, or null when it is well formed. */
export function validateShared(text: string): string | null {
  if (!text.startsWith(PREFIX)) return 'does not start with "$share/"';
  const s = parseShared(text);
  if (s === null) return 'no pattern after the group';
  if (s.group === '') return 'the group is empty';
  if (/[+#]/.test(s.group)) return 'the group must not contain wildcards';
  const bad = validatePattern(s.pattern);
  return bad === null ? null : `after "${PREFIX}${s.group}/": ${bad}`;
}

/** [SHARE-3] Queue depth at which a paced member counts as lagging. */
export function lagDepth(queueLimit: number): number {
  return Math.max(1, Math.ceil(queueLimit / 10));
}

/** The group's key on a broker: group, pattern and selector text. */
export function groupKey(group: string, pattern: string, filter: string | null): string {
  return filter === null ? `${group}\u0000${pattern}` : `${group}\u0000${pattern}\u0000${filter}`;
}

export class ShareGroup {
  readonly members: LocalSubscription[] = [];
  /** Smooth weighted round-robin state, one per member. */
  private current: number[] = [];
  /** Stamp of the last event offered to the group (one delivery per event per group). */
  servedStamp = 0;
  /** Events a lagging member was skipped for [SHARE-3]. */
  rebalanced = 0;
  /** [SHARE-5] Guaranteed events waiting for a member with room, oldest first from `backlogHead`. */
  private backlog: Array<{ readonly env: Envelope; readonly bytes: number }> = [];
  private backlogHead = 0;

  constructor(
    readonly key: string,
    readonly group: string,
  ) {}

  add(sub: LocalSubscription): void {
    this.members.push(sub);
    this.current.push(0);
  }

  /** Removes a member; returns true when the group is now empty. */
  remove(sub: LocalSubscription): boolean {
    const i = this.members.indexOf(sub);
    if (i >= 0) {
      this.members.splice(i, 1);
      this.current.splice(i, 1);
    }
    return this.members.length === 0;
  }

  /** [SHARE-2, SHARE-3] The member the next event goes to (undefined: no members). */
  pick(): LocalSubscription | undefined {
    const m = this.members;
    let total = 0;
    let best = -1;
    let skipped = false;
    for (let i = 0; i < m.length; i++) {
      const sub = m[i] as LocalSubscription;
      const q = sub.consumer;
      if (q !== null && q.depth >= lagDepth(q.limit)) {
        skipped = true;
        continue;
      }
      const c = (this.current[i] as number) + sub.count;
      this.current[i] = c;
      total += sub.count;
      if (best < 0 || c > (this.current[best] as number)) best = i;
    }
    if (best >= 0) {
      if (skipped) this.rebalanced++;
      this.current[best] = (this.current[best] as number) - total;
      return m[best];
    }
    // Every member lags: the least-queued one takes it.
    let least: LocalSubscription | undefined;
    for (const sub of m) if (least === undefined || (sub.consumer?.depth ?? 0) < (least.consumer?.depth ?? 0)) least = sub;
    return least;
  }

  /** [SHARE-5] Every member is paced and lags: a guaranteed event must wait in the backlog. */
  allLagging(): boolean {
    if (this.members.length === 0) return false;
    for (const sub of this.members) {
      const q = sub.consumer;
      if (q === null || q.depth < lagDepth(q.limit)) return false;
    }
    return true;
  }

  get backlogDepth(): number {
    return this.backlog.length - this.backlogHead;
  }

  /** [SHARE-5] Holds a guaranteed event until a member has room. */
  hold(env: Envelope, bytes: number): void {
    this.backlog.push({ env, bytes });
  }

  /** Every held event, oldest first (read only). */
  forEachHeld(visit: (env: Envelope) => void): void {
    for (let i = this.backlogHead; i < this.backlog.length; i++) visit((this.backlog[i] as { readonly env: Envelope }).env);
  }

  /** [SHARE-5] The oldest held event, removed (undefined: none). */
  takeHeld(): { readonly env: Envelope; readonly bytes: number } | undefined {
    const e = this.backlog[this.backlogHead];
    if (e === undefined) return undefined;
    this.backlogHead++;
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    return e;
  }
}
