/**
 * One MQTT network connection (TCP, TLS or WebSocket) [MQTT-CONN-1..9]: its own `mqtt-packet`
 * parser, the protocol version its CONNECT gave, and the protocol's flows, acting on a session
 * (session.ts) that the edge (edge.ts) keeps by client id.
 *
 * [MQTT-CONN-1] The first packet must be CONNECT [MQTT-3.1.0-1], within 10 s; a second CONNECT
 * is a protocol error [MQTT-3.1.0-2]. An unsupported protocol level gets CONNACK 0x01 (3.1.1's
 * code, which every version reads) and the connection closes [MQTT-3.1.2-2].
 * [MQTT-CONN-2] A malformed packet (mqtt-packet's parser refuses it), or one the state does not
 * allow, closes this connection only: a 5.0 client is first sent DISCONNECT 0x81 malformed
 * packet or 0x82 protocol error [MQTT-4.13.1-1]. A packet larger than `edge.mqttMaxPacketSize` is
 * refused as soon as its length is read, before its bytes are buffered (DISCONNECT 0x95).
 * [MQTT-CONN-3] Keep-alive: a client that sends no whole control packet for 1.5 × its keep-alive
 * is disconnected (0x8D) [MQTT-3.1.2-24] (bytes of an unfinished packet do not count); with `edge.mqttServerKeepAlive`, a 5.0 client asking for none or a longer one
 * is told the server's in CONNACK and held to it [MQTT-3.2.2-21].
 * [MQTT-CONN-4] PUBLISH in: QoS 0 is handled at once; QoS 1 is PUBACKed and QoS 2 PUBRECed only
 * once the event is on disk (one store sync for everything a socket read brought) [EDGE-1]. A
 * QoS 2 packet id already received and not yet released is not published again [MQTT-4.3.3-9].
 * More unacknowledged QoS 1/2 publishes than the broker's Receive Maximum: DISCONNECT 0x93
 * [MQTT-3.3.4-9]. A topic with wildcards: DISCONNECT 0x90 (3.1.1: closed) [MQTT-3.3.2-2]; a
 * `$mesh/` topic (the brokers' own): PUBACK/PUBREC 0x87 in 5.0, otherwise dropped and counted.
 * A spool with no room: 5.0 PUBACK/PUBREC 0x97 quota exceeded; 3.1.1 has no refusal, so its
 * connection closes and the client publishes again when it reconnects. Payload format indicator
 * 1 with a payload that is not UTF-8: 0x99 payload format invalid [MQTT-3.3.2-4]; data a schema
 * refuses [SCHEMA-7]: 0x99 with the reason string (subject, version, data path), 3.1.1 acked and dropped.
 * [MQTT-CONN-5] Topic aliases in: 1 … `edge.mqttTopicAliasMaximum`, per connection; 0 or above
 * it is DISCONNECT 0x94 [MQTT-3.3.2-8], an alias never set 0x82. Out: up to the client's Topic
 * Alias Maximum, the first topics sent get one, later messages on them an empty topic.
 * [MQTT-CONN-6] SUBSCRIBE: every filter answered in order in one SUBACK [MQTT-3.8.4-6]; granted
 * QoS as asked (the broker supports 2); invalid filters 0x8F (3.1.1: 0x80); refused by
 * `edge.mqttDenySubscribe` or under `$mesh/` 0x87 (3.1.1: 0x80); a shared subscription with No
 * Local a protocol error [MQTT-3.8.3-4]. The same filter again replaces the subscription's
 * options [MQTT-3.8.4-3]. Retained messages follow per Retain Handling (0 always, 1 only for a new
 * subscription, 2 never; never for a shared subscription). A 5.0 SUBSCRIBE's `filter` user
 * property is a selector over the events' headers (the mesh's extension; an invalid one 0x8F).
 * [MQTT-CONN-7] UNSUBSCRIBE: UNSUBACK 0x00 per removed filter, 0x11 where there was none.
 * [MQTT-CONN-8] DISCONNECT from the client: reason 0 discards the will [MQTT-3.14.4-3], 0x04
 * keeps it; a 5.0 client may change the session expiry interval, but not from 0 [MQTT-3.14.2-2].
 * [MQTT-CONN-9] Outgoing PUBLISH, PUBREL: see session.ts; the broker never sends a packet larger
 * than the client's Maximum Packet Size.
 */
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import mqtt, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import { connackCode311, RC, RC311 } from './codes.ts';
import { encodePacket } from './encoder.ts';
import type { MqttEdge } from './edge.ts';
import { ingestPublish, MESH_PREFIX, mqttSource } from './mapping.ts';
import { RetainedStore } from './retained.ts';
import type { MqttSession, SessionLink, Subscription } from './session.ts';
import { SubscriptionHandle } from './session.ts';
import { validatePattern, validateTopic } from '../../../engine/topic.ts';
import { parseShared, validateShared } from '../../../engine/share.ts';
import { SelectorError } from '../../../engine/selector/index.ts';
import { UsageError } from '../../../engine/types.ts';
import { ANONYMOUS } from '../../../engine/broker.ts';
import { PolicyError } from '../port.ts';

/** Packets held while a CONNECT's credentials are checked; more closes the connection. */
const HELD_MAX = 64;

const CONNECT_TIMEOUT_MS = 10_000;
const SOCKET_HIGH_WATER = 1 << 20;

/** Bytes of a packet's fixed header for a remaining length `n`. */
function headerBytes(n: number): number {
  return n < 128 ? 2 : n < 16_384 ? 3 : n < 2_097_152 ? 4 : 5;
}

interface PendingAck {
  readonly cmd: 'puback' | 'pubrec';
  readonly id: number;
  readonly reasonCode: number;
}

export class MqttConnection implements SessionLink {
  v5 = false;
  receiveMaximum = 65535;
  clientId = '';
  session: MqttSession | null = null;
  /** The will of this connection, published unless it ends with DISCONNECT 0 [MQTT-3.1.2-8]. */
  will: NonNullable<IConnectPacket['will']> | null = null;
  closed = false;

  readonly #parser = mqtt.parser();
  #version: 3 | 4 | 5 = 4;
  #connected = false;
  /** Who the client is [AUTH-1], from its CONNECT. */
  principal = ANONYMOUS;
  /** Counted against its principal's connection limit (released once, when it closes) [LIMIT-2]. */
  #counted = false;
  /** Packets that came while CONNECT's credentials were being checked (replayed after), or null. */
  #held: Packet[] | null = null;
  #keepAliveMs = 0;
  #lastSeen = 0;
  #timer: NodeJS.Timeout | null = null;
  #maxOutPacket = 0;
  #aliasMaxOut = 0;
  readonly #aliasesOut = new Map<string, number>();
  readonly #aliasesIn = new Map<number, string>();
  /** Unacknowledged QoS 1 publishes (the PUBACK waits for the disk). */
  #qos1Pending = 0;
  #acks: PendingAck[] = [];
  #syncing = false;
  #normalDisconnect = false;
  /** The CloudEvents source of this client's publishes. */
  #source = '';

  constructor(
    readonly socket: Duplex,
    private readonly edge: MqttEdge,
    readonly transport: 'tcp' | 'tls' | 'ws',
  ) {
    this.#parser.on('packet', (p: Packet) => this.#onPacket(p));
    this.#parser.on('error', (e: Error) => this.#malformed(e));
    socket.on('data', (buf: Buffer) => this.#onData(buf));
    socket.on('drain', () => this.session?.flush());
    socket.on('error', () => this.#closed());
    // MQTT has no half-close: the peer's end is the connection's. (A WebSocket stream from `ws`'s
    // createWebSocketStream only ends when the client goes away: 'close' waits for our side too.)
    socket.on('end', () => this.#closed());
    socket.on('close', () => this.#closed());
    this.#timer = setTimeout(() => {
      if (!this.#connected) this.close();
    }, CONNECT_TIMEOUT_MS);
  }

  get version(): 3 | 4 | 5 {
    return this.#version;
  }

  #onData(buf: Buffer): void {
    if (this.closed) return;
    this.#parser.parse(buf);
    if (this.closed) return;
    // [MQTT-CONN-2] A packet whose declared length is too large is refused before it is buffered.
    const pending = (this.#parser as unknown as { packet: { length: number } }).packet.length;
    if (pending > 0 && pending + headerBytes(pending) > this.edge.config.maxPacketBytes) {
      this.edge.counters.malformed++;
      this.disconnect(RC.packetTooLarge);
      return;
    }
    this.#syncAcks();
  }

  #malformed(e: Error): void {
    if (this.closed) return;
    this.edge.counters.malformed++;
    if (!this.#connected && /protocol version/i.test(e.message)) {
      // [MQTT-CONN-1] CONNACK 0x01 in 3.1.1's shape, which a client of any version reads.
      this.#write({ cmd: 'connack', returnCode: RC311.unacceptableProtocolVersion, sessionPresent: false }, 4);
      this.close();
      return;
    }
    this.disconnect(RC.malformedPacket);
  }

  /** Sends a 5.0 DISCONNECT with `reasonCode` (after CONNECT, to a 5.0 client) and closes. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.closed) return;
    if (this.#connected && this.v5) this.#write({ cmd: 'disconnect', reasonCode, ...(reasonString === undefined ? {} : { properties: { reasonString } }) });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 1000).unref();
    this.#closed();
  }

  #closed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#counted) this.edge.port.limits.release(this.principal);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.socket.destroy();
    this.edge.connectionClosed(this, this.#normalDisconnect);
  }

  #write(packet: Packet, version: 3 | 4 | 5 = this.#version): void {
    if (this.closed && packet.cmd !== 'disconnect') return;
    const buf = encodePacket(packet, version);
    if (buf instanceof Buffer) this.socket.write(buf);
  }

  // SessionLink
  writable(): boolean {
    return !this.closed && this.socket.writableLength < SOCKET_HIGH_WATER;
  }

  encode(packet: IPublishPacket): Buffer | null {
    if (packet.cmd === 'publish' && this.#aliasMaxOut > 0) {
      const alias = this.#aliasesOut.get(packet.topic);
      if (alias !== undefined) {
        packet.properties = { ...packet.properties, topicAlias: alias };
        packet.topic = '';
      } else if (this.#aliasesOut.size < this.#aliasMaxOut) {
        const a = this.#aliasesOut.size + 1;
        this.#aliasesOut.set(packet.topic, a);
        packet.properties = { ...packet.properties, topicAlias: a };
      }
    }
    const buf = encodePacket(packet, this.#version);
    if (!(buf instanceof Buffer)) return null;
    if (this.#maxOutPacket > 0 && buf.length > this.#maxOutPacket) return null;
    return buf;
  }

  writeRaw(bufs: Buffer[]): void {
    if (this.closed) return;
    this.socket.write(bufs.length === 1 ? (bufs[0] as Buffer) : Buffer.concat(bufs));
  }

  #armKeepAlive(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#keepAliveMs === 0) return;
    const limit = this.#keepAliveMs * 1.5;
    const check = (): void => {
      const idle = performance.now() - this.#lastSeen;
      if (idle >= limit) {
        this.edge.counters.keepAliveTimeouts++;
        this.disconnect(RC.keepAliveTimeout);
        return;
      }
      this.#timer = setTimeout(check, limit - idle + 1);
      this.#timer.unref();
    };
    this.#timer = setTimeout(check, limit);
    this.#timer.unref();
  }

  #onPacket(p: Packet): void {
    if (this.closed) return;
    // [MQTT-CONN-3] Keep-alive counts whole control packets: bytes of a packet never completed do not.
    this.#lastSeen = performance.now();
    // [MQTT-CONN-2] A packet that arrived whole in one read was parsed before #onData could look
    // at its length: refuse it here as well.
    const length = p.length ?? 0;
    if (length + headerBytes(length) > this.edge.config.maxPacketBytes) {
      this.edge.counters.malformed++;
      this.disconnect(RC.packetTooLarge);
      return;
    }
    if (!this.#connected) {
      if (this.#held !== null) {
        // [AUTH-2] CONNECT is being checked: what follows waits (a few packets at most).
        if (this.#held.length >= HELD_MAX) this.close();
        else this.#held.push(p);
        return;
      }
      if (p.cmd !== 'connect') {
        this.edge.counters.malformed++;
        this.close();
        return;
      }
      this.#authenticate(p);
      return;
    }
    switch (p.cmd) {
      case 'publish':
        this.#publish(p);
        return;
      case 'puback':
        this.session?.completed(p.messageId ?? 0, 'puback');
        return;
      case 'pubrec': {
        const id = p.messageId ?? 0;
        if (this.session?.received(id, (p.reasonCode ?? 0) >= 0x80)) this.#write({ cmd: 'pubrel', messageId: id });
        return;
      }
      case 'pubcomp':
        this.session?.completed(p.messageId ?? 0, 'pubcomp');
        return;
      case 'pubrel': {
        const id = p.messageId ?? 0;
        const s = this.session;
        const known = s !== null && s.qos2In.delete(id);
        this.#write(this.v5 && !known ? { cmd: 'pubcomp', messageId: id, reasonCode: RC.packetIdentifierNotFound } : { cmd: 'pubcomp', messageId: id });
        return;
      }
      case 'subscribe':
        this.#subscribe(p);
        return;
      case 'unsubscribe':
        this.#unsubscribe(p);
        return;
      case 'pingreq':
        this.#write({ cmd: 'pingresp' });
        return;
      case 'disconnect': {
        const rc = p.reasonCode ?? 0;
        const expiry = p.properties?.sessionExpiryInterval;
        if (expiry !== undefined && this.session !== null) {
          if (this.session.expiryMs === 0 && expiry > 0) {
            this.disconnect(RC.protocolError, 'session expiry interval was 0 at CONNECT');
            return;
          }
          this.session.expiryMs = Math.min(expiry * 1000, this.edge.config.sessionExpiryMaxMs);
        }
        this.#normalDisconnect = rc !== RC.disconnectWithWill;
        this.close();
        return;
      }
      case 'connect':
        this.edge.counters.malformed++;
        this.disconnect(RC.protocolError, 'second CONNECT');
        return;
      case 'auth':
        this.disconnect(RC.protocolError, 'no enhanced authentication');
        return;
      default:
        this.edge.counters.malformed++;
        this.disconnect(RC.protocolError, `unexpected ${p.cmd}`);
    }
  }

  /**
   * [AUTH-1][AUTH-3] The CONNECT's principal: a username and password (checked off the event
   * loop), else a TLS client certificate the CA signed (`cert:CN`), else anonymous if allowed.
   * Bad credentials: CONNACK 0x86 (3.1.1: 4); no credentials where they are required: 0x87 (5).
   */
  #authenticate(p: IConnectPacket): void {
    const auth = this.edge.auth;
    const tls = this.transport === 'tls' ? (this.socket as TLSSocket) : null;
    const cn = tls !== null && tls.authorized ? (tls.getPeerCertificate().subject?.CN ?? null) : null;
    const cert = typeof cn === 'string' ? cn : null;
    if (p.username === undefined && (cert !== null || auth.config.anonymous)) {
      this.#admit(p, cert !== null ? `cert:${cert}` : ANONYMOUS);
      return;
    }
    this.#held = [];
    void auth.mqtt(p.username, p.password, cert).then((who) => {
      const held = this.#held ?? [];
      this.#held = null;
      if (this.closed) return;
      if (!who.ok) {
        const rc = p.username === undefined ? RC.notAuthorized : RC.badUserNameOrPassword;
        const version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
        this.edge.counters.authRefused++;
        this.#write(version === 5 ? { cmd: 'connack', reasonCode: rc, sessionPresent: false } : { cmd: 'connack', returnCode: connackCode311(rc), sessionPresent: false }, version);
        this.close();
        return;
      }
      this.#admit(p, who.principal);
      for (const q of held) if (!this.closed) this.#onPacket(q);
    });
  }

  /** [LIMIT-2] Counts the connection against its principal's limit, or refuses it (CONNACK 0x97; 3.1.1: 3). */
  #admit(p: IConnectPacket, principal: string): void {
    this.principal = principal;
    if (!this.edge.port.limits.open(principal)) {
      const version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
      this.#write(version === 5 ? { cmd: 'connack', reasonCode: RC.quotaExceeded, sessionPresent: false } : { cmd: 'connack', returnCode: RC311.serverUnavailable, sessionPresent: false }, version);
      this.close();
      return;
    }
    this.#counted = true;
    this.#connect(p);
  }

  #connect(p: IConnectPacket): void {
    this.#connected = true;
    this.#version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
    this.v5 = this.#version === 5;
    const props = p.properties ?? {};
    const cfg = this.edge.config;
    let clientId = p.clientId;
    let assigned: string | undefined;
    if (clientId === '') {
      if (!this.v5 && !p.clean) {
        // 3.1.1: a zero-length id needs clean session [MQTT-3.1.3-7].
        this.#write({ cmd: 'connack', returnCode: RC311.identifierRejected, sessionPresent: false });
        this.close();
        return;
      }
      clientId = assigned = this.edge.assignClientId();
    }
    this.clientId = clientId;
    this.#source = mqttSource(this.edge.port.id, clientId);
    this.receiveMaximum = props.receiveMaximum ?? 65535;
    this.#maxOutPacket = props.maximumPacketSize ?? 0;
    this.#aliasMaxOut = this.v5 ? (props.topicAliasMaximum ?? 0) : 0;
    let keepAliveS = p.keepalive ?? 0;
    let serverKeepAlive: number | undefined;
    if (this.v5 && cfg.serverKeepAliveMs !== null) {
      const s = Math.round(cfg.serverKeepAliveMs / 1000);
      if (keepAliveS === 0 || keepAliveS > s) {
        keepAliveS = s;
        serverKeepAlive = s;
      }
    }
    this.#keepAliveMs = keepAliveS * 1000;
    this.will = p.will ?? null;
    const expiryMs = this.v5 ? Math.min((props.sessionExpiryInterval ?? 0) * 1000, cfg.sessionExpiryMaxMs) : p.clean ? 0 : cfg.sessionExpiryMaxMs;
    const { session, present } = this.edge.attachSession(this, clientId, p.clean === true, expiryMs);
    this.session = session;
    const connack: Packet = { cmd: 'connack', sessionPresent: present, ...(this.v5 ? { reasonCode: RC.success } : { returnCode: RC311.accepted }) };
    if (this.v5) {
      connack.properties = {
        receiveMaximum: cfg.receiveMaximum,
        maximumPacketSize: cfg.maxPacketBytes,
        topicAliasMaximum: cfg.topicAliasMaximum,
        retainAvailable: true,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: true,
        ...(assigned === undefined ? {} : { assignedClientIdentifier: assigned }),
        ...(serverKeepAlive === undefined ? {} : { serverKeepAlive }),
        ...(props.sessionExpiryInterval !== undefined && expiryMs !== props.sessionExpiryInterval * 1000 ? { sessionExpiryInterval: Math.floor(expiryMs / 1000) } : {}),
      };
    }
    this.#write(connack);
    this.#lastSeen = performance.now();
    this.#armKeepAlive();
    session.attach(this);
  }

  #publish(p: IPublishPacket): void {
    const edge = this.edge;
    const qos = p.qos;
    const id = p.messageId ?? 0;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > edge.config.topicAliasMaximum || !this.v5) {
        this.disconnect(RC.topicAliasInvalid);
        return;
      }
      if (p.topic === '') {
        const t = this.#aliasesIn.get(alias);
        if (t === undefined) {
          this.disconnect(RC.protocolError, `topic alias ${alias} was never set`);
          return;
        }
        p.topic = t;
      } else this.#aliasesIn.set(alias, p.topic);
    }
    if (qos > 0 && this.#qos1Pending + (this.session?.qos2In.size ?? 0) >= edge.config.receiveMaximum && !(qos === 2 && this.session?.qos2In.has(id))) {
      edge.counters.receiveMaximumExceeded++;
      this.disconnect(RC.receiveMaximumExceeded);
      return;
    }
    if (qos === 2 && this.session?.qos2In.has(id)) {
      // [MQTT-4.3.3-9] Already received: not published again; its PUBREC goes (again) once on disk.
      if (this.session.qos2In.get(id) === true) this.#write({ cmd: 'pubrec', messageId: id });
      return;
    }
    if (p.topic === '' || validateTopic(p.topic) !== null) {
      edge.counters.publishRefused++;
      this.disconnect(RC.topicNameInvalid);
      return;
    }
    if (p.topic.startsWith(MESH_PREFIX)) {
      this.#refuse(qos, id, RC.notAuthorized);
      return;
    }
    const payload = p.payload as Buffer;
    if (p.properties?.payloadFormatIndicator === true && !isUtf8(payload)) {
      this.#refuse(qos, id, RC.payloadFormatInvalid);
      return;
    }
    edge.counters.published[qos]++;
    const input = ingestPublish(p, this.#source, edge.now(), this.principal);
    const r = edge.port.publishNow(input);
    if (r.status === 'accepted' && p.retain) edge.port.publishNow(RetainedStore.replication(input, qos, edge.retained.stamp(r.brokerTimestamp)));
    if (r.status !== 'accepted') {
      if (r.status === 'backpressure' && !this.v5 && qos > 0) {
        edge.counters.publishRefused++;
        this.close();
        return;
      }
      if (r.status === 'unavailable') {
        this.#refuse(qos, id, RC.unspecified);
        this.disconnect(RC.serverShuttingDown);
        return;
      }
      if (r.status === 'rate-limited') {
        // [LIMIT-1] 0x96 is a DISCONNECT reason (no PUBACK carries it): the client is told and
        // reconnects later; its unacknowledged publish is not taken (3.1.1: the connection closes).
        edge.counters.publishRefused++;
        this.disconnect(RC.messageRateTooHigh, `over the publish rate of ${this.principal}: retry in ${Math.ceil(r.retryAfterMs)} ms`);
        return;
      }
      // [ACL-3] 5.0: PUBACK/PUBREC 0x87; [SCHEMA-7] 0x99 with the reason; 3.1.1 has no code: acknowledged and dropped [MQTT-3.3.5-2].
      if (r.status === 'invalid-data') {
        this.#refuse(qos, id, RC.payloadFormatInvalid, r.reason);
        return;
      }
      const rc = r.status === 'backpressure' ? RC.quotaExceeded : r.status === 'denied' ? RC.notAuthorized : RC.topicNameInvalid;
      this.#refuse(qos, id, rc);
      return;
    }
    if (qos === 0) return;
    if (qos === 1) this.#qos1Pending++;
    else this.session?.qos2In.set(id, false);
    this.#acks.push({ cmd: qos === 1 ? 'puback' : 'pubrec', id, reasonCode: 0 });
  }

  /** A publish not taken: 5.0 says why in its PUBACK/PUBREC; 3.1.1 cannot refuse, so it is acked (and counted). */
  #refuse(qos: number, id: number, rc: number, reasonString?: string): void {
    this.edge.counters.publishRefused++;
    if (qos === 0) return;
    // A reason string only within the client's Maximum Packet Size [MQTT-3.4.2-2] (16 bytes: the ack around it).
    const fits = reasonString !== undefined && (this.#maxOutPacket === 0 || Buffer.byteLength(reasonString) + 16 <= this.#maxOutPacket);
    if (this.v5) this.#write({ cmd: qos === 1 ? 'puback' : 'pubrec', messageId: id, reasonCode: rc, ...(fits ? { properties: { reasonString } } : {}) });
    else if (qos === 1) this.#write({ cmd: 'puback', messageId: id });
    else this.#write({ cmd: 'pubrec', messageId: id });
  }

  /** [MQTT-CONN-4] One store sync for the acks a read brought, then they go, in order. */
  #syncAcks(): void {
    if (this.#syncing || this.#acks.length === 0) return;
    this.#syncing = true;
    const acks = this.#acks;
    this.#acks = [];
    void this.edge.port.durable().then((ok) => {
      this.#syncing = false;
      if (!ok) {
        this.disconnect(RC.unspecified);
        return;
      }
      this.edge.port.acknowledged(acks.length);
      if (!this.closed) {
        const out: Buffer[] = [];
        for (const a of acks) {
          if (a.cmd === 'puback') this.#qos1Pending--;
          else this.session?.qos2In.set(a.id, true);
          const b = encodePacket({ cmd: a.cmd, messageId: a.id }, this.#version);
          if (b instanceof Buffer) out.push(b);
        }
        this.writeRaw(out);
      }
      this.#syncAcks();
    });
  }

  #subscribe(p: ISubscribePacket): void {
    const s = this.session;
    if (s === null) return;
    const edge = this.edge;
    const subId = this.v5 ? (p.properties?.subscriptionIdentifier ?? null) : null;
    const userFilter = this.v5 ? p.properties?.userProperties?.['filter'] : undefined;
    const selector = userFilter === undefined ? null : Array.isArray(userFilter) ? (userFilter[userFilter.length - 1] ?? null) : userFilter;
    const granted: number[] = [];
    const retainedFor: Array<{ sub: Subscription; existed: boolean }> = [];
    const fail = (rc: number): void => {
      granted.push(this.v5 ? rc : 0x80);
      edge.counters.subscribeRefused++;
    };
    for (const want of p.subscriptions) {
      const text = want.topic;
      const shared = text.startsWith('$share/');
      let bare = text;
      if (shared) {
        const parsed = validateShared(text) === null ? parseShared(text) : null;
        if (parsed === null) {
          fail(RC.topicFilterInvalid);
          continue;
        }
        bare = parsed.pattern;
        if (want.nl === true) {
          this.disconnect(RC.protocolError, 'No Local on a shared subscription');
          return;
        }
      }
      if (validatePattern(bare) !== null) {
        fail(RC.topicFilterInvalid);
        continue;
      }
      if (bare.startsWith(MESH_PREFIX) || edge.denied(bare)) {
        fail(RC.notAuthorized);
        continue;
      }
      const have = s.subscriptions.get(text);
      if (have !== undefined) {
        have.qos = want.qos;
        have.noLocal = want.nl === true;
        have.retainAsPublished = want.rap === true;
        have.retainHandling = want.rh ?? 0;
        have.id = subId;
        granted.push(want.qos);
        retainedFor.push({ sub: have, existed: true });
        continue;
      }
      const handle = new SubscriptionHandle(s);
      const sub: Subscription = { text, shared, qos: want.qos, noLocal: want.nl === true, retainAsPublished: want.rap === true, retainHandling: want.rh ?? 0, id: subId, engine: null, handle };
      handle.sub = sub;
      try {
        sub.engine = edge.port.subscribe(text, selector, handle, false, this.principal);
      } catch (e) {
        if (e instanceof PolicyError) {
          // [ACL-4] 5.0: 0x87; 3.1.1: 0x80.
          fail(RC.notAuthorized);
          continue;
        }
        if (e instanceof UsageError || e instanceof SelectorError) {
          fail(RC.topicFilterInvalid);
          continue;
        }
        throw e;
      }
      s.subscriptions.set(text, sub);
      edge.counters.subscribes++;
      granted.push(want.qos);
      retainedFor.push({ sub, existed: false });
    }
    this.#write({ cmd: 'suback', messageId: p.messageId ?? 0, granted });
    for (const { sub, existed } of retainedFor) {
      if (sub.shared || sub.retainHandling === 2 || (sub.retainHandling === 1 && existed)) continue;
      for (const r of edge.retained.match(sub.text)) s.offerRetained(r.env, r.qos, sub);
    }
  }

  #unsubscribe(p: IUnsubscribePacket): void {
    const s = this.session;
    if (s === null) return;
    const codes: number[] = [];
    for (const text of p.unsubscriptions) {
      const sub = s.subscriptions.get(text);
      if (sub === undefined) {
        codes.push(RC.noSubscriptionExisted);
        continue;
      }
      s.subscriptions.delete(text);
      if (sub.engine !== null) this.edge.port.unsubscribe(sub.engine);
      this.edge.counters.unsubscribes++;
      codes.push(RC.success);
    }
    this.#write(this.v5 ? { cmd: 'unsuback', messageId: p.messageId ?? 0, granted: codes } : { cmd: 'unsuback', messageId: p.messageId ?? 0, granted: [] });
  }
}
