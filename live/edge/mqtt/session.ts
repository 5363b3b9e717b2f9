/**
 * One MQTT session [MQTT-SESS-1..6]: what the broker keeps for a client id across its
 * connections — subscriptions, the messages waiting for it, those in flight, the QoS 2 publishes
 * it has not released — and the hand-over of each delivery to its current connection.
 *
 * [MQTT-SESS-1] Each subscription is its own engine subscription (its interest advertised to the
 * mesh), unpaced: the session takes every match at once into its own queue, bounded by
 * `edge.mqttSessionQueue`; a match beyond it is dropped and counted (queue-full).
 * [MQTT-SESS-2] Overlapping subscriptions send one copy [MQTT-3.3.4-2]: matches of one event by
 * several of the session's (non-shared) subscriptions arrive together and merge into one queued
 * message at the highest granted QoS, carrying every matching subscription identifier
 * [MQTT-3.3.4-3] and the retain flag if any Retain-As-Published subscription keeps it.
 * [MQTT-SESS-3] No Local [MQTT-3.8.3-3]: an event whose source is this client's is not queued
 * for a No Local subscription.
 * [MQTT-SESS-4] Out: queued messages go to the connection oldest first, in one write per turn;
 * QoS 1 and 2 ones only while fewer than the client's Receive Maximum are unacknowledged
 * [MQTT-3.3.4-7], and nothing while the socket holds more than 1 MiB unsent. QoS 0 messages are
 * not queued while no connection is attached (as mosquitto's default), counted as offline.
 * [MQTT-SESS-5] Redelivery [MQTT-4.4.0-1]: when a persistent session's client reconnects, every
 * QoS 1/2 message in flight is sent again with DUP set and its packet identifier, or its PUBREL
 * when the PUBREC had come, before anything new.
 * [MQTT-SESS-6] A message expired by its message expiry interval when its turn comes is not sent
 * (counted expired); one larger than the client's Maximum Packet Size is discarded as if sent
 * [MQTT-3.1.2-25] (counted too-large).
 * Sessions live in the broker's memory: they survive their clients' disconnects for their expiry
 * interval, not a broker restart.
 */
import type { IPublishPacket } from 'mqtt-packet';
import type { LocalSubscription } from '../../../engine/broker.ts';
import type { Envelope } from '../../../engine/types.ts';
import type { EdgeSubscriber } from '../port.ts';
import { deliveryPacket, eventQos, publishedRetained } from './mapping.ts';

/** Why a message a session held did not reach its client. */
export type MqttDropCause = 'queue-full' | 'offline-qos0' | 'expired' | 'too-large';

/** Counters every session adds to (the edge's). */
export interface SessionCounters {
  delivered: [number, number, number];
  redelivered: number;
  skippedNoLocal: number;
  dropped: Record<MqttDropCause, number>;
}

/** A connection as the session sees it (connection.ts). */
export interface SessionLink {
  readonly v5: boolean;
  /** The client's Receive Maximum. */
  readonly receiveMaximum: number;
  /** Whether its socket can take more now. */
  writable(): boolean;
  /** The packet's bytes for this connection (topic alias applied); null when it cannot be encoded or exceeds the client's Maximum Packet Size. */
  encode(packet: IPublishPacket): Buffer | null;
  /** Writes encoded packets, in order, in one socket write. */
  writeRaw(bufs: Buffer[]): void;
}

export interface Subscription {
  /** The filter as the client wrote it (the key), with any `$share/GROUP/`. */
  readonly text: string;
  readonly shared: boolean;
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  id: number | null;
  engine: LocalSubscription | null;
  readonly handle: SubscriptionHandle;
}

/** What the engine delivers a subscription's matches to. */
export class SubscriptionHandle implements EdgeSubscriber {
  readonly kind = 'mqtt';
  sub!: Subscription;
  constructor(private readonly session: MqttSession) {}
  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void {
    consumed();
    this.session.offer(env, guaranteed, this.sub);
  }
}

interface Queued {
  readonly env: Envelope;
  /** A match by a non-shared subscription: another such match of the same event merges into it [MQTT-SESS-2]. */
  readonly mergeable: boolean;
  qos: 0 | 1 | 2;
  retain: boolean;
  subIds: number[] | null;
}

interface InFlight {
  readonly item: Queued;
  /** PUBLISH sent, waiting for PUBACK/PUBREC; or PUBREL sent, waiting for PUBCOMP. */
  state: 'publish' | 'pubrel';
}

export class MqttSession {
  readonly subscriptions = new Map<string, Subscription>();
  /** QoS 2 publishes received, not yet released (PUBREL): packet id → PUBREC sent. */
  readonly qos2In = new Map<number, boolean>();
  link: SessionLink | null = null;
  /** Session expiry interval, ms (0: ends with its connection). */
  expiryMs = 0;
  expiryTimer: NodeJS.Timeout | null = null;
  ended = false;

  #queue: Queued[] = [];
  #head = 0;
  readonly #inflight = new Map<number, InFlight>();
  #nextId = 1;
  #flushScheduled = false;

  constructor(
    readonly clientId: string,
    readonly source: string,
    private readonly queueLimit: number,
    private readonly counters: SessionCounters,
    private readonly now: () => number,
  ) {}

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** A match from the engine [MQTT-SESS-1..3]. */
  offer(env: Envelope, guaranteed: boolean, sub: Subscription): void {
    if (this.ended) return;
    if (sub.noLocal && env.source === this.source) {
      this.counters.skippedNoLocal++;
      return;
    }
    const qos = Math.min(sub.qos, eventQos(env, guaranteed)) as 0 | 1 | 2;
    const retain = sub.retainAsPublished && publishedRetained(env);
    if (!sub.shared && this.#queue.length > this.#head) {
      const last = this.#queue[this.#queue.length - 1] as Queued;
      if (last.mergeable && last.env.id === env.id && last.env.source === env.source) {
        if (qos > last.qos) last.qos = qos;
        if (retain) last.retain = true;
        if (sub.id !== null) (last.subIds ??= []).push(sub.id);
        return;
      }
    }
    this.enqueue({ env, mergeable: !sub.shared, qos, retain, subIds: sub.id === null ? null : [sub.id] });
  }

  /** A retained message for a new subscription (retain flag set [MQTT-3.3.1-8]). */
  offerRetained(env: Envelope, qos: 0 | 1 | 2, sub: Subscription): void {
    this.enqueue({ env, mergeable: false, qos: Math.min(sub.qos, qos) as 0 | 1 | 2, retain: true, subIds: sub.id === null ? null : [sub.id] });
  }

  enqueue(item: Queued): void {
    if (this.link === null && item.qos === 0) {
      this.counters.dropped['offline-qos0']++;
      return;
    }
    if (this.queued >= this.queueLimit) {
      this.counters.dropped['queue-full']++;
      return;
    }
    this.#queue.push(item);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushScheduled || this.link === null) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  #allocateId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.#nextId;
      this.#nextId = id === 65535 ? 1 : id + 1;
      if (!this.#inflight.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  }

  /** [MQTT-SESS-4] Sends what the window and the socket allow. */
  flush(): void {
    const link = this.link;
    if (link === null || this.ended) return;
    const out: Buffer[] = [];
    const now = this.now();
    while (this.#head < this.#queue.length) {
      if (!link.writable()) break;
      const item = this.#queue[this.#head] as Queued;
      if (item.qos > 0 && this.#inflight.size >= link.receiveMaximum) break;
      this.#head++;
      const packet = deliveryPacket(item.env, item.qos, item.retain, item.subIds, link.v5, now);
      if (packet === null) {
        this.counters.dropped.expired++;
        continue;
      }
      let id = 0;
      if (item.qos > 0) {
        id = this.#allocateId();
        packet.messageId = id;
      }
      const buf = link.encode(packet);
      if (buf === null) {
        this.counters.dropped['too-large']++;
        continue;
      }
      if (item.qos > 0) this.#inflight.set(id, { item, state: 'publish' });
      this.counters.delivered[item.qos]++;
      out.push(buf);
      if (out.length >= 256) {
        link.writeRaw(out.splice(0));
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (out.length > 0) link.writeRaw(out);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) for a message in flight: done with it. */
  completed(id: number, expect: 'puback' | 'pubcomp'): boolean {
    const f = this.#inflight.get(id);
    if (f === undefined) return false;
    if (expect === 'puback' ? f.item.qos !== 1 : f.state !== 'pubrel') return false;
    this.#inflight.delete(id);
    this.#schedule();
    return true;
  }

  /** PUBREC: the PUBREL to send, or false when the id is unknown (or the PUBREC refused it: dropped). */
  received(id: number, refused: boolean): boolean {
    const f = this.#inflight.get(id);
    if (f === undefined || f.item.qos !== 2) return false;
    if (refused) {
      this.#inflight.delete(id);
      this.#schedule();
      return false;
    }
    f.state = 'pubrel';
    return true;
  }

  /** [MQTT-SESS-5] A connection attached: what was in flight goes again, then the queue. */
  attach(link: SessionLink): void {
    this.link = link;
    const out: Buffer[] = [];
    const now = this.now();
    for (const [id, f] of this.#inflight) {
      if (f.state === 'pubrel') {
        const b = link.encode({ cmd: 'pubrel', messageId: id } as unknown as IPublishPacket);
        if (b !== null) out.push(b);
        continue;
      }
      const packet = deliveryPacket(f.item.env, f.item.qos, f.item.retain, f.item.subIds, link.v5, now);
      if (packet === null) {
        this.#inflight.delete(id);
        this.counters.dropped.expired++;
        continue;
      }
      packet.messageId = id;
      packet.dup = true;
      const buf = link.encode(packet);
      if (buf === null) {
        this.#inflight.delete(id);
        this.counters.dropped['too-large']++;
        continue;
      }
      this.counters.redelivered++;
      out.push(buf);
    }
    if (out.length > 0) link.writeRaw(out);
    this.#schedule();
  }

  detach(link: SessionLink): void {
    if (this.link === link) this.link = null;
  }

  /** The session ends: nothing more is queued or sent. Returns the engine subscriptions to remove. */
  end(): LocalSubscription[] {
    this.ended = true;
    this.link = null;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const subs: LocalSubscription[] = [];
    for (const s of this.subscriptions.values()) if (s.engine !== null) subs.push(s.engine);
    this.subscriptions.clear();
    this.#queue = [];
    this.#head = 0;
    this.#inflight.clear();
    this.qos2In.clear();
    return subs;
  }
}
