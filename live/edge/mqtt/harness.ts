/**
 * Test harness for the MQTT edge [MQTT-T]: one real in-process broker (LiveHost, no neighbors,
 * so it delivers its own publishes locally) behind a HostPort, with an MqttEdge listening on
 * 127.0.0.1:0 and, optionally, an HTTP server carrying MQTT over WebSocket (`/mqtt`) and the HTTP
 * publish edge. Two kinds of client: MQTT.js (`client`) for what a real client does, and a raw
 * socket (`raw`) speaking bytes built with mqtt-packet for what no real client would send. The
 * broker keeps every client it opened and `close()` ends them all. Tests only; every wait is
 * bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnackPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import type { LiveMqttConfig } from '../../config.ts';
import { LiveHost } from '../../host.ts';
import { until } from '../../testing.ts';
import { edgeHttp } from '../http.ts';
import { HostPort } from '../port.ts';
import { attachSubscribe, type EdgeSubscribe } from '../ws.ts';
import { MqttEdge } from './edge.ts';

export { until };

/** Settings a test may change (the rest are config.ts's defaults). */
export type MqttOverrides = Partial<Omit<LiveMqttConfig, 'listen' | 'tls'>>;

export interface MqttSetup extends MqttOverrides {
  /** Also serve HTTP (MQTT over WebSocket at /mqtt, POST /v1/events/publish, WebSocket /v1/subscribe). */
  readonly http?: boolean;
  /** Give the edge a data dir (a fresh temp dir, removed by close). */
  readonly dataDir?: boolean;
}

export const DEFAULTS: Omit<LiveMqttConfig, 'listen' | 'tls'> = {
  denySubscribe: [],
  maxPacketBytes: 1 << 20,
  receiveMaximum: 1000,
  topicAliasMaximum: 64,
  sessionQueue: 10_000,
  sessionExpiryMaxMs: 86_400_000,
  serverKeepAliveMs: null,
};

/** One message as a client received it. */
export interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties: NonNullable<IPublishPacket['properties']>;
}

/** An MQTT.js client and what it received. */
export interface Client {
  readonly mqtt: MqttClient;
  readonly connack: IConnackPacket;
  readonly messages: Received[];
  /** Payloads received, as strings, in order. */
  payloads(): string[];
  /** Resolves once `n` messages have come (throws after `ms`). */
  waitFor(n: number, ms?: number): Promise<Received[]>;
  /** Resolves once the connection is closed (throws after `ms`). */
  waitClosed(ms?: number): Promise<void>;
  /** The DISCONNECT the broker sent, if any. */
  disconnectPacket: Packet | null;
  /** Closes the socket without DISCONNECT (an abnormal end: the will goes). */
  drop(): void;
  /** Sends DISCONNECT (reason `rc`, 5.0) and waits for the close. */
  end(rc?: number, properties?: Record<string, unknown>): Promise<void>;
}

/** A raw socket that sends packets built by mqtt-packet (or bytes) and parses the replies. */
export interface Raw {
  readonly socket: Socket;
  readonly packets: Packet[];
  closed: boolean;
  send(p: Packet): void;
  write(bytes: Buffer | number[]): void;
  /** The first received packet with this cmd (and passing `pred`), waiting up to `ms`; throws if none. */
  next<T extends Packet = Packet>(cmd: string, pred?: (p: T) => boolean, ms?: number): Promise<T>;
  /** Waits for the socket to close (throws after `ms`). */
  waitClosed(ms?: number): Promise<void>;
  /** Sends CONNECT (clean, keep-alive 0, a fresh client id unless `opts` say otherwise) and returns the CONNACK. */
  connect(opts?: Partial<mqttPacket.IConnectPacket>): Promise<IConnackPacket>;
  close(): void;
}

export interface MqttBroker {
  readonly host: LiveHost;
  readonly port: HostPort;
  readonly edge: MqttEdge;
  readonly config: LiveMqttConfig;
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string;
  readonly mqttPort: number;
  /** The HTTP port (0 without `http`). */
  readonly httpPort: number;
  /** `ws://127.0.0.1:HTTP/mqtt` (empty without `http`). */
  readonly wsUrl: string;
  readonly dataDir: string | null;
  /** Connects an MQTT.js client (protocol `version`), resolving on CONNACK; rejects on a refusal. */
  client(version: 4 | 5, opts?: IClientOptions, url?: string): Promise<Client>;
  /** Opens a raw socket to the TCP listener, speaking protocol `version`. */
  raw(version: 4 | 5): Promise<Raw>;
  close(): Promise<void>;
}

let clientSeq = 0;

/** A fresh client id. */
export function cid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++clientSeq}`;
}

function toReceived(topic: string, payload: Buffer, p: IPublishPacket): Received {
  return { topic, payload, qos: p.qos, retain: p.retain, dup: p.dup, properties: p.properties ?? {} };
}

export async function startMqtt(setup: MqttSetup = {}): Promise<MqttBroker> {
  const { http: withHttp, dataDir: withDir, ...overrides } = setup;
  const config: LiveMqttConfig = { ...DEFAULTS, ...overrides, listen: { host: '127.0.0.1', port: 0 }, tls: null };
  const dataDir = withDir === true ? mkdtempSync(join(tmpdir(), 'meshtwin-mqtt-')) : null;
  let port: HostPort | undefined;
  const host = new LiveHost(
    { id: 'us-1', neighbors: [], helloIntervalMs: 500, deadIntervalMs: 2000, hopLimit: 16 },
    { deliver: (sub, env, guaranteed) => (port as HostPort).deliver(sub, env, guaranteed) },
  );
  port = new HostPort(host, null);
  host.start();
  const edge = new MqttEdge(port, config, dataDir, () => host.now());
  let server: Server | null = null;
  let subscribe: EdgeSubscribe | null = null;
  if (withHttp === true) {
    const app = express();
    app.use(edgeHttp(port, { maxEventBytes: 64 * 1024 }));
    server = createServer(app);
    subscribe = attachSubscribe(server, port);
    const s = server;
    await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  }
  await edge.start(server);
  const httpPort = server === null ? 0 : (server.address() as AddressInfo).port;
  const url = `mqtt://127.0.0.1:${edge.ports.mqtt}`;
  const clients = new Set<MqttClient>();
  const raws = new Set<Raw>();

  const client = async (version: 4 | 5, opts: IClientOptions = {}, at = url): Promise<Client> => {
    const c = mqtt.connect(at, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 3000, clientId: cid(), ...opts });
    clients.add(c);
    const messages: Received[] = [];
    let closed = false;
    c.on('message', (topic, payload, packet) => messages.push(toReceived(topic, payload, packet)));
    c.on('close', () => {
      closed = true;
    });
    c.on('error', () => {});
    const out: Client = {
      mqtt: c,
      connack: await new Promise<IConnackPacket>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no CONNACK within 3 s')), 3000);
        c.once('connect', (ack) => (clearTimeout(timer), resolve(ack)));
        c.once('error', (e) => (clearTimeout(timer), reject(e)));
        c.once('close', () => (clearTimeout(timer), reject(new Error('closed before CONNACK'))));
      }),
      messages,
      disconnectPacket: null,
      payloads: () => messages.map((m) => m.payload.toString()),
      waitFor: async (n, ms = 3000) => {
        if (!(await until(() => messages.length >= n, ms))) throw new Error(`${messages.length} of ${n} messages within ${ms} ms: ${messages.map((m) => `${m.topic}=${m.payload}`).join(', ')}`);
        return messages;
      },
      waitClosed: async (ms = 3000) => {
        if (!(await until(() => closed, ms))) throw new Error(`still open after ${ms} ms`);
      },
      drop: () => {
        c.stream.destroy();
      },
      end: async (rc = 0, properties) => {
        await c.endAsync(false, { reasonCode: rc, ...(properties === undefined ? {} : { properties }) });
      },
    };
    c.on('disconnect', (p) => {
      out.disconnectPacket = p;
    });
    return out;
  };

  const raw = async (version: 4 | 5): Promise<Raw> => {
    const socket = netConnect({ host: '127.0.0.1', port: edge.ports.mqtt });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const parser = mqttPacket.parser({ protocolVersion: version });
    const r: Raw = {
      socket,
      packets: [],
      closed: false,
      send: (p) => {
        socket.write(mqttPacket.generate(p, { protocolVersion: version }));
      },
      write: (bytes) => {
        socket.write(Buffer.from(bytes));
      },
      next: async <T extends Packet = Packet>(cmd: string, pred: (p: T) => boolean = () => true, ms = 3000): Promise<T> => {
        let found: T | undefined;
        const test = (): boolean => {
          found = r.packets.find((p) => p.cmd === cmd && pred(p as T)) as T | undefined;
          return found !== undefined;
        };
        if (!(await until(test, ms))) throw new Error(`no ${cmd} within ${ms} ms; got ${r.packets.map((p) => p.cmd).join(', ')}`);
        return found as T;
      },
      waitClosed: async (ms = 3000) => {
        if (!(await until(() => r.closed, ms))) throw new Error(`socket still open after ${ms} ms`);
      },
      connect: async (opts = {}) => {
        r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: cid('raw'), keepalive: 0, ...opts } as Packet);
        return r.next<IConnackPacket>('connack');
      },
      close: () => {
        socket.destroy();
      },
    };
    parser.on('packet', (p: Packet) => r.packets.push(p));
    parser.on('error', () => {});
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => {});
    socket.on('close', () => {
      r.closed = true;
    });
    raws.add(r);
    return r;
  };

  return {
    host,
    port,
    edge,
    config,
    url,
    mqttPort: edge.ports.mqtt,
    httpPort,
    wsUrl: server === null ? '' : `ws://127.0.0.1:${httpPort}/mqtt`,
    dataDir,
    client,
    raw,
    close: async () => {
      try {
        for (const c of clients) c.end(true);
        for (const r of raws) r.close();
        await edge.close();
        await subscribe?.close();
        if (server !== null) {
          const s = server;
          s.closeAllConnections();
          await new Promise<void>((done) => s.close(() => done()));
        }
      } finally {
        host.stop();
        if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Waits `ms` (for "nothing more arrives" checks, always short). */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
