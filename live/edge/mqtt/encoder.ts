/**
 * Packet encoding for the MQTT edge: mqtt-packet's `writeToStream` into one reusable sink.
 * `mqtt.generate` builds a new EventEmitter-based accumulator for every packet (0.8% of a
 * broker's CPU under a QoS 0 stream in a profile here, with its garbage); this sink is reused
 * (encoding is synchronous), and collects an invalid packet's error instead of throwing it.
 *
 * [MQTT-ENC-1] A PUBLISH without properties (every delivery to a 3.1.1 client, and to a 5.0
 * client of a plain MQTT message) is written straight into its one Buffer: the same bytes as
 * mqtt-packet's (tested against it), without its per-field `debug` calls and chunk list, which
 * were 12% of a broker's CPU under a QoS 0 stream in a profile here. Anything else, and any
 * PUBLISH mqtt-packet would refuse or encode oddly, goes through mqtt-packet as before.
 */
import mqtt, { type IPublishPacket, type Packet } from 'mqtt-packet';

class Sink {
  chunks: Array<Buffer | string> = [];
  failed: Error | null = null;
  write(chunk: Buffer | string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  destroy(err: Error): void {
    this.failed ??= err;
  }
  emit(): boolean {
    return false;
  }
}

const sink = new Sink();
const OPTIONS = [undefined, undefined, undefined, { protocolVersion: 3 }, { protocolVersion: 4 }, { protocolVersion: 5 }] as const;

const VARBYTEINT_MAX = 268_435_455;

/** [MQTT-ENC-1] A property-less PUBLISH's bytes, or null when it is not one mqtt-packet would encode plainly. */
export function encodePublishFast(p: IPublishPacket, version: 3 | 4 | 5): Buffer | null {
  if (p.properties !== undefined || typeof p.topic !== 'string') return null;
  const payload = p.payload;
  if (!Buffer.isBuffer(payload)) return null;
  const qos = p.qos || 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) return null;
  const id = p.messageId;
  if (qos > 0 && !(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 65_535)) return null;
  const topicBytes = Buffer.byteLength(p.topic);
  if (topicBytes > 65_535) return null;
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  if (remaining > VARBYTEINT_MAX) return null;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x30 | (qos << 1) | (p.dup ? 0x08 : 0) | (p.retain ? 0x01 : 0);
  let at = 1;
  let x = remaining;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out[at++] = b;
  } while (x > 0);
  out[at++] = topicBytes >> 8;
  out[at++] = topicBytes & 0xff;
  at += out.write(p.topic, at, 'utf8');
  if (qos > 0) {
    out[at++] = (id as number) >> 8;
    out[at++] = (id as number) & 0xff;
  }
  if (version === 5) out[at++] = 0; // property length
  payload.copy(out, at);
  return out;
}

/** The bytes of `packet` for protocol `version` (3, 4 = 3.1.1, 5), or the reason it cannot be encoded. */
export function encodePacket(packet: Packet, version: 3 | 4 | 5): Buffer | Error {
  if (packet.cmd === 'publish') {
    const fast = encodePublishFast(packet, version);
    if (fast !== null) return fast;
  }
  sink.chunks = [];
  sink.failed = null;
  try {
    mqtt.writeToStream(packet, sink as unknown as NodeJS.WritableStream, OPTIONS[version]);
  } catch (e) {
    return e as Error;
  }
  if (sink.failed !== null) return sink.failed;
  const chunks = sink.chunks;
  let length = 0;
  for (const c of chunks) length += typeof c === 'string' ? Buffer.byteLength(c) : c.length;
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const c of chunks) at += typeof c === 'string' ? out.write(c, at) : c.copy(out, at);
  return out;
}
