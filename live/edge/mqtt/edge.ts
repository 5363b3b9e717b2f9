/**
 * A live broker's MQTT edge [MQTT-EDGE-1..5]: the listeners (TCP `edge.mqtt`, TLS `edge.mqtts`,
 * WebSocket `/mqtt` on the HTTP port), the sessions by client id, wills, and retained messages.
 * It reaches the engine only through the broker's HostPort, like every other edge.
 *
 * [MQTT-EDGE-1] Client id takeover [MQTT-3.1.4-3]: a CONNECT with the id of a connected client
 * closes the older connection (DISCONNECT 0x8E session taken over to a 5.0 client) and takes its
 * session over — or discards it, with clean session / clean start.
 * [MQTT-EDGE-2] Session expiry: a session whose connection ended is kept for its expiry interval
 * (5.0: the client's, at most `edge.mqttSessionExpiryMax`; 3.1.1: that maximum with clean
 * session 0, none with 1), still subscribed and queueing QoS 1/2 messages; then it ends and its
 * subscriptions are removed from the mesh. A connection to it before then resumes it
 * (CONNACK session present).
 * [MQTT-EDGE-3] Wills: a connection that ends other than by DISCONNECT 0 (a dropped socket, a
 * keep-alive timeout, a protocol error, a takeover, DISCONNECT 0x04) has its will published as
 * that client's publish, after the will delay interval or when its session ends, whichever is
 * first [MQTT-3.1.3-9]; a new connection of the same client id before then cancels it.
 * [MQTT-EDGE-4] Deny list: see filters.ts [MQTT-DENY-1].
 * [MQTT-EDGE-5] `close()` (drain): listeners stop, every connection is sent DISCONNECT 0x8B (5.0)
 * and closed, the retained store is written.
 */
import { Authenticator } from '../../auth.ts';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { IPublishPacket } from 'mqtt-packet';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { LiveMqttConfig } from '../../config.ts';
import type { HostPort } from '../port.ts';
import { RC } from './codes.ts';
import { MqttConnection } from './connection.ts';
import { filtersIntersect } from './filters.ts';
import { ingestPublish, mqttSource } from './mapping.ts';
import { RetainedStore } from './retained.ts';
import { type MqttDropCause, MqttSession, type SessionCounters } from './session.ts';

/** MQTT over WebSocket's path on the HTTP port. */
export const MQTT_WS_PATH = '/mqtt';

export interface MqttCounters extends SessionCounters {
  connects: number;
  takeovers: number;
  malformed: number;
  keepAliveTimeouts: number;
  receiveMaximumExceeded: number;
  published: [number, number, number];
  publishRefused: number;
  subscribes: number;
  unsubscribes: number;
  subscribeRefused: number;
  /** CONNECTs refused for their credentials [AUTH-3]. */
  authRefused: number;
  willsPublished: number;
  sessionsExpired: number;
}

type Will = NonNullable<MqttConnection['will']>;

interface PendingWill {
  readonly will: Will;
  readonly timer: NodeJS.Timeout | null;
  /** Its client's principal: the will is policed as that client's publish [ACL-3]. */
  readonly principal: string;
}

export class MqttEdge {
  readonly counters: MqttCounters = {
    connects: 0,
    takeovers: 0,
    malformed: 0,
    keepAliveTimeouts: 0,
    receiveMaximumExceeded: 0,
    published: [0, 0, 0],
    publishRefused: 0,
    subscribes: 0,
    unsubscribes: 0,
    subscribeRefused: 0,
    authRefused: 0,
    willsPublished: 0,
    sessionsExpired: 0,
    delivered: [0, 0, 0],
    redelivered: 0,
    skippedNoLocal: 0,
    dropped: { 'queue-full': 0, 'offline-qos0': 0, expired: 0, 'too-large': 0 } satisfies Record<MqttDropCause, number>,
  };
  readonly retained: RetainedStore;
  readonly sessions = new Map<string, MqttSession>();
  readonly connections = new Set<MqttConnection>();
  readonly ports = { mqtt: 0, mqtts: 0 };
  readonly #wills = new Map<string, PendingWill>();
  readonly #servers: TcpServer[] = [];
  #wss: WebSocketServer | null = null;
  #closing = false;

  constructor(
    readonly port: HostPort,
    readonly config: LiveMqttConfig,
    dataDir: string | null,
    readonly now: () => number,
    /** Who clients are [AUTH-1] (default: no users; everyone anonymous, or cert:CN over TLS). */
    readonly auth: Authenticator = new Authenticator(),
  ) {
    this.retained = new RetainedStore(port, dataDir, now);
  }

  /** Subscribes to retained replications and opens the configured listeners; resolves with the bound ports. */
  async start(http: HttpServer | null): Promise<void> {
    this.retained.start();
    if (this.config.listen !== null) {
      const server = createTcpServer((socket) => this.#accept(socket, 'tcp'));
      this.ports.mqtt = await listenOn(server, this.config.listen, 'edge.mqtt');
      this.#servers.push(server);
    }
    const t = this.config.tls;
    if (t !== null) {
      const server = createTlsServer(
        {
          cert: readFileSync(t.cert),
          key: readFileSync(t.key),
          ...(t.ca === null ? {} : { ca: readFileSync(t.ca), requestCert: true, rejectUnauthorized: t.requireClientCert }),
          minVersion: 'TLSv1.2',
        },
        (socket) => this.#accept(socket, 'tls'),
      );
      this.ports.mqtts = await listenOn(server, t.listen, 'edge.mqtts');
      this.#servers.push(server);
    }
    if (http !== null) this.#attachWebSocket(http);
  }

  #accept(socket: Socket, transport: 'tcp' | 'tls'): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.connections.add(new MqttConnection(socket, this, transport));
  }

  /** MQTT over WebSocket at /mqtt (subprotocol `mqtt`, or 3.1's `mqttv3.1`), binary frames. */
  #attachWebSocket(http: HttpServer): void {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.maxPacketBytes + 5,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
    this.#wss = wss;
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== MQTT_WS_PATH) return;
      if (this.#closing) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => {});
        this.connections.add(new MqttConnection(stream, this, 'ws'));
      });
    });
  }

  /** A client id for a 5.0 client that sent none (told in CONNACK). */
  assignClientId(): string {
    return `auto-${randomUUID()}`;
  }

  /** [MQTT-EDGE-4] Whether a subscription on `filter` is refused. */
  denied(filter: string): boolean {
    for (const d of this.config.denySubscribe) if (filtersIntersect(d, filter)) return true;
    return false;
  }

  /** [MQTT-EDGE-1][MQTT-EDGE-2] The session a CONNECT gets, and whether it was present. */
  attachSession(conn: MqttConnection, clientId: string, clean: boolean, expiryMs: number): { session: MqttSession; present: boolean } {
    this.counters.connects++;
    let session = this.sessions.get(clientId);
    const old = session?.link as MqttConnection | null | undefined;
    if (old != null && old !== conn) {
      this.counters.takeovers++;
      session?.detach(old);
      // Its will follows the rules for any connection that ends without DISCONNECT 0: published
      // now when it has no delay, cancelled just below when it has one [MQTT-3.1.3-9].
      old.disconnect(RC.sessionTakenOver);
    }
    this.#cancelWill(clientId);
    let present = session !== undefined;
    if (session !== undefined && clean) {
      this.#endSession(session);
      session = undefined;
      present = false;
    }
    if (session === undefined) {
      session = new MqttSession(clientId, mqttSource(this.port.id, clientId), this.config.sessionQueue, this.counters, this.now);
      this.sessions.set(clientId, session);
    }
    if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
    session.expiryTimer = null;
    session.expiryMs = expiryMs;
    return { session, present };
  }

  /** A connection ended ([MQTT-EDGE-2][MQTT-EDGE-3]). */
  connectionClosed(conn: MqttConnection, normal: boolean): void {
    this.connections.delete(conn);
    const session = conn.session;
    if (conn.will !== null && !normal && session !== null && !this.#closing) this.#scheduleWill(conn.clientId, conn.will, session.expiryMs, conn.principal);
    if (session === null || session.link !== conn) return;
    session.detach(conn);
    if (session.expiryMs === 0 || this.#closing) {
      this.#endSession(session);
      return;
    }
    session.expiryTimer = setTimeout(() => {
      this.counters.sessionsExpired++;
      this.#endSession(session);
    }, session.expiryMs);
    session.expiryTimer.unref();
  }

  #endSession(session: MqttSession): void {
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    for (const sub of session.end()) this.port.unsubscribe(sub);
    // A will still waiting goes now: its session ended first [MQTT-3.1.3-9].
    const pending = this.#wills.get(session.clientId);
    if (pending !== undefined) {
      this.#cancelWill(session.clientId);
      this.#publishWill(session.clientId, pending.will, pending.principal);
    }
  }

  #scheduleWill(clientId: string, will: Will, expiryMs: number, principal: string): void {
    this.#cancelWill(clientId);
    const delayMs = Math.min((will.properties?.willDelayInterval ?? 0) * 1000, expiryMs);
    if (delayMs === 0) {
      this.#publishWill(clientId, will, principal);
      return;
    }
    const timer = setTimeout(() => {
      this.#wills.delete(clientId);
      this.#publishWill(clientId, will, principal);
    }, delayMs);
    timer.unref();
    this.#wills.set(clientId, { will, timer, principal });
  }

  #cancelWill(clientId: string): void {
    const w = this.#wills.get(clientId);
    if (w === undefined) return;
    if (w.timer !== null) clearTimeout(w.timer);
    this.#wills.delete(clientId);
  }

  /** A will, published as its client's PUBLISH would be. */
  #publishWill(clientId: string, will: Will, principal: string): void {
    const { willDelayInterval: _, ...props } = will.properties ?? {};
    const qos = will.qos ?? 0;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: will.topic,
      payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
      qos,
      retain: will.retain === true,
      dup: false,
      ...(Object.keys(props).length > 0 ? { properties: props } : {}),
    };
    const input = ingestPublish(packet, mqttSource(this.port.id, clientId), this.now(), principal);
    const r = this.port.publishNow(input);
    if (r.status !== 'accepted') return;
    this.counters.willsPublished++;
    if (packet.retain) this.port.publishNow(RetainedStore.replication(input, qos, this.retained.stamp(r.brokerTimestamp)));
    if (qos > 0) void this.port.durable().then((ok) => ok && this.port.acknowledged(1));
  }

  /** Sessions for /v1/mqtt. */
  list(): Array<{ clientId: string; connected: boolean; subscriptions: Array<{ filter: string; qos: number }>; queued: number; inflight: number }> {
    return [...this.sessions.values()].map((s) => ({
      clientId: s.clientId,
      connected: s.link !== null,
      subscriptions: [...s.subscriptions.values()].map((x) => ({ filter: x.text, qos: x.qos })),
      queued: s.queued,
      inflight: s.inflight,
    }));
  }

  /** [MQTT-EDGE-5] */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const c of [...this.connections]) c.disconnect(RC.serverShuttingDown);
    for (const w of this.#wills.values()) if (w.timer !== null) clearTimeout(w.timer);
    this.#wills.clear();
    for (const s of this.sessions.values()) if (s.expiryTimer !== null) clearTimeout(s.expiryTimer);
    this.#wss?.close();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.retained.stop();
  }
}

function listenOn(server: TcpServer, addr: { host: string; port: number }, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(Object.assign(e, { what })));
    server.listen(addr.port, addr.host, () => {
      const a = server.address();
      resolve(a !== null && typeof a === 'object' ? a.port : addr.port);
    });
  });
}
