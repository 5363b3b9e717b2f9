/**
 * The MQTT load generator's wire [BENCH-MQ1] (mqtt-load.ts): a PUBLISH pre-encoded once per run,
 * a frame splitter, and one MQTT 5.0 client connection that reads PUBLISH and PUBACK in place
 * (no packet objects) and answers a chunk's QoS 1 deliveries with one write of PUBACKs; the
 * handshake (CONNECT, SUBSCRIBE and their acks, DISCONNECT) goes through mqtt-packet.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type IConnackPacket, type ISubackPacket, type Packet } from 'mqtt-packet';

const V5 = { protocolVersion: 5 } as const;

/** A PUBLISH pre-encoded for `topic` (5.0, no properties), and where its fields are. */
export interface Template {
  readonly bytes: Buffer;
  readonly idAt: number;
  readonly payloadAt: number;
}

export function publishTemplate(topic: string, qos: 0 | 1, payloadBytes: number): Template {
  const t = Buffer.from(topic, 'utf8');
  const remaining = 2 + t.length + (qos > 0 ? 2 : 0) + 1 + payloadBytes;
  const lenBytes: number[] = [];
  let x = remaining;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    lenBytes.push(b);
  } while (x > 0);
  const bytes = Buffer.alloc(1 + lenBytes.length + remaining);
  let at = 0;
  bytes[at++] = 0x30 | (qos << 1);
  for (const b of lenBytes) bytes[at++] = b;
  bytes.writeUInt16BE(t.length, at);
  at += 2;
  t.copy(bytes, at);
  at += t.length;
  const idAt = qos > 0 ? at : -1;
  if (qos > 0) at += 2;
  bytes[at++] = 0; // property length
  return { bytes, idAt, payloadAt: at };
}

/**
 * Splits a byte stream into MQTT frames, calling `frame(buf, first, from, to)` for each: its first
 * byte, its variable header and payload at buf[from, to). A partial frame waits for the next chunk.
 */
class FrameReader {
  #rest: Buffer | null = null;

  constructor(private readonly frame: (buf: Buffer, first: number, from: number, to: number, start: number) => void) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.#rest !== null) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = null;
    }
    const n = buf.length;
    let off = 0;
    while (n - off >= 2) {
      let len = 0;
      let mul = 1;
      let p = off + 1;
      let complete = false;
      for (let k = 0; k < 4 && p < n; k++) {
        const b = buf[p++] as number;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (p - off > 4) throw new Error('malformed remaining length');
        break;
      }
      if (p + len > n) break;
      this.frame(buf, buf[off] as number, p, p + len, off);
      off = p + len;
    }
    if (off < n) this.#rest = buf.subarray(off);
  }
}

/** One MQTT 5.0 connection of the generator: handshake through mqtt-packet, PUBLISH/PUBACK in place. */
export class BenchClient {
  readonly socket: Socket;
  /** A PUBLISH arrived: its QoS, packet id and payload at buf[from, to). */
  onPublish: (buf: Buffer, qos: number, id: number, from: number, to: number) => void = () => {};
  onPuback: (id: number, reasonCode: number) => void = () => {};
  /** Called after each chunk read (its PUBLISHes and PUBACKs handled). */
  onChunk: () => void = () => {};
  closed = false;
  error: Error | null = null;
  readonly #control = mqtt.parser(V5);
  readonly #waiters = new Map<string, (p: Packet) => void>();
  readonly #reader: FrameReader;
  #acks = new Uint16Array(1024);
  #ackCount = 0;

  private constructor(port: number) {
    this.#reader = new FrameReader((buf, first, from, to, start) => this.#frame(buf, first, from, to, start));
    this.socket = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    this.#control.on('packet', (p: Packet) => {
      const w = this.#waiters.get(p.cmd);
      if (w !== undefined) {
        this.#waiters.delete(p.cmd);
        w(p);
      } else if (p.cmd === 'disconnect') this.#fail(new Error(`broker sent DISCONNECT ${(p as { reasonCode?: number }).reasonCode ?? ''}`));
    });
    this.#control.on('error', (e: Error) => this.#fail(e));
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk);
      } catch (e) {
        this.#fail(e as Error);
        return;
      }
      if (this.#ackCount > 0) {
        const out = Buffer.allocUnsafe(this.#ackCount * 4);
        for (let k = 0; k < this.#ackCount; k++) {
          const id = this.#acks[k] as number;
          out[k * 4] = 0x40;
          out[k * 4 + 1] = 2;
          out[k * 4 + 2] = id >> 8;
          out[k * 4 + 3] = id & 0xff;
        }
        this.#ackCount = 0;
        this.socket.write(out);
      }
      this.onChunk();
    });
    this.socket.on('error', (e) => this.#fail(e));
    this.socket.on('close', () => {
      this.closed = true;
      this.#fail(new Error('connection closed by the broker'));
    });
  }

  #fail(e: Error): void {
    this.error ??= e;
    for (const w of this.#waiters.values()) w({ cmd: 'disconnect' } as Packet);
    this.#waiters.clear();
  }

  #frame(buf: Buffer, first: number, from: number, to: number, start: number): void {
    const type = first >> 4;
    if (type === 3) {
      const qos = (first >> 1) & 3;
      let at = from + 2 + buf.readUInt16BE(from);
      let id = 0;
      if (qos > 0) {
        id = buf.readUInt16BE(at);
        at += 2;
      }
      // Property length (variable byte integer), then the properties: skipped.
      let plen = 0;
      let mul = 1;
      for (;;) {
        const b = buf[at++] as number;
        plen += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) break;
      }
      at += plen;
      if (qos > 0) {
        if (this.#ackCount === this.#acks.length) {
          const grown = new Uint16Array(this.#acks.length * 2);
          grown.set(this.#acks);
          this.#acks = grown;
        }
        this.#acks[this.#ackCount++] = id;
      }
      this.onPublish(buf, qos, id, at, to);
    } else if (type === 4) {
      this.onPuback(buf.readUInt16BE(from), to - from > 2 ? (buf[from + 2] as number) : 0);
    } else this.#control.parse(buf.subarray(start, to));
  }

  #await<T extends Packet>(cmd: string, ms = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(cmd);
        reject(new Error(`no ${cmd.toUpperCase()} within ${ms} ms`));
      }, ms);
      this.#waiters.set(cmd, (p) => {
        clearTimeout(timer);
        if (p.cmd !== cmd) reject(this.error ?? new Error(`connection ended before ${cmd.toUpperCase()}`));
        else resolve(p as T);
      });
    });
  }

  /** Connects (clean start, no keep-alive); resolves with the CONNACK. */
  static async open(port: number, clientId: string, receiveMaximum: number): Promise<{ client: BenchClient; connack: IConnackPacket }> {
    const client = new BenchClient(port);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', () => resolve());
      client.socket.once('error', reject);
    });
    const ack = client.#await<IConnackPacket>('connack');
    client.socket.write(mqtt.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 0, properties: { receiveMaximum } }, V5));
    const connack = await ack;
    if ((connack.reasonCode ?? 0) !== 0) throw new Error(`CONNACK reason code 0x${(connack.reasonCode ?? 0).toString(16)}`);
    return { client, connack };
  }

  async subscribe(topic: string, qos: 0 | 1): Promise<void> {
    const ack = this.#await<ISubackPacket>('suback');
    this.socket.write(mqtt.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }, V5));
    const granted = (await ack).granted[0];
    if (granted !== qos) throw new Error(`SUBACK granted ${JSON.stringify(granted)} for QoS ${qos}`);
  }

  /** DISCONNECT (normal) and close. */
  async close(): Promise<void> {
    if (!this.closed && !this.socket.destroyed) {
      this.socket.end(mqtt.generate({ cmd: 'disconnect', reasonCode: 0 }, V5));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => resolve(), 1000);
        this.socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.socket.destroy();
  }
}
