/**
 * Retained messages, per topic, across the mesh.
 *
 * [MQTT-RET-1] A PUBLISH with the retain flag is two events in the mesh: the event itself on its
 * topic (delivered to today's subscribers like any other), and a guaranteed replication event on
 * `$mesh/retained/TOPIC` (id `ID/retained`, headers the event's plus `mqttqos`). Every broker
 * with an MQTT edge subscribes to `$mesh/retained/#`, so the mesh's own routing — interest
 * flooding, custody, the spool — carries every retained message to every such broker, which
 * keeps the latest per topic. A new subscriber is then served from its own broker's copy: a
 * subscriber in another region receives the retained message for its filter without a round trip.
 * [MQTT-RET-2] Latest means last writer wins on (the publishing broker's timestamp, strictly
 * increasing per broker, then event id): every broker settles on the same message whatever order
 * the replications arrive in. An empty payload clears the topic [MQTT-3.3.1-10]; the clear is
 * kept (a tombstone, for an hour) so an older message arriving later does not come back.
 * [MQTT-RET-3] Across a partition each side serves what it had; the replication events of the
 * other side wait in its spool (guaranteed class) and are delivered when the partition heals, and
 * then both sides agree again (RET-2). A broker that restarts loads its copy from
 * `DATADIR/mqtt-retained.json` (rewritten, at most every 100 ms, after a change); what was
 * replicated while it was down reaches it from its peers' custody like any guaranteed event.
 * [MQTT-RET-4] A message with a message expiry interval is not served once expired (nor sent:
 * its remaining interval is what the subscriber is told), and is dropped from the store.
 */
import { INTERNAL } from '../../../engine/broker.ts';
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalSubscription } from '../../../engine/broker.ts';
import { matchesPattern } from '../../../engine/topic.ts';
import type { Envelope, HeaderValue, Headers } from '../../../engine/types.ts';
import type { EdgePort, EdgePublish, EdgeSubscriber } from '../port.ts';
import { expiresAt, MESH_PREFIX } from './mapping.ts';

export const RETAINED_PREFIX = `${MESH_PREFIX}retained/`;
const TOMBSTONE_MS = 3_600_000;
const FILE = 'mqtt-retained.json';
const STAMP_STEP_MS = 1 / 1024;

/** One topic's retained message (payload empty: a clear, kept as a tombstone). */
export interface Retained {
  readonly env: Envelope;
  readonly qos: 0 | 1 | 2;
}

function newer(a: Envelope, b: Envelope): boolean {
  return a.publishedAtMs !== b.publishedAtMs ? a.publishedAtMs > b.publishedAtMs : a.id > b.id;
}

interface SavedEntry {
  id: string;
  source: string;
  type: string;
  topic: string;
  headers: Record<string, HeaderValue>;
  payload: string;
  publishedAtMs: number;
  path: string[];
  qos: 0 | 1 | 2;
}

export class RetainedStore implements EdgeSubscriber {
  readonly kind = 'mqtt-retained';
  readonly #byTopic = new Map<string, Retained>();
  #sub: LocalSubscription | null = null;
  #saveTimer: NodeJS.Timeout | null = null;
  #lastStampMs = 0;
  /** Replications applied, and ones that lost to a newer message. */
  readonly counters = { applied: 0, stale: 0 };

  constructor(
    private readonly port: EdgePort,
    private readonly dataDir: string | null,
    private readonly now: () => number,
  ) {
    this.#load();
  }

  /** [MQTT-RET-1] Subscribes to every broker's retained replications. */
  start(): void {
    this.#sub = this.port.subscribe(`${RETAINED_PREFIX}#`, null, this, false);
  }

  stop(): void {
    if (this.#sub !== null) this.port.unsubscribe(this.#sub);
    this.#sub = null;
    if (this.#saveTimer !== null) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = null;
      this.#save();
    }
  }

  /** Retained messages held (not counting clears). */
  get size(): number {
    let n = 0;
    for (const r of this.#byTopic.values()) if (r.env.payload.length > 0) n++;
    return n;
  }

  /**
   * [MQTT-RET-2] The timestamp of this broker's next replication: the publish's broker timestamp,
   * or just after the previous one's, so two retained publishes in the same millisecond keep
   * their order (the later one wins, not the one with the larger random id). Steps of 2^-10 ms
   * are exact in an f64 epoch-ms value, which the wire carries.
   */
  stamp(brokerTimestamp: number): number {
    this.#lastStampMs = Math.max(brokerTimestamp, this.#lastStampMs + STAMP_STEP_MS);
    return this.#lastStampMs;
  }

  /** The replication event for a retained publish `input` (already accepted at QoS `qos`) [MQTT-RET-1]. */
  static replication(input: EdgePublish, qos: 0 | 1 | 2, publishedAtMs: number): EdgePublish {
    const headers: Record<string, HeaderValue> = Object.assign(Object.create(null), input.headers);
    headers['mqttqos'] = qos;
    // [ACL-7] The client's publish was policed; its replication is the mesh's own.
    return { ...input, id: `${input.id}/retained`, topic: `${RETAINED_PREFIX}${input.topic}`, headers: headers as Headers, guaranteed: true, publishedAtMs, principal: INTERNAL };
  }

  /** A replication arrived [MQTT-RET-2]. */
  deliver(env: Envelope, _guaranteed: boolean, consumed: () => void): void {
    consumed();
    if (!env.topic.startsWith(RETAINED_PREFIX)) return;
    const topic = env.topic.slice(RETAINED_PREFIX.length);
    const have = this.#byTopic.get(topic);
    const id = env.id.endsWith('/retained') ? env.id.slice(0, -'/retained'.length) : env.id;
    const q = env.headers['mqttqos'];
    const headers: Record<string, HeaderValue> = Object.assign(Object.create(null), env.headers);
    delete headers['mqttqos'];
    const mine: Envelope = { ...env, id, topic, headers };
    if (have !== undefined && !newer(mine, have.env)) {
      this.counters.stale++;
      return;
    }
    this.counters.applied++;
    this.#byTopic.set(topic, { env: mine, qos: q === 2 ? 2 : q === 1 ? 1 : 0 });
    this.#changed();
  }

  /** The retained messages a filter matches, not expired [MQTT-RET-4]. */
  match(filter: string): Retained[] {
    const out: Retained[] = [];
    const now = this.now();
    for (const [topic, r] of this.#byTopic) {
      if (r.env.payload.length === 0) {
        if (now - r.env.publishedAtMs > TOMBSTONE_MS) this.#byTopic.delete(topic);
        continue;
      }
      const exp = expiresAt(r.env);
      if (exp !== undefined && exp <= now) {
        this.#byTopic.delete(topic);
        this.#changed();
        continue;
      }
      if (matchesPattern(filter, topic)) out.push(r);
    }
    return out;
  }

  #changed(): void {
    if (this.dataDir === null || this.#saveTimer !== null) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#save();
    }, 100);
    this.#saveTimer.unref();
  }

  #save(): void {
    if (this.dataDir === null) return;
    const entries: SavedEntry[] = [];
    for (const r of this.#byTopic.values()) {
      const e = r.env;
      entries.push({
        id: e.id,
        source: e.source,
        type: e.type,
        topic: e.topic,
        headers: { ...e.headers },
        payload: Buffer.from(e.payload).toString('base64'),
        publishedAtMs: e.publishedAtMs,
        path: [...e.path],
        qos: r.qos,
      });
    }
    const file = join(this.dataDir, FILE);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(entries));
      renameSync(`${file}.tmp`, file);
    } catch {
      // The dataDir went away (the broker is stopping): the next change tries again.
    }
  }

  #load(): void {
    if (this.dataDir === null) return;
    let entries: SavedEntry[];
    try {
      entries = JSON.parse(readFileSync(join(this.dataDir, FILE), 'utf8')) as SavedEntry[];
    } catch {
      return;
    }
    if (!Array.isArray(entries)) return;
    for (const e of entries) {
      const headers: Record<string, HeaderValue> = Object.assign(Object.create(null), e.headers);
      const env: Envelope = {
        id: e.id,
        source: e.source,
        type: e.type,
        specversion: '1.0',
        topic: e.topic,
        headers,
        payload: Buffer.from(e.payload, 'base64'),
        publishedAtMs: e.publishedAtMs,
        path: e.path,
        hopLimit: 0,
      };
      this.#byTopic.set(e.topic, { env, qos: e.qos });
    }
  }
}
