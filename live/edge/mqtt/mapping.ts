/**
 * MQTT PUBLISH ⇄ mesh envelope: one event whichever edge it came in by or goes out of. An MQTT
 * subscriber receives what was POSTed as a CloudEvent, a WebSocket or gRPC subscriber what was
 * published over MQTT. Pure functions, no sockets.
 *
 * [MQTT-MAP-1] Ingest (a PUBLISH from a client, topic alias resolved):
 * - topic: the PUBLISH topic (MQTT's topic syntax is the mesh's). Topics under `$mesh/` are the
 *   brokers' own (retained replication) and refused to clients.
 * - delivery class: QoS 0 → realtime; QoS 1 and 2 → guaranteed (sequenced, acknowledged hop by
 *   hop, spooled) — the PUBACK/PUBREC waits until the event is on disk, as HTTP's 202 does.
 * - id, source, type: a 5.0 PUBLISH whose user properties carry `specversion` "1.0", `id`,
 *   `source` and `type` is a CloudEvent in the CloudEvents MQTT binding's binary mode, and those
 *   are its attributes. Otherwise the broker names it: id a fresh UUID, source
 *   `mqtt://BROKER/CLIENT-ID` (client id URI-encoded), type `mqtt.publish`.
 * - headers (what selectors read): the top-level scalar fields of a JSON-object payload (when
 *   there is no content type or a JSON one), then every other user property (string values; a
 *   name sent twice keeps its last value), which win a clash; `datacontenttype` from the content
 *   type property; and the MQTT properties the mesh carries end to end, under names of their own:
 *   `mqttretain` (true, on a retained publish), `mqttqos` (2, on a QoS 2 publish; 0 and 1 are
 *   the delivery class), `mqttexpiry` (epoch ms the message expires at, from the message expiry
 *   interval), `mqttformat` ("utf-8", payload format indicator 1), `mqttresponsetopic`,
 *   `mqttcorrelation` (correlation data, base64).
 * - payload: the bytes as sent.
 * [MQTT-MAP-2] Delivery (an envelope to a subscriber):
 * - QoS: the lower of the subscription's and the event's (realtime 0, guaranteed 1, or 2 when it
 *   was published at QoS 2); the retain flag per subscription option Retain As Published (else
 *   0), always 1 for a retained message sent at subscribe.
 * - 5.0 properties: content type from `datacontenttype` (`application/json` for a CloudEvent
 *   without one, the mesh's default [EDGE-4]), payload format indicator, message expiry
 *   interval (what is left of it, in whole seconds rounded up; an expired message is not sent),
 *   response topic, correlation data, subscription identifiers; user properties: every other
 *   header as a string (`String(v)`), and, for an event that is not a plain MQTT publish (type
 *   other than `mqtt.publish`: a CloudEvent from HTTP, gRPC or MQTT), `specversion`, `id`,
 *   `source` and `type` first — the CloudEvents MQTT binding's binary mode. 3.1.1 subscribers get
 *   topic, payload, QoS and retain only.
 */
import { ANONYMOUS } from '../../../engine/broker.ts';
import { randomUUID } from 'node:crypto';
import type { IPublishPacket } from 'mqtt-packet';
import type { Envelope, HeaderValue, Headers } from '../../../engine/types.ts';
import { isJsonMedia, JSON_CONTENT_TYPE, mediaType } from '../cloudevent.ts';
import type { EdgePublish } from '../port.ts';

/** The type of an event published as plain MQTT. */
export const MQTT_TYPE = 'mqtt.publish';

/** Topics the brokers keep to themselves (retained replication, retained.ts). */
export const MESH_PREFIX = '$mesh/';

const H_RETAIN = 'mqttretain';
const H_QOS = 'mqttqos';
const H_EXPIRY = 'mqttexpiry';
const H_FORMAT = 'mqttformat';
const H_RESPONSE = 'mqttresponsetopic';
const H_CORRELATION = 'mqttcorrelation';
const H_CONTENT_TYPE = 'datacontenttype';

/** Headers that are MQTT properties, not user properties, on the way out. */
const NOT_USER_PROPERTIES = new Set([H_RETAIN, H_QOS, H_EXPIRY, H_FORMAT, H_RESPONSE, H_CORRELATION, H_CONTENT_TYPE]);

/** The CloudEvents source of what client `clientId` publishes at `broker`. */
export function mqttSource(broker: string, clientId: string): string {
  return `mqtt://${broker}/${encodeURIComponent(clientId)}`;
}

type UserProperties = Record<string, string | string[]>;

function lastValue(v: string | string[]): string {
  return Array.isArray(v) ? (v[v.length - 1] ?? '') : v;
}

function isScalar(v: unknown): v is HeaderValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** The top-level scalar fields of a JSON-object payload, into `headers` [MQTT-MAP-1]. */
function dataHeaders(payload: Buffer, headers: Record<string, HeaderValue>): void {
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x0a || payload[i] === 0x0d || payload[i] === 0x09)) i++;
  if (payload[i] !== 0x7b) return;
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    return;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
  for (const [k, v] of Object.entries(data)) if (isScalar(v)) headers[k] = v;
}

/**
 * What a PUBLISH means to the mesh [MQTT-MAP-1]: `source` the publishing client's (mqttSource),
 * `nowMs` epoch ms (the publish time, and the base of the expiry header).
 */
export function ingestPublish(packet: IPublishPacket, source: string, nowMs: number, principal?: string): EdgePublish {
  const props = packet.properties;
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : (packet.payload as Buffer);
  let id: string | undefined;
  let ceSource: string | undefined;
  let type: string | undefined;
  let headers: Record<string, HeaderValue> | undefined;
  if (props !== undefined) {
    headers = Object.create(null) as Record<string, HeaderValue>;
    const ct = props.contentType;
    if (ct === undefined || isJsonMedia(mediaType(ct))) dataHeaders(payload, headers);
    const user = props.userProperties as UserProperties | undefined;
    if (user !== undefined) {
      if (lastValue(user['specversion'] ?? '') === '1.0' && user['id'] !== undefined && user['source'] !== undefined && user['type'] !== undefined) {
        id = lastValue(user['id']) || undefined;
        ceSource = lastValue(user['source']) || undefined;
        type = lastValue(user['type']) || undefined;
      }
      for (const k of Object.keys(user)) {
        if (k === 'specversion' || k === 'id' || k === 'source' || k === 'type') continue;
        headers[k] = lastValue(user[k] as string | string[]);
      }
    }
    delete headers[H_CONTENT_TYPE];
    if (ct !== undefined) headers[H_CONTENT_TYPE] = ct;
    if (props.payloadFormatIndicator === true) headers[H_FORMAT] = 'utf-8';
    if (props.messageExpiryInterval !== undefined) headers[H_EXPIRY] = nowMs + props.messageExpiryInterval * 1000;
    if (props.responseTopic !== undefined) headers[H_RESPONSE] = props.responseTopic;
    if (props.correlationData !== undefined) headers[H_CORRELATION] = props.correlationData.toString('base64');
  } else if (payload.length > 0 && payload[0] === 0x7b) {
    headers = Object.create(null) as Record<string, HeaderValue>;
    dataHeaders(payload, headers);
  }
  if (packet.retain) (headers ??= Object.create(null) as Record<string, HeaderValue>)[H_RETAIN] = true;
  if (packet.qos === 2) (headers ??= Object.create(null) as Record<string, HeaderValue>)[H_QOS] = 2;
  return {
    id: id ?? randomUUID(),
    source: ceSource ?? source,
    type: type ?? MQTT_TYPE,
    topic: packet.topic,
    headers: (headers ?? EMPTY) as Headers,
    payload,
    guaranteed: packet.qos > 0,
    publishedAtMs: nowMs,
    principal: principal ?? ANONYMOUS,
  };
}

const EMPTY: Headers = Object.freeze(Object.create(null));

/** The QoS an event carries [MQTT-MAP-2]: realtime 0, guaranteed 1, or 2 when published at 2. */
export function eventQos(env: Envelope, guaranteed: boolean): 0 | 1 | 2 {
  if (!guaranteed) return 0;
  return env.headers[H_QOS] === 2 ? 2 : 1;
}

/** Whether the event was published with the retain flag. */
export function publishedRetained(env: Envelope): boolean {
  return env.headers[H_RETAIN] === true;
}

/** Epoch ms the event expires at, or undefined. */
export function expiresAt(env: Envelope): number | undefined {
  const e = env.headers[H_EXPIRY];
  return typeof e === 'number' ? e : undefined;
}

/**
 * The PUBLISH for one delivery [MQTT-MAP-2] (without messageId); null when the message has
 * expired. `v5` picks the 5.0 properties.
 */
export function deliveryPacket(env: Envelope, qos: 0 | 1 | 2, retain: boolean, subscriptionIds: number[] | null, v5: boolean, nowMs: number): IPublishPacket | null {
  const expiry = expiresAt(env);
  let remaining: number | undefined;
  if (expiry !== undefined) {
    if (expiry <= nowMs) return null;
    remaining = Math.ceil((expiry - nowMs) / 1000);
  }
  const payload = Buffer.from(env.payload.buffer, env.payload.byteOffset, env.payload.byteLength);
  const packet: IPublishPacket = { cmd: 'publish', topic: env.topic, payload, qos, retain, dup: false };
  if (!v5) return packet;
  const h = env.headers;
  const props: NonNullable<IPublishPacket['properties']> = {};
  let any = false;
  let user: Record<string, string> | undefined;
  if (env.type !== MQTT_TYPE) {
    user = { specversion: env.specversion, id: env.id, source: env.source, type: env.type };
  }
  for (const k in h) {
    if (NOT_USER_PROPERTIES.has(k)) continue;
    (user ??= {})[k] = String(h[k]);
  }
  if (user !== undefined) {
    props.userProperties = user;
    any = true;
  }
  const ct = h[H_CONTENT_TYPE];
  if (typeof ct === 'string') {
    props.contentType = ct;
    any = true;
  } else if (env.type !== MQTT_TYPE && env.payload.byteLength > 0) {
    // A CloudEvent without a datacontenttype header is JSON: the edges store a type for anything else [EDGE-4].
    props.contentType = JSON_CONTENT_TYPE;
    any = true;
  }
  if (h[H_FORMAT] === 'utf-8') {
    props.payloadFormatIndicator = true;
    any = true;
  }
  if (remaining !== undefined) {
    props.messageExpiryInterval = remaining;
    any = true;
  }
  const rt = h[H_RESPONSE];
  if (typeof rt === 'string') {
    props.responseTopic = rt;
    any = true;
  }
  const cd = h[H_CORRELATION];
  if (typeof cd === 'string') {
    props.correlationData = Buffer.from(cd, 'base64');
    any = true;
  }
  if (subscriptionIds !== null && subscriptionIds.length > 0) {
    props.subscriptionIdentifier = subscriptionIds.length === 1 ? (subscriptionIds[0] as number) : (subscriptionIds as unknown as number);
    any = true;
  }
  if (any) packet.properties = props;
  return packet;
}
