/**
 * MQTT conformance table [MQTT-T] (issue 11): each row is one normative statement (or a few that
 * one scenario proves together) of the OASIS MQTT 3.1.1 or 5.0 specification, tagged with its
 * statement ids as aedes tags its tests, run over real TCP (or WebSocket) against one real
 * in-process broker per row. MQTT.js is the client for what a client does; a raw socket with
 * mqtt-packet builds what no well-behaved client sends. Statement ids differ between the two
 * versions for the same rule, so a row names its ids per version; a row with one version is a
 * feature the other version does not have. Rows tagged with a project id (`[MQTT-SESS-1]`,
 * `[MQTT-MAP-1]`…) test the mesh's own rules, documented where the id is defined.
 */
import type { IConnackPacket, IDisconnectPacket, IPubackPacket, IPublishPacket, ISubackPacket, IUnsubackPacket, Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { publish as httpPublish, WsClient } from '../../testing.ts';
import { cid, type MqttBroker, type MqttSetup, type Raw, settle, startMqtt, until } from './harness.ts';

type V = 4 | 5;

interface Case {
  /** The statement ids per version it applies to (`[MQTT-3.1.0-1]`, or several, space-separated). */
  readonly ids: Partial<Record<V, string>>;
  readonly title: string;
  readonly setup?: MqttSetup;
  run(b: MqttBroker, v: V): Promise<void>;
}

const BOTH = (id: string): Record<V, string> => ({ 4: id, 5: id });

/** A raw connection that has been accepted. */
async function rawConnected(b: MqttBroker, v: V, opts: Parameters<Raw['connect']>[0] = {}): Promise<Raw> {
  const r = await b.raw(v);
  const ack = await r.connect(opts);
  expect(v === 5 ? ack.reasonCode : ack.returnCode).toBe(0);
  return r;
}

/** The connection is closed by the broker; a 5.0 client first gets DISCONNECT `rc`. */
async function closedWith(r: Raw, v: V, rc: number): Promise<void> {
  if (v === 5) expect((await r.next<IDisconnectPacket>('disconnect')).reasonCode).toBe(rc);
  await r.waitClosed();
  if (v === 4) expect(r.packets.some((p) => p.cmd === 'disconnect')).toBe(false);
}

let packetId = 100;
function pub(topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { messageId: ++packetId } : {}), ...extra };
}

async function rawSubscribe(r: Raw, topic: string, qos: 0 | 1 | 2, extra: Record<string, unknown> = {}): Promise<ISubackPacket> {
  const messageId = ++packetId;
  r.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos, ...extra }] } as Packet);
  return r.next<ISubackPacket>('suback', (p) => p.messageId === messageId);
}

function publishes(r: Raw): IPublishPacket[] {
  return r.packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
}

/** A CONNECT by hand: protocol level `level`, connect flags `flags`, client id "x" (or none). */
function handConnect(level: number, flags: number, clientId = 'x'): Buffer {
  const v5props = level === 5 ? [0x00] : [];
  const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, flags, 0x00, 0x3c, ...v5props, 0x00, clientId.length, ...Buffer.from(clientId)];
  return Buffer.from([0x10, body.length, ...body]);
}

const connectCases: Case[] = [
  {
    ids: BOTH('[MQTT-3.1.0-1]'),
    title: 'a first packet other than CONNECT closes the connection unanswered',
    run: async (b, v) => {
      const r = await b.raw(v);
      r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
      await r.waitClosed();
      expect(r.packets).toEqual([]);
    },
  },
  {
    ids: BOTH('[MQTT-3.1.0-2]'),
    title: 'a second CONNECT is a protocol error (5.0: DISCONNECT 0x82)',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: v, clean: true, clientId: 'again', keepalive: 0 });
      await closedWith(r, v, 0x82);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-2]' },
    title: 'an unsupported protocol level gets CONNACK 0x01 and the connection closes',
    run: async (b, v) => {
      const r = await b.raw(v);
      r.write(handConnect(6, 0x02));
      const ack = await r.next<IConnackPacket>('connack');
      expect(ack.returnCode).toBe(0x01);
      expect(ack.sessionPresent).toBe(false);
      await r.waitClosed();
    },
  },
  {
    ids: BOTH('[MQTT-3.1.2-3]'),
    title: 'a CONNECT whose reserved flag is 1 closes the connection without CONNACK',
    run: async (b, v) => {
      const r = await b.raw(v);
      r.write(handConnect(v, 0x03));
      await r.waitClosed();
      expect(r.packets).toEqual([]);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-4] [MQTT-3.2.2-2]', 5: '[MQTT-3.1.2-5] [MQTT-3.2.2-3]' },
    title: 'clean session/clean start 0 resumes the session: session present 1, subscriptions kept',
    run: async (b, v) => {
      const id = cid('resume');
      const opts = { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const first = await b.client(v, opts);
      expect(first.connack.sessionPresent).toBe(false);
      await first.mqtt.subscribeAsync('resume/t', { qos: 1 });
      await first.end();
      const again = await b.client(v, opts);
      expect(again.connack.sessionPresent).toBe(true);
      const p = await b.client(v);
      await p.mqtt.publishAsync('resume/t', 'still subscribed', { qos: 1 });
      expect((await again.waitFor(1)).map((m) => m.payload.toString())).toEqual(['still subscribed']);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-6] [MQTT-3.2.2-1]', 5: '[MQTT-3.1.2-4] [MQTT-3.2.2-2]' },
    title: 'clean session/clean start 1 discards the session: session present 0, subscriptions gone',
    run: async (b, v) => {
      const id = cid('discard');
      const first = await b.client(v, { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
      await first.mqtt.subscribeAsync('discard/t', { qos: 1 });
      await first.end();
      const again = await b.client(v, { clientId: id, clean: true });
      expect(again.connack.sessionPresent).toBe(false);
      const p = await b.client(v);
      await p.mqtt.publishAsync('discard/t', 'x', { qos: 1 });
      await settle(200);
      expect(again.messages).toEqual([]);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.3-6]', 5: '[MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]' },
    title: 'a zero-length client id with clean session is accepted (5.0: an Assigned Client Identifier, unique)',
    run: async (b, v) => {
      const r1 = await b.raw(v);
      const a1 = await r1.connect({ clientId: '' });
      const r2 = await b.raw(v);
      const a2 = await r2.connect({ clientId: '' });
      expect(v === 5 ? [a1.reasonCode, a2.reasonCode] : [a1.returnCode, a2.returnCode]).toEqual([0, 0]);
      if (v === 5) {
        const x = a1.properties?.assignedClientIdentifier;
        const y = a2.properties?.assignedClientIdentifier;
        expect(typeof x).toBe('string');
        expect(x).not.toBe('');
        expect(x).not.toBe(y);
      }
      // Both stay connected: neither took the other over.
      expect(await rawSubscribe(r1, 'zero/t', 0)).toMatchObject({ granted: [0] });
      expect(r1.closed || r2.closed).toBe(false);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.3-7] [MQTT-3.1.3-8]' },
    title: 'a zero-length client id without clean session gets CONNACK 0x02 and the connection closes',
    run: async (b, v) => {
      const r = await b.raw(v);
      // mqtt-packet will not build it: by hand, connect flags 0 (clean session 0).
      r.write(handConnect(4, 0x00, ''));
      const ack = await r.next<IConnackPacket>('connack');
      expect(ack.returnCode).toBe(0x02);
      await r.waitClosed();
    },
  },
  {
    ids: { 4: '[MQTT-3.1.4-2]', 5: '[MQTT-3.1.4-3]' },
    title: 'a second CONNECT with the same client id closes the first (5.0: DISCONNECT 0x8E)',
    run: async (b, v) => {
      const id = cid('takeover');
      const first = await b.client(v, { clientId: id });
      const second = await b.client(v, { clientId: id });
      await first.waitClosed();
      if (v === 5) expect((first.disconnectPacket as IDisconnectPacket | null)?.reasonCode).toBe(0x8e);
      expect(second.mqtt.connected).toBe(true);
      await second.mqtt.subscribeAsync('takeover/t');
      await second.mqtt.publishAsync('takeover/t', 'mine');
      await second.waitFor(1);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-24]', 5: '[MQTT-3.1.2-22]' },
    title: 'a client silent for 1.5 x its keep-alive is disconnected (5.0: DISCONNECT 0x8D)',
    run: async (b, v) => {
      const r = await rawConnected(b, v, { keepalive: 1 });
      const t0 = performance.now();
      if (v === 5) expect((await r.next<IDisconnectPacket>('disconnect', () => true, 4000)).reasonCode).toBe(0x8d);
      await r.waitClosed(4000);
      const idleMs = performance.now() - t0;
      expect(idleMs).toBeGreaterThanOrEqual(1400);
      expect(idleMs).toBeLessThan(3000);
    },
  },
  {
    ids: BOTH('[MQTT-3.12.4-1]'),
    title: 'PINGREQ gets PINGRESP, and keeps a connection with a keep-alive open',
    run: async (b, v) => {
      const r = await rawConnected(b, v, { keepalive: 1 });
      for (let i = 0; i < 3; i++) {
        await settle(700);
        r.send({ cmd: 'pingreq' });
      }
      await until(() => r.packets.filter((p) => p.cmd === 'pingresp').length === 3, 2000);
      expect(r.packets.filter((p) => p.cmd === 'pingresp')).toHaveLength(3);
      expect(r.closed).toBe(false);
    },
  },
  {
    ids: { 5: '[MQTT-3.2.2-21] [MQTT-3.2.2-22]' },
    title: 'with edge.mqttServerKeepAlive, CONNACK carries Server Keep Alive and the broker holds the client to it',
    setup: { serverKeepAliveMs: 1000 },
    run: async (b, v) => {
      const r = await b.raw(v);
      const ack = await r.connect({ keepalive: 0 });
      expect(ack.properties?.serverKeepAlive).toBe(1);
      expect((await r.next<IDisconnectPacket>('disconnect', () => true, 4000)).reasonCode).toBe(0x8d);
      await r.waitClosed();
      // A client asking for a shorter keep-alive keeps its own (no Server Keep Alive).
      const short = await b.raw(v);
      expect((await short.connect({ keepalive: 1 })).properties?.serverKeepAlive).toBeUndefined();
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-4] [MQTT-EDGE-2]', 5: '[MQTT-3.1.2-23] [MQTT-4.1.0-2]' },
    title: 'a session is kept for its expiry interval after the connection ends, and discarded after it',
    setup: { sessionExpiryMaxMs: 1000 },
    run: async (b, v) => {
      const id = cid('expiry');
      const opts = { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 1 } } : {}) };
      const c1 = await b.client(v, opts);
      await c1.mqtt.subscribeAsync('expiry/t', { qos: 1 });
      await c1.end();
      const c2 = await b.client(v, opts);
      expect(c2.connack.sessionPresent).toBe(true);
      await c2.end();
      await settle(1400);
      const c3 = await b.client(v, opts);
      expect(c3.connack.sessionPresent).toBe(false);
      expect(b.edge.counters.sessionsExpired).toBe(1);
    },
  },
];

const malformedCases: Case[] = [
  {
    ids: { 4: '[MQTT-4.8.0-1]', 5: '[MQTT-4.13.1-1]' },
    title: 'a malformed packet closes that connection only (5.0: DISCONNECT 0x81); other clients go on',
    run: async (b, v) => {
      const good = await b.client(v);
      await good.mqtt.subscribeAsync('ok/t', { qos: 1 });
      const bad = await rawConnected(b, v);
      // PUBLISH, remaining length 2: a topic length of 5 with no topic bytes.
      bad.write([0x30, 0x02, 0x00, 0x05]);
      await closedWith(bad, v, 0x81);
      await good.mqtt.publishAsync('ok/t', 'after', { qos: 1 });
      expect((await good.waitFor(1)).map((m) => m.payload.toString())).toEqual(['after']);
    },
  },
  {
    ids: { 4: '[MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.8.1-1]', 5: '[MQTT-2.1.3-1] [MQTT-3.8.1-1]' },
    title: 'SUBSCRIBE with reserved header flags other than 0010 is malformed: the connection closes',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      const { default: mqttPacket } = await import('mqtt-packet');
      const bytes = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }, { protocolVersion: v });
      bytes[0] = 0x80;
      r.write(bytes);
      await closedWith(r, v, 0x81);
      expect(r.packets.some((p) => p.cmd === 'suback')).toBe(false);
    },
  },
  {
    ids: BOTH('[MQTT-3.3.1-4]'),
    title: 'a PUBLISH with both QoS bits set is malformed: the connection closes',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      const props = v === 5 ? [0x00] : [];
      const body = [0x00, 0x01, 0x61, 0x00, 0x01, ...props, 0x78];
      r.write([0x36, body.length, ...body]);
      await closedWith(r, v, 0x81);
    },
  },
  {
    ids: BOTH('[MQTT-3.6.1-1]'),
    title: 'a PUBREL with reserved header flags other than 0010 is malformed: the connection closes',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      r.write([0x60, 0x02, 0x00, 0x01]);
      await closedWith(r, v, 0x81);
    },
  },
  {
    ids: { 5: '[MQTT-3.2.2-15]' },
    title: 'a packet larger than the Maximum Packet Size in CONNACK gets DISCONNECT 0x95',
    setup: { maxPacketBytes: 1024 },
    run: async (b, v) => {
      const r = await b.raw(v);
      expect((await r.connect()).properties?.maximumPacketSize).toBe(1024);
      r.send(pub('big/t', Buffer.alloc(2000, 0x61), 1));
      await closedWith(r, v, 0x95);
      expect(r.packets.some((p) => p.cmd === 'puback')).toBe(false);
    },
  },
];

const publishCases: Case[] = [
  {
    ids: { 4: '[MQTT-3.3.4-1] [MQTT-4.3.2-2] [MQTT-4.3.3-2]', 5: '[MQTT-3.3.4-1] [MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11]' },
    title: 'QoS 0, 1 and 2 flows in and out: PUBACK; PUBREC, PUBREL, PUBCOMP',
    run: async (b, v) => {
      const sub = await rawConnected(b, v);
      await rawSubscribe(sub, 'flow/#', 2);
      const p = await rawConnected(b, v);
      p.send(pub('flow/0', 'zero', 0));
      const q1 = pub('flow/1', 'one', 1);
      p.send(q1);
      expect((await p.next('puback', (x) => x.messageId === q1.messageId)).cmd).toBe('puback');
      const q2 = pub('flow/2', 'two', 2);
      p.send(q2);
      await p.next('pubrec', (x) => x.messageId === q2.messageId);
      p.send({ cmd: 'pubrel', messageId: q2.messageId as number });
      await p.next('pubcomp', (x) => x.messageId === q2.messageId);
      // Out: the subscriber gets each at its QoS and acknowledges it.
      await until(() => publishes(sub).length === 3);
      const got = publishes(sub);
      expect(got.map((x) => [x.topic, x.qos, x.payload.toString()])).toEqual([
        ['flow/0', 0, 'zero'],
        ['flow/1', 1, 'one'],
        ['flow/2', 2, 'two'],
      ]);
      const [, d1, d2] = got as [IPublishPacket, IPublishPacket, IPublishPacket];
      expect(d1.messageId).toBeGreaterThan(0);
      sub.send({ cmd: 'puback', messageId: d1.messageId as number });
      sub.send({ cmd: 'pubrec', messageId: d2.messageId as number });
      await sub.next('pubrel', (x) => x.messageId === d2.messageId);
      sub.send({ cmd: 'pubcomp', messageId: d2.messageId as number });
      await until(() => b.edge.list().every((s) => s.inflight === 0), 2000);
      expect(b.edge.list().map((s) => s.inflight)).toEqual([0, 0]);
    },
  },
  {
    ids: { 4: '[MQTT-4.3.3-2]', 5: '[MQTT-4.3.3-10] [MQTT-4.3.3-12]' },
    title: 'QoS 2 exactly once: the same packet id again before PUBREL is PUBRECed, not delivered twice; after PUBCOMP it is a new message',
    run: async (b, v) => {
      const sub = await b.client(v);
      await sub.mqtt.subscribeAsync('once/t', { qos: 2 });
      const p = await rawConnected(b, v);
      const q = pub('once/t', 'first', 2);
      p.send(q);
      await p.next('pubrec');
      p.send({ ...q, dup: true });
      await until(() => p.packets.filter((x) => x.cmd === 'pubrec').length === 2);
      expect(p.packets.filter((x) => x.cmd === 'pubrec')).toHaveLength(2);
      await sub.waitFor(1);
      await settle(150);
      expect(sub.payloads()).toEqual(['first']);
      p.send({ cmd: 'pubrel', messageId: q.messageId as number });
      await p.next('pubcomp');
      // The broker passes a QoS 2 message on when it takes it (the spec's method A), so the same
      // id after PUBCOMP is delivered at once.
      p.send({ ...q, payload: Buffer.from('second') });
      expect((await sub.waitFor(2)).map((m) => m.payload.toString())).toEqual(['first', 'second']);
    },
  },
  {
    ids: BOTH('[MQTT-3.3.2-2]'),
    title: 'a PUBLISH topic with a wildcard closes the connection (5.0: DISCONNECT 0x90) and is not delivered',
    run: async (b, v) => {
      const sub = await b.client(v);
      await sub.mqtt.subscribeAsync('#');
      const r = await rawConnected(b, v);
      r.send(pub('wild/+', 'x', 1));
      await closedWith(r, v, 0x90);
      await settle(100);
      expect(sub.messages).toEqual([]);
    },
  },
  {
    ids: { 4: '[MQTT-3.8.4-6]', 5: '[MQTT-3.8.4-8]' },
    title: "a message is delivered at the lower of its QoS and the subscription's",
    run: async (b, v) => {
      const sub = await b.client(v);
      await sub.mqtt.subscribeAsync({ 'down/q1': { qos: 1 }, 'down/q0': { qos: 0 }, 'down/q2': { qos: 2 } });
      const p = await b.client(v);
      await p.mqtt.publishAsync('down/q1', 'a', { qos: 2 });
      await p.mqtt.publishAsync('down/q0', 'b', { qos: 1 });
      await p.mqtt.publishAsync('down/q2', 'c', { qos: 1 });
      await sub.waitFor(3);
      const byTopic = Object.fromEntries(sub.messages.map((m) => [m.topic, m.qos]));
      expect(byTopic).toEqual({ 'down/q1': 1, 'down/q0': 0, 'down/q2': 1 });
    },
  },
  {
    ids: BOTH('[MQTT-4.4.0-1] [MQTT-3.3.1-1]'),
    title: 'an unacknowledged QoS 1 delivery is sent again with DUP 1 and its packet id when a persistent session reconnects',
    run: async (b, v) => {
      const id = cid('redeliver');
      const opts = { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const r1 = await rawConnected(b, v, opts);
      await rawSubscribe(r1, 'redeliver/t', 1);
      const p = await b.client(v);
      await p.mqtt.publishAsync('redeliver/t', 'again', { qos: 1 });
      const first = await r1.next<IPublishPacket>('publish');
      expect(first.dup).toBe(false);
      r1.close();
      await until(() => b.edge.sessions.get(id)?.link === null);
      const r2 = await b.raw(v);
      const ack = await r2.connect(opts);
      expect(ack.sessionPresent).toBe(true);
      const second = await r2.next<IPublishPacket>('publish');
      expect([second.dup, second.messageId, second.payload.toString()]).toEqual([true, first.messageId, 'again']);
    },
  },
  {
    ids: BOTH('[MQTT-4.5.0-1]'),
    title: 'QoS 1 messages published while a persistent session is away are delivered, in order, on reconnect',
    run: async (b, v) => {
      const id = cid('offline');
      const opts = { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const c = await b.client(v, opts);
      await c.mqtt.subscribeAsync('offline/t', { qos: 1 });
      await c.end();
      const p = await b.client(v);
      for (const m of ['m1', 'm2', 'm3']) await p.mqtt.publishAsync('offline/t', m, { qos: 1 });
      const back = await b.client(v, opts);
      expect(back.connack.sessionPresent).toBe(true);
      expect((await back.waitFor(3)).map((m) => m.payload.toString())).toEqual(['m1', 'm2', 'm3']);
    },
  },
  {
    ids: BOTH('[MQTT-4.5.0-1] [MQTT-SESS-1]'),
    title: "an away session's queue is bounded by edge.mqttSessionQueue: the oldest are kept, the rest dropped and counted",
    setup: { sessionQueue: 2 },
    run: async (b, v) => {
      const id = cid('bound');
      const opts = { clientId: id, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const c = await b.client(v, opts);
      await c.mqtt.subscribeAsync('bound/t', { qos: 1 });
      await c.end();
      const p = await b.client(v);
      for (const m of ['m1', 'm2', 'm3', 'm4']) await p.mqtt.publishAsync('bound/t', m, { qos: 1 });
      const back = await b.client(v, opts);
      await back.waitFor(2);
      await settle(150);
      expect(back.payloads()).toEqual(['m1', 'm2']);
      expect(b.edge.counters.dropped['queue-full']).toBe(2);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.4-9] [MQTT-4.9.0-2]' },
    title: "the broker never has more than the client's Receive Maximum QoS 1/2 deliveries unacknowledged",
    run: async (b, v) => {
      const r = await rawConnected(b, v, { properties: { receiveMaximum: 2 } });
      await rawSubscribe(r, 'rm/t', 1);
      const p = await b.client(v);
      for (let i = 1; i <= 5; i++) await p.mqtt.publishAsync('rm/t', `m${i}`, { qos: 1 });
      await until(() => publishes(r).length >= 2);
      await settle(150);
      expect(publishes(r).map((x) => x.payload.toString())).toEqual(['m1', 'm2']);
      r.send({ cmd: 'puback', messageId: publishes(r)[0]?.messageId as number });
      await until(() => publishes(r).length >= 3);
      await settle(100);
      expect(publishes(r).map((x) => x.payload.toString())).toEqual(['m1', 'm2', 'm3']);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.4-7]' },
    title: "a client with more unacknowledged QoS 2 publishes than the broker's Receive Maximum gets DISCONNECT 0x93",
    setup: { receiveMaximum: 2 },
    run: async (b, v) => {
      const r = await b.raw(v);
      expect((await r.connect()).properties?.receiveMaximum).toBe(2);
      r.send(pub('rmx/t', 'a', 2));
      r.send(pub('rmx/t', 'b', 2));
      await until(() => r.packets.filter((x) => x.cmd === 'pubrec').length === 2);
      r.send(pub('rmx/t', 'c', 2));
      await closedWith(r, v, 0x93);
      expect(b.edge.counters.receiveMaximumExceeded).toBe(1);
    },
  },
];

const subscribeCases: Case[] = [
  {
    ids: { 4: '[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1]', 5: '[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.9.3-1]' },
    title: 'one SUBACK with the packet id and a code per filter, in order; an invalid filter gets 0x80 (5.0: 0x8F)',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      r.send({
        cmd: 'subscribe',
        messageId: 4242,
        subscriptions: [
          { topic: 'order/a', qos: 0 },
          { topic: 'order/#/x', qos: 1 },
          { topic: 'order/b+', qos: 1 },
          { topic: 'order/+/c', qos: 2 },
        ],
      } as Packet);
      const ack = await r.next<ISubackPacket>('suback');
      expect(ack.messageId).toBe(4242);
      const bad = v === 5 ? 0x8f : 0x80;
      expect(ack.granted).toEqual([0, bad, bad, 2]);
      expect(r.packets.filter((p) => p.cmd === 'suback')).toHaveLength(1);
    },
  },
  {
    ids: BOTH('[MQTT-3.3.2-3] [MQTT-4.7.1-1] [MQTT-4.7.1-2]'),
    title: "'+' matches exactly one level and '#' the parent and any number of levels",
    run: async (b, v) => {
      const plus = await b.client(v);
      await plus.mqtt.subscribeAsync('m/+/x');
      const hash = await b.client(v);
      await hash.mqtt.subscribeAsync('m/a/#');
      const p = await b.client(v);
      for (const t of ['m/a/x', 'm/b/x', 'm/a/b/x', 'm/a', 'm/x', 'm/a/b/c/d']) await p.mqtt.publishAsync(t, t);
      await p.mqtt.publishAsync('end', 'end');
      await until(() => plus.messages.length >= 2 && hash.messages.length >= 4);
      await settle(100);
      expect(plus.messages.map((m) => m.topic)).toEqual(['m/a/x', 'm/b/x']);
      expect(hash.messages.map((m) => m.topic)).toEqual(['m/a/x', 'm/a/b/x', 'm/a', 'm/a/b/c/d']);
    },
  },
  {
    ids: BOTH('[MQTT-4.7.2-1]'),
    title: "filters starting with a wildcard do not match topics starting with '$'",
    run: async (b, v) => {
      const wild = await b.client(v);
      await wild.mqtt.subscribeAsync(['#', '+/status']);
      const sys = await b.client(v);
      await sys.mqtt.subscribeAsync('$SYS/#');
      const p = await b.client(v);
      await p.mqtt.publishAsync('$SYS/status', 'dollar');
      await p.mqtt.publishAsync('plain/status', 'plain');
      await sys.waitFor(1);
      await until(() => wild.messages.length >= 1);
      await settle(100);
      expect(sys.messages.map((m) => m.topic)).toEqual(['$SYS/status']);
      expect(wild.messages.map((m) => m.topic)).toEqual(['plain/status']);
    },
  },
  {
    ids: { 4: '[MQTT-3.3.5-1]', 5: '[MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4]' },
    title: 'overlapping subscriptions: the message at the highest QoS of them (5.0: one copy with every subscription identifier)',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('ov/#', { qos: 0, ...(v === 5 ? { properties: { subscriptionIdentifier: 1 } } : {}) });
      await c.mqtt.subscribeAsync('ov/+', { qos: 2, ...(v === 5 ? { properties: { subscriptionIdentifier: 2 } } : {}) });
      const p = await b.client(v);
      await p.mqtt.publishAsync('ov/t', 'x', { qos: 2 });
      await c.waitFor(1);
      await settle(150);
      expect(Math.max(...c.messages.map((m) => m.qos))).toBe(2);
      if (v === 5) {
        expect(c.messages).toHaveLength(1);
        expect([c.messages[0]?.properties.subscriptionIdentifier].flat().sort()).toEqual([1, 2]);
      }
    },
  },
  {
    ids: { 5: '[MQTT-3.8.3-3]' },
    title: "No Local: a client's own publishes are not sent to its No Local subscription, others' are",
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('nl/t', { qos: 1, nl: true });
      await c.mqtt.publishAsync('nl/t', 'own', { qos: 1 });
      const p = await b.client(v);
      await p.mqtt.publishAsync('nl/t', 'other', { qos: 1 });
      await c.waitFor(1);
      await settle(100);
      expect(c.payloads()).toEqual(['other']);
      expect(b.edge.counters.skippedNoLocal).toBe(1);
    },
  },
  {
    ids: { 5: '[MQTT-3.8.3-4]' },
    title: 'No Local on a shared subscription is a protocol error (DISCONNECT 0x82)',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }] } as Packet);
      await closedWith(r, v, 0x82);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.1-12] [MQTT-3.3.1-13]' },
    title: 'Retain As Published keeps the RETAIN flag of a live message; without it the flag is 0',
    run: async (b, v) => {
      const rap = await b.client(v);
      await rap.mqtt.subscribeAsync('rap/t', { qos: 1, rap: true });
      const plain = await b.client(v);
      await plain.mqtt.subscribeAsync('rap/t', { qos: 1 });
      const p = await b.client(v);
      await p.mqtt.publishAsync('rap/t', 'kept', { qos: 1, retain: true });
      await p.mqtt.publishAsync('rap/t', 'live', { qos: 1 });
      await rap.waitFor(2);
      await plain.waitFor(2);
      expect(rap.messages.map((m) => [m.payload.toString(), m.retain])).toEqual([
        ['kept', true],
        ['live', false],
      ]);
      expect(plain.messages.map((m) => [m.payload.toString(), m.retain])).toEqual([
        ['kept', false],
        ['live', false],
      ]);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.8.4-4]' },
    title: 'Retain Handling 0 sends retained messages on every SUBSCRIBE, 1 only for a new subscription, 2 never',
    run: async (b, v) => {
      const p = await b.client(v);
      await p.mqtt.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
      const counts: number[] = [];
      for (const rh of [0, 1, 2] as const) {
        const c = await b.client(v);
        await c.mqtt.subscribeAsync('rh/t', { qos: 1, rh });
        await c.mqtt.subscribeAsync('rh/t', { qos: 1, rh });
        await settle(150);
        expect(c.messages.every((m) => m.retain && m.payload.toString() === 'kept')).toBe(true);
        counts.push(c.messages.length);
      }
      expect(counts).toEqual([2, 1, 0]);
    },
  },
  {
    ids: { 5: '[MQTT-4.8.2-1] [MQTT-4.8.2-2] [MQTT-4.8.2-3]' },
    title: '$share/GROUP/filter: each message to one member of the group; retained messages not sent to shared subscriptions',
    run: async (b, v) => {
      const p = await b.client(v);
      await p.mqtt.publishAsync('sh/t', 'retained', { qos: 1, retain: true });
      const m1 = await b.client(v);
      const m2 = await b.client(v);
      await m1.mqtt.subscribeAsync('$share/g/sh/#', { qos: 1 });
      await m2.mqtt.subscribeAsync('$share/g/sh/#', { qos: 1 });
      const bad = await rawConnected(b, v);
      expect((await rawSubscribe(bad, '$share/g+/sh/#', 1)).granted).toEqual([0x8f]);
      await settle(100);
      expect([...m1.messages, ...m2.messages]).toEqual([]);
      for (let i = 0; i < 10; i++) await p.mqtt.publishAsync('sh/t', `m${i}`, { qos: 1 });
      await until(() => m1.messages.length + m2.messages.length >= 10);
      await settle(100);
      const all = [...m1.payloads(), ...m2.payloads()].sort();
      expect(all).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
      expect(m1.messages.length).toBeGreaterThan(0);
      expect(m2.messages.length).toBeGreaterThan(0);
      expect([...m1.messages, ...m2.messages].every((m) => m.qos === 1)).toBe(true);
    },
  },
  {
    ids: { 4: '[MQTT-3.8.4-5] [MQTT-DENY-1]', 5: '[MQTT-3.8.4-7] [MQTT-DENY-1]' },
    title: 'a filter that intersects edge.mqttDenySubscribe is refused with 0x80 (5.0: 0x87 not authorized)',
    setup: { denySubscribe: ['secret/#'] },
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      r.send({
        cmd: 'subscribe',
        messageId: 9,
        subscriptions: [
          { topic: 'secret/a', qos: 1 },
          { topic: '#', qos: 1 },
          { topic: 'public/+', qos: 1 },
        ],
      } as Packet);
      const no = v === 5 ? 0x87 : 0x80;
      expect((await r.next<ISubackPacket>('suback')).granted).toEqual([no, no, 1]);
      const p = await b.client(v);
      await p.mqtt.publishAsync('secret/a', 'hidden', { qos: 1 });
      await p.mqtt.publishAsync('public/a', 'open', { qos: 1 });
      await until(() => publishes(r).length >= 1);
      await settle(100);
      expect(publishes(r).map((x) => x.payload.toString())).toEqual(['open']);
    },
  },
  {
    ids: { 4: '[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5]', 5: '[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.11.3-1]' },
    title: 'UNSUBSCRIBE: UNSUBACK with its packet id even for no match (5.0: 0x00 / 0x11 per filter), and delivery stops',
    run: async (b, v) => {
      const r = await rawConnected(b, v);
      await rawSubscribe(r, 'un/+', 0);
      const p = await b.client(v);
      await p.mqtt.publishAsync('un/a', 'before');
      await until(() => publishes(r).length === 1);
      r.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: ['un/#', 'un/+'] } as Packet);
      const ack = await r.next<IUnsubackPacket>('unsuback');
      expect(ack.messageId).toBe(77);
      if (v === 5) expect(ack.granted).toEqual([0x11, 0x00]);
      await p.mqtt.publishAsync('un/a', 'after');
      await settle(150);
      expect(publishes(r).map((x) => x.payload.toString())).toEqual(['before']);
    },
  },
];

const retainedCases: Case[] = [
  {
    ids: { 4: '[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8]', 5: '[MQTT-3.3.1-5] [MQTT-3.3.1-9]' },
    title: 'a retained message is sent to a new subscription with RETAIN 1, at the lower of its and the subscription QoS',
    run: async (b, v) => {
      const p = await b.client(v);
      await p.mqtt.publishAsync('ret/a', 'A', { qos: 2, retain: true });
      await p.mqtt.publishAsync('ret/b', 'B', { qos: 0, retain: true });
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('ret/#', { qos: 1 });
      await c.waitFor(2);
      const got = Object.fromEntries(c.messages.map((m) => [m.topic, [m.payload.toString(), m.retain, m.qos]]));
      expect(got).toEqual({ 'ret/a': ['A', true, 1], 'ret/b': ['B', true, 0] });
    },
  },
  {
    ids: { 4: '[MQTT-3.3.1-7] [MQTT-3.3.1-12]', 5: '[MQTT-3.3.1-5] [MQTT-3.3.1-8]' },
    title: 'a retained publish replaces the topic’s retained message; a non-retained one does not',
    run: async (b, v) => {
      const p = await b.client(v);
      await p.mqtt.publishAsync('rep/t', 'old', { qos: 1, retain: true });
      // Several within one millisecond: the last one is kept, whatever their ids.
      for (let i = 1; i <= 8; i++) p.mqtt.publish('rep/t', `v${i}`, { qos: 0, retain: true });
      await p.mqtt.publishAsync('rep/t', 'not retained', { qos: 1 });
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('rep/t', { qos: 1 });
      await c.waitFor(1);
      await settle(100);
      expect(c.messages.map((m) => [m.payload.toString(), m.retain])).toEqual([['v8', true]]);
    },
  },
  {
    ids: { 4: '[MQTT-3.3.1-10] [MQTT-3.3.1-11]', 5: '[MQTT-3.3.1-6] [MQTT-3.3.1-7]' },
    title: 'a retained publish with an empty payload clears the topic (and is delivered to current subscribers)',
    run: async (b, v) => {
      const live = await b.client(v);
      await live.mqtt.subscribeAsync('clr/t', { qos: 1 });
      const p = await b.client(v);
      await p.mqtt.publishAsync('clr/t', 'kept', { qos: 1, retain: true });
      await p.mqtt.publishAsync('clr/t', '', { qos: 1, retain: true });
      await live.waitFor(2);
      expect(live.payloads()).toEqual(['kept', '']);
      await until(() => b.edge.retained.size === 0);
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('clr/t', { qos: 1 });
      await settle(150);
      expect(c.messages).toEqual([]);
      expect(b.edge.retained.size).toBe(0);
    },
  },
  {
    ids: { 4: '[MQTT-3.3.1-9]', 5: '[MQTT-3.3.1-12]' },
    title: 'a retained publish reaches established subscriptions with RETAIN 0',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('est/t', { qos: 1 });
      const p = await b.client(v);
      await p.mqtt.publishAsync('est/t', 'x', { qos: 1, retain: true });
      await c.waitFor(1);
      expect(c.messages[0]?.retain).toBe(false);
    },
  },
];

const willCases: Case[] = [
  {
    ids: BOTH('[MQTT-3.1.2-8]'),
    title: 'the will is published when the connection ends without DISCONNECT',
    run: async (b, v) => {
      const w = await b.client(v);
      await w.mqtt.subscribeAsync('will/#', { qos: 1 });
      const c = await b.client(v, { will: { topic: 'will/gone', payload: Buffer.from('bye'), qos: 1, retain: false } });
      c.drop();
      expect((await w.waitFor(1)).map((m) => [m.topic, m.payload.toString(), m.qos])).toEqual([['will/gone', 'bye', 1]]);
    },
  },
  {
    ids: BOTH('[MQTT-3.1.2-10] [MQTT-3.14.4-3]'),
    title: 'DISCONNECT (reason 0) discards the will',
    run: async (b, v) => {
      const w = await b.client(v);
      await w.mqtt.subscribeAsync('will/#', { qos: 1 });
      const c = await b.client(v, { will: { topic: 'will/gone', payload: Buffer.from('bye'), qos: 1, retain: false } });
      await c.end();
      await settle(200);
      expect(w.messages).toEqual([]);
      expect(b.edge.counters.willsPublished).toBe(0);
    },
  },
  {
    ids: { 5: '[MQTT-3.1.2-8]' },
    title: 'DISCONNECT with reason 0x04 publishes the will',
    run: async (b, v) => {
      const w = await b.client(v);
      await w.mqtt.subscribeAsync('will/#', { qos: 1 });
      const c = await b.client(v, { will: { topic: 'will/asked', payload: Buffer.from('as asked'), qos: 0, retain: false } });
      await c.end(0x04);
      expect((await w.waitFor(1)).map((m) => m.payload.toString())).toEqual(['as asked']);
    },
  },
  {
    ids: { 5: '[MQTT-3.1.3-9] [MQTT-3.1.2-8]' },
    title: 'Will Delay Interval: a reconnect within the delay cancels the will; otherwise it goes after the delay',
    run: async (b, v) => {
      const w = await b.client(v);
      await w.mqtt.subscribeAsync('will/#', { qos: 1 });
      const id = cid('delay');
      const opts = {
        clientId: id,
        clean: false,
        properties: { sessionExpiryInterval: 30 },
        will: { topic: 'will/delayed', payload: Buffer.from('late'), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } },
      };
      const c1 = await b.client(v, opts);
      c1.drop();
      await settle(300);
      const c2 = await b.client(v, opts);
      await settle(1200);
      expect(w.messages).toEqual([]);
      const t0 = performance.now();
      c2.drop();
      await w.waitFor(1, 3000);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
      expect(w.payloads()).toEqual(['late']);
    },
  },
  {
    ids: { 4: '[MQTT-3.1.2-17]', 5: '[MQTT-3.1.2-15]' },
    title: 'a will with Will Retain 1 is published as a retained message',
    run: async (b, v) => {
      const c = await b.client(v, { will: { topic: 'will/ret', payload: Buffer.from('last words'), qos: 1, retain: true } });
      c.drop();
      await until(() => b.edge.retained.size === 1);
      const late = await b.client(v);
      await late.mqtt.subscribeAsync('will/ret', { qos: 1 });
      expect((await late.waitFor(1)).map((m) => [m.payload.toString(), m.retain])).toEqual([['last words', true]]);
    },
  },
];

const v5PropertyCases: Case[] = [
  {
    ids: { 5: '[MQTT-3.3.2-5] [MQTT-3.3.2-6]' },
    title: 'Message Expiry Interval: an expired message is not delivered; the remaining interval is forwarded',
    run: async (b, v) => {
      const id = cid('expiry');
      const opts = { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } };
      const c = await b.client(v, opts);
      await c.mqtt.subscribeAsync('mexp/#', { qos: 1 });
      await c.end();
      const p = await b.client(v);
      await p.mqtt.publishAsync('mexp/short', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await p.mqtt.publishAsync('mexp/long', 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
      await settle(1300);
      const back = await b.client(v, opts);
      await back.waitFor(1);
      await settle(100);
      expect(back.payloads()).toEqual(['long']);
      const left = back.messages[0]?.properties.messageExpiryInterval as number;
      expect(left).toBeGreaterThanOrEqual(58);
      expect(left).toBeLessThanOrEqual(59);
      expect(b.edge.counters.dropped.expired).toBe(1);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-4] [MQTT-3.3.2-20]' },
    title: 'Payload Format Indicator and Content Type reach subscribers unaltered',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('pfi/t', { qos: 1 });
      const p = await b.client(v);
      await p.mqtt.publishAsync('pfi/t', 'héllo', { qos: 1, properties: { payloadFormatIndicator: true, contentType: 'text/plain; charset=utf-8' } });
      await p.mqtt.publishAsync('pfi/t', Buffer.from([0xff, 0x00]), { qos: 1, properties: { contentType: 'application/octet-stream' } });
      await c.waitFor(2);
      expect(c.messages.map((m) => [m.properties.payloadFormatIndicator, m.properties.contentType])).toEqual([
        [true, 'text/plain; charset=utf-8'],
        [undefined, 'application/octet-stream'],
      ]);
      expect(c.messages[0]?.payload.toString()).toBe('héllo');
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-4] [MQTT-CONN-4]' },
    title: 'Payload Format Indicator 1 with a payload that is not UTF-8 gets PUBACK 0x99 and is not delivered',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('pfi/#', { qos: 1 });
      const r = await rawConnected(b, v);
      const q = pub('pfi/bad', Buffer.from([0xc3, 0x28]), 1, { properties: { payloadFormatIndicator: true } });
      r.send(q);
      expect((await r.next<IPubackPacket>('puback')).reasonCode).toBe(0x99);
      await settle(100);
      expect(c.messages).toEqual([]);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-17] [MQTT-3.3.2-18]' },
    title: 'user properties reach subscribers unaltered and in order',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('up/t', { qos: 1 });
      const p = await b.client(v);
      const userProperties = { zeta: 'last-letter', alpha: 'first', 'with space': 'ü' };
      await p.mqtt.publishAsync('up/t', 'plain text', { qos: 1, properties: { userProperties } });
      await c.waitFor(1);
      const got = c.messages[0]?.properties.userProperties;
      expect(got).toEqual(userProperties);
      expect(Object.keys(got ?? {})).toEqual(['zeta', 'alpha', 'with space']);
    },
  },
  {
    ids: { 5: '[MQTT-CONN-6]' },
    title: "a SUBSCRIBE `filter` user property is a selector over the events' headers (user properties, JSON payload fields)",
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('sel/#', { qos: 1, properties: { userProperties: { filter: "amountCents > 100 OR region = 'eu'" } } });
      const p = await b.client(v);
      await p.mqtt.publishAsync('sel/a', JSON.stringify({ amountCents: 50 }), { qos: 1 });
      await p.mqtt.publishAsync('sel/b', JSON.stringify({ amountCents: 500 }), { qos: 1 });
      await p.mqtt.publishAsync('sel/c', 'x', { qos: 1, properties: { userProperties: { region: 'us' } } });
      await p.mqtt.publishAsync('sel/d', 'x', { qos: 1, properties: { userProperties: { region: 'eu' } } });
      await c.waitFor(2);
      await settle(100);
      expect(c.messages.map((m) => m.topic)).toEqual(['sel/b', 'sel/d']);
      const r = await rawConnected(b, v);
      const ack = await rawSubscribe(r, 'sel/#', 1, {});
      expect(ack.granted).toEqual([1]);
      r.send({ cmd: 'subscribe', messageId: 5, properties: { userProperties: { filter: 'amountCents >' } }, subscriptions: [{ topic: 'sel2/#', qos: 1 }] } as Packet);
      expect((await r.next<ISubackPacket>('suback', (x) => x.messageId === 5)).granted).toEqual([0x8f]);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-12] [MQTT-3.3.2-7]' },
    title: 'topic aliases from the client: set with a topic, then used with an empty one; not carried to a new connection',
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('alias/#', { qos: 1 });
      const r = await rawConnected(b, v);
      r.send(pub('alias/t', 'set', 1, { properties: { topicAlias: 3 } }));
      r.send(pub('', 'used', 1, { properties: { topicAlias: 3 } }));
      await c.waitFor(2);
      expect(c.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([
        ['alias/t', 'set'],
        ['alias/t', 'used'],
      ]);
      const r2 = await rawConnected(b, v);
      r2.send(pub('', 'unknown', 1, { properties: { topicAlias: 3 } }));
      await closedWith(r2, v, 0x82);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-9] [MQTT-3.2.2-17]' },
    title: "a topic alias above the broker's Topic Alias Maximum gets DISCONNECT 0x94",
    setup: { topicAliasMaximum: 2 },
    run: async (b, v) => {
      const r = await b.raw(v);
      expect((await r.connect()).properties?.topicAliasMaximum).toBe(2);
      r.send(pub('alias/t', 'x', 1, { properties: { topicAlias: 3 } }));
      await closedWith(r, v, 0x94);
    },
  },
  {
    ids: { 5: '[MQTT-3.1.2-26] [MQTT-3.1.2-27] [MQTT-3.3.2-11]' },
    title: "the broker sends topic aliases only up to the client's Topic Alias Maximum, none without one",
    run: async (b, v) => {
      const withAliases = await rawConnected(b, v, { properties: { topicAliasMaximum: 1 } });
      await rawSubscribe(withAliases, 'sa/#', 0);
      const without = await rawConnected(b, v);
      await rawSubscribe(without, 'sa/#', 0);
      const mqttjs = await b.client(v, { properties: { topicAliasMaximum: 5 } });
      await mqttjs.mqtt.subscribeAsync('sa/#');
      const p = await b.client(v);
      for (const t of ['sa/a', 'sa/a', 'sa/b']) await p.mqtt.publishAsync(t, t);
      await until(() => publishes(withAliases).length === 3 && publishes(without).length === 3);
      expect(publishes(withAliases).map((x) => [x.topic, x.properties?.topicAlias])).toEqual([
        ['sa/a', 1],
        ['', 1],
        ['sa/b', undefined],
      ]);
      expect(publishes(without).map((x) => [x.topic, x.properties?.topicAlias])).toEqual([
        ['sa/a', undefined],
        ['sa/a', undefined],
        ['sa/b', undefined],
      ]);
      // MQTT.js resolves the aliases it allowed.
      expect((await mqttjs.waitFor(3)).map((m) => m.topic)).toEqual(['sa/a', 'sa/a', 'sa/b']);
    },
  },
  {
    ids: { 5: '[MQTT-3.1.2-24] [MQTT-3.1.2-25]' },
    title: "a message larger than the client's Maximum Packet Size is not sent to it, and counts as sent",
    run: async (b, v) => {
      const r = await rawConnected(b, v, { properties: { maximumPacketSize: 64, receiveMaximum: 1 } });
      await rawSubscribe(r, 'mps/#', 1);
      const p = await b.client(v);
      await p.mqtt.publishAsync('mps/big', 'x'.repeat(200), { qos: 1 });
      await p.mqtt.publishAsync('mps/small', 'small', { qos: 1 });
      await until(() => publishes(r).length >= 1);
      await settle(100);
      expect(publishes(r).map((x) => x.topic)).toEqual(['mps/small']);
      expect(b.edge.counters.dropped['too-large']).toBe(1);
    },
  },
  {
    ids: { 5: '[MQTT-3.3.2-15] [MQTT-3.3.2-16]' },
    title: 'request/response: Response Topic and Correlation Data reach the responder unaltered',
    run: async (b, v) => {
      const responder = await b.client(v);
      await responder.mqtt.subscribeAsync('svc/req', { qos: 1 });
      const requester = await b.client(v);
      await requester.mqtt.subscribeAsync('svc/reply/me', { qos: 1 });
      const correlationData = Buffer.from([0, 1, 2, 250, 255]);
      await requester.mqtt.publishAsync('svc/req', 'ping', { qos: 1, properties: { responseTopic: 'svc/reply/me', correlationData } });
      const [req] = await responder.waitFor(1);
      expect(req?.properties.responseTopic).toBe('svc/reply/me');
      expect(Buffer.compare(req?.properties.correlationData as Buffer, correlationData)).toBe(0);
      await responder.mqtt.publishAsync(req?.properties.responseTopic as string, 'pong', { qos: 1, properties: { correlationData: req?.properties.correlationData as Buffer } });
      const [res] = await requester.waitFor(1);
      expect(res?.payload.toString()).toBe('pong');
      expect(Buffer.compare(res?.properties.correlationData as Buffer, correlationData)).toBe(0);
    },
  },
];

const transportCases: Case[] = [
  {
    ids: BOTH('[MQTT-6.0.0-2] [MQTT-6.0.0-4]'),
    title: 'MQTT over WebSocket at /mqtt (subprotocol mqtt) talks to TCP clients',
    setup: { http: true },
    run: async (b, v) => {
      const probe = new WebSocket(b.wsUrl, ['mqtt']);
      try {
        await new Promise<void>((resolve, reject) => {
          probe.once('open', () => resolve());
          probe.once('error', reject);
        });
        expect(probe.protocol).toBe('mqtt');
      } finally {
        probe.terminate();
      }
      const ws = await b.client(v, {}, b.wsUrl);
      await ws.mqtt.subscribeAsync('wsx/#', { qos: 1 });
      const tcp = await b.client(v);
      await tcp.mqtt.subscribeAsync('wsx/#', { qos: 1 });
      await tcp.mqtt.publishAsync('wsx/from-tcp', 'a', { qos: 1 });
      await ws.mqtt.publishAsync('wsx/from-ws', 'b', { qos: 2 });
      await ws.waitFor(2);
      await tcp.waitFor(2);
      expect(ws.messages.map((m) => m.topic)).toEqual(['wsx/from-tcp', 'wsx/from-ws']);
      expect(tcp.messages.map((m) => m.topic)).toEqual(['wsx/from-tcp', 'wsx/from-ws']);
      // The probe's connection ends; the MQTT.js one stays.
      expect(await until(() => [...b.edge.connections].filter((c) => c.transport === 'ws').length === 1)).toBe(true);
    },
  },
  {
    ids: BOTH('[MQTT-3.1.2-8] [MQTT-6.0.0-2]'),
    title: 'a WebSocket client that goes away is closed at once: its will is published, its session detached',
    setup: { http: true },
    run: async (b, v) => {
      const w = await b.client(v);
      await w.mqtt.subscribeAsync('wswill/#', { qos: 1 });
      const id = cid('wsgone');
      const c = await b.client(v, { clientId: id, will: { topic: 'wswill/gone', payload: Buffer.from('ws bye'), qos: 1, retain: false } }, b.wsUrl);
      c.drop();
      expect((await w.waitFor(1)).map((m) => m.payload.toString())).toEqual(['ws bye']);
      expect(b.edge.sessions.has(id)).toBe(false);
      expect([...b.edge.connections].filter((x) => x.transport === 'ws')).toHaveLength(0);
    },
  },
  {
    ids: BOTH('[MQTT-MAP-2]'),
    title: 'a CloudEvent POSTed over HTTP reaches an MQTT subscriber (5.0: its attributes as user properties, binary mode)',
    setup: { http: true },
    run: async (b, v) => {
      const c = await b.client(v);
      await c.mqtt.subscribeAsync('orders/#', { qos: 1 });
      const res = await httpPublish(b.httpPort, { id: 'ce-1', topic: 'orders/eu/1', data: { amountCents: 250 }, delivery: 'guaranteed' });
      expect(res.status).toBeLessThan(300);
      const [m] = await c.waitFor(1);
      expect(m?.topic).toBe('orders/eu/1');
      expect(JSON.parse(m?.payload.toString() ?? '')).toEqual({ amountCents: 250 });
      expect(m?.qos).toBe(1);
      if (v === 5) {
        // JSON is the mesh's default content type, stored as no header [EDGE-4]; 5.0 names it.
        expect(m?.properties.userProperties).toMatchObject({ specversion: '1.0', id: 'ce-1', source: '/billing', type: 'com.acme.order.created' });
        expect(m?.properties.contentType).toBe('application/json');
      } else expect(m?.properties).toEqual({});
    },
  },
  {
    ids: BOTH('[MQTT-MAP-1]'),
    title: 'an MQTT publish reaches a mesh WebSocket subscriber as an event: source mqtt://BROKER/CLIENT, type mqtt.publish; its user properties are headers a selector reads',
    setup: { http: true },
    run: async (b, v) => {
      const all = new WsClient(b.httpPort, 'mq/#');
      const eu = new WsClient(b.httpPort, 'mq/#', v === 5 ? "region = 'eu'" : "k = 'eu'");
      try {
        await Promise.all([all.open, eu.open]);
        const id = cid('pub/lisher');
        const c = await b.client(v, { clientId: id });
        for (const region of ['us', 'eu']) {
          if (v === 5) await c.mqtt.publishAsync('mq/t', 'text', { qos: 1, properties: { userProperties: { region }, contentType: 'text/plain' } });
          else await c.mqtt.publishAsync('mq/t', JSON.stringify({ k: region }), { qos: 1 });
        }
        expect(await until(() => all.events.length === 2 && eu.events.length === 1)).toBe(true);
        const e = all.events[0] as Record<string, unknown>;
        expect(e).toMatchObject({ topic: 'mq/t', source: `mqtt://us-1/${encodeURIComponent(id)}`, type: 'mqtt.publish', specversion: '1.0', delivery: 'guaranteed' });
        expect(typeof e['id']).toBe('string');
        if (v === 5) expect(e).toMatchObject({ datacontenttype: 'text/plain', data: 'text' });
        else expect(e).toMatchObject({ datacontenttype: 'application/json', data: { k: 'us' } });
        await settle(100);
        expect(eu.events).toHaveLength(1);
        expect(eu.events[0]?.['id']).toBe(all.events[1]?.['id']);
      } finally {
        all.close();
        eu.close();
      }
    },
  },
];

const tables: Array<[string, Case[]]> = [
  ['CONNECT', connectCases],
  ['malformed packets', malformedCases],
  ['PUBLISH', publishCases],
  ['SUBSCRIBE and UNSUBSCRIBE', subscribeCases],
  ['retained messages', retainedCases],
  ['wills', willCases],
  ['5.0 properties', v5PropertyCases],
  ['transports and the mesh', transportCases],
];

for (const [name, cases] of tables) {
  const rows = cases.flatMap((c) => ([4, 5] as const).filter((v) => c.ids[v] !== undefined).map((v) => ({ name: `${c.ids[v]} ${v === 4 ? 'v3.1.1' : 'v5'} ${c.title}`, c, v })));
  describe(`MQTT conformance: ${name}`, () => {
    it.each(rows)('$name', async ({ c, v }) => {
      const b = await startMqtt(c.setup);
      try {
        await c.run(b, v);
      } finally {
        await b.close();
      }
    });
  });
}
