/**
 * What a live broker's edges (HTTP/CloudEvents, WebSocket, gRPC, later MQTT) see of it: publish,
 * subscribe, unsubscribe, and the hand-over of each delivery to the client that wants it. One
 * `EdgePort` per broker process; every edge protocol talks to the engine through it, so the
 * answers (accepted only once durable, backpressure, a bad pattern) are the same on every one.
 *
 * [EDGE-1] A guaranteed publish resolves 'accepted' only once the operations its handling wrote
 * (sequence number, custody) are on disk [DUR-2]; a realtime one at once.
 * [EDGE-2] Every edge subscription is paced: the broker hands its client one event at a time and
 * queues at most `queueLimit` more, under the engine's slow-consumer policies [SLOW-1..3]
 * (realtime: newest wins; guaranteed: overflow to the spool, then backpressure). A client's
 * socket buffer is never the queue.
 */
import type { AclPolicy } from '../../engine/acl.ts';
import { ANONYMOUS, INTERNAL, type LocalSubscription, type PublishInput, type SchemaRefusal } from '../../engine/broker.ts';
import type { BrokerId, Envelope } from '../../engine/types.ts';
import type { LiveHost } from '../host.ts';
import { PrincipalLimits } from '../limits.ts';

/** A client that receives events: a WebSocket, a gRPC stream, an MQTT session. */
export interface EdgeSubscriber {
  /** 'ws', 'grpc', 'mqtt'… (metrics label). */
  readonly kind: string;
  /**
   * Hand one event to the client. Call `consumed` once the client has taken it (written to its
   * socket and drained, or acknowledged); the next one comes only after that [EDGE-2].
   */
  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void;
}

/**
 * What a client publishes through an edge: the engine's `PublishInput` with the delivery class
 * spelled out and the time optional (epoch ms the publisher published at; default: now). The
 * broker stamps path and hop limit.
 */
export type EdgePublish = Omit<PublishInput, 'guaranteed' | 'publishedAtMs'> & { readonly guaranteed: boolean; readonly publishedAtMs?: number };

export type EdgePublishResult =
  | { readonly status: 'accepted'; readonly brokerTimestamp: number }
  | { readonly status: 'invalid-topic' }
  /** The spool has no room for a guaranteed event: the client retries later [SPOOL-1]. */
  | { readonly status: 'backpressure' }
  /** The broker is draining (SIGTERM) and takes no more publishes. */
  | { readonly status: 'unavailable' }
  /** [ACL-3] The policy does not let the publisher's principal publish this (HTTP 403, MQTT 0x87, gRPC PERMISSION_DENIED). */
  | { readonly status: 'denied'; readonly reason: string }
  /** [SCHEMA-7] A schema that applies rejects the data (HTTP 400 with the path, MQTT 5.0 0x99 payload format invalid). */
  | { readonly status: 'invalid-data'; readonly reason: string; readonly refusal: SchemaRefusal }
  /** [LIMIT-1] Over its principal's publish rate: retry after this long (HTTP 429, MQTT DISCONNECT 0x96). */
  | { readonly status: 'rate-limited'; readonly retryAfterMs: number };

/** Something that can say when everything written so far is on disk (live/store/). */
export interface Durability {
  durable(): Promise<void>;
}

export interface EdgePort {
  readonly id: BrokerId;
  /** Per-principal limits [LIMIT-1][LIMIT-2] (none configured: never refuses). */
  readonly limits: PrincipalLimits;
  publish(input: EdgePublish): Promise<EdgePublishResult>;
  /** In order, stopping at the first refusal (the last answer); one durability wait for all. */
  publishBatch(inputs: readonly EdgePublish[]): Promise<EdgePublishResult[]>;
  /**
   * Throws (UsageError, SelectorError) with a message fit for the client on a bad pattern or
   * filter. `paced: false` is for a subscriber that keeps its own bounded queue (an MQTT session,
   * which calls `consumed` at once): the engine then hands it every match as it happens.
   */
  subscribe(pattern: string, filter: string | null, subscriber: EdgeSubscriber, paced?: boolean, principal?: string): LocalSubscription;
  /** [ACL-4] Throws PolicyError (counted) when the policy refuses `principal` the pattern. */
  authorize(principal: string, pattern: string): void;
  unsubscribe(sub: LocalSubscription): void;
}

/** [ACL-4] A subscription the policy refuses (HTTP/WebSocket 403, MQTT SUBACK 0x87, gRPC PERMISSION_DENIED). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

const UNAVAILABLE: EdgePublishResult = { status: 'unavailable' };
const BACKPRESSURE: EdgePublishResult = { status: 'backpressure' };
const INVALID_TOPIC: EdgePublishResult = { status: 'invalid-topic' };

/** Events queued per edge subscription at the broker beyond the one in the client's hands [EDGE-2]. */
export const EDGE_QUEUE_LIMIT = 1000;

/** Edge counters (metrics). */
export interface EdgeCounters {
  publishes: number;
  accepted: number;
  refused: number;
  deliveries: number;
}

/** The edge port of a broker run by a LiveHost, with its store's durability. */
export class HostPort implements EdgePort {
  #open = true;
  readonly counters: EdgeCounters = { publishes: 0, accepted: 0, refused: 0, deliveries: 0 };
  limits = new PrincipalLimits();

  constructor(
    private readonly host: LiveHost,
    private readonly store: Durability | null,
    private readonly queueLimit = EDGE_QUEUE_LIMIT,
    private readonly onStoreFailure: (e: Error) => void = () => {},
  ) {}

  get id(): BrokerId {
    return this.host.broker.id;
  }

  /** Refuse publishes from now on ('unavailable'): the broker is draining. */
  close(): void {
    this.#open = false;
  }

  async publish(input: EdgePublish): Promise<EdgePublishResult> {
    return (await this.publishBatch([input]))[0] as EdgePublishResult;
  }

  /**
   * [EDGE-1] Publishes `inputs` in order, stopping at the first the broker refuses (its answer is
   * the last one returned), then waits once for the store: a batch of guaranteed events costs one
   * group commit, not one per event.
   */
  async publishBatch(inputs: readonly EdgePublish[]): Promise<EdgePublishResult[]> {
    const out: EdgePublishResult[] = [];
    let guaranteed = false;
    for (const input of inputs) {
      const r = this.publishNow(input);
      out.push(r);
      if (r.status !== 'accepted') break;
      guaranteed ||= input.guaranteed;
    }
    if (guaranteed && !(await this.durable())) return out.map((r) => (r.status === 'accepted' ? { status: 'unavailable' } : r));
    for (const r of out) if (r.status === 'accepted') this.counters.accepted++;
    return out;
  }

  /**
   * The broker's answer to one publish, handled now (for edges that batch their own acks, as MQTT
   * does per socket read): 'accepted' here means handled, not yet durable — a guaranteed one is
   * promised to the client only after `durable()` resolves true, and counted then with
   * `acknowledged()` [EDGE-1].
   */
  publishNow(input: EdgePublish): EdgePublishResult {
    this.counters.publishes++;
    if (!this.#open) {
      this.counters.refused++;
      return UNAVAILABLE;
    }
    const now = this.host.now();
    if (input.principal !== INTERNAL) {
      const wait = this.limits.tryPublish(input.principal ?? ANONYMOUS, now);
      if (wait > 0) {
        this.counters.refused++;
        return { status: 'rate-limited', retryAfterMs: wait };
      }
    }
    const r = this.host.broker.handlePublish(now, input.publishedAtMs !== undefined ? (input as PublishInput) : { ...input, publishedAtMs: now });
    if (r !== 'accepted') {
      this.counters.refused++;
      if (r === 'denied') return { status: 'denied', reason: deniedReason(this.host.broker.policy, input) };
      if (r === 'invalid-data') return invalidData(this.host.broker.schemaRefusal() as SchemaRefusal);
      return r === 'backpressure' ? BACKPRESSURE : INVALID_TOPIC;
    }
    return { status: 'accepted', brokerTimestamp: Math.floor(now) };
  }

  /** Counts `n` publishes handled by publishNow as accepted (their client was told so). */
  acknowledged(n: number): void {
    this.counters.accepted += n;
  }

  /**
   * Resolves true once everything handled so far is on disk; false when the store broke [DUR-5]:
   * nothing more is acknowledged, and the broker stops.
   */
  async durable(): Promise<boolean> {
    if (this.store === null) return true;
    try {
      await this.store.durable();
      return true;
    } catch (e) {
      this.#open = false;
      this.onStoreFailure(e as Error);
      return false;
    }
  }

  authorize(principal: string, pattern: string): void {
    const d = this.host.broker.authorizeSubscribe(principal, pattern);
    if (d.allowed) return;
    const by = d.by === 'deny' ? `denied by ${d.entry} (${d.rule})` : 'no policy entry allows it';
    throw new PolicyError(`${principal} may not subscribe to ${pattern}: ${by} (policy v${this.host.broker.policy.version})`);
  }

  /** [ACL-4] With a principal, the policy decides first: a refusal throws PolicyError. */
  subscribe(pattern: string, filter: string | null, subscriber: EdgeSubscriber, paced = true, principal?: string): LocalSubscription {
    if (principal !== undefined) this.authorize(principal, pattern);
    const sub = this.host.broker.subscribe(this.host.now(), pattern, filter, 1, subscriber, principal);
    if (paced) this.host.broker.pace(sub, this.queueLimit);
    return sub;
  }

  unsubscribe(sub: LocalSubscription): void {
    this.host.broker.unsubscribe(this.host.now(), sub);
  }

  /**
   * The LiveHost's `deliver` hook: hands the event to the subscription's client, its path ending
   * with this broker (the engine's path lists the brokers an event crossed to get here; a client
   * is told every broker it traversed, this one included) [EDGE-3].
   */
  deliver(sub: LocalSubscription, env: Envelope, guaranteed: boolean): void {
    const subscriber = sub.tag as EdgeSubscriber;
    this.counters.deliveries++;
    const self = this.host.broker.id;
    const out = env.path[env.path.length - 1] === self ? env : { ...env, path: [...env.path, self] };
    let done = false;
    subscriber.deliver(out, guaranteed, () => {
      if (done) return;
      done = true;
      this.host.broker.handleConsumed(this.host.now(), sub);
    });
  }
}

/** [SCHEMA-8] Why a schema refused a publish, for the client: the subject and version, the data path and ajv's message. */
function invalidData(refusal: SchemaRefusal): EdgePublishResult {
  const e = refusal.error;
  const where = e.path === '' ? '' : `${e.path} `;
  return { status: 'invalid-data', reason: `data does not match schema ${JSON.stringify(refusal.subject)} v${refusal.version}: ${where}${e.message}`, refusal };
}

/** Why the policy refused a publish, for the client: the principal and the deciding entry and rule. */
function deniedReason(policy: AclPolicy, input: EdgePublish): string {
  const principal = input.principal ?? ANONYMOUS;
  const d = policy.decidePublish(principal, input.topic, input.type);
  const by = d.by === 'deny' ? `denied by ${d.entry} (${d.rule})` : 'no policy entry allows it';
  return `${principal} may not publish ${input.type} on ${input.topic}: ${by} (policy v${policy.version})`;
}
