/**
 * [MQTT-ENC-1] The property-less PUBLISH fast path writes exactly mqtt-packet's bytes, and leaves
 * to mqtt-packet what it does not take (properties, odd fields).
 */
import fc from 'fast-check';
import mqtt, { type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePacket, encodePublishFast } from './encoder.ts';

const reference = (p: IPublishPacket, version: 3 | 4 | 5): Buffer => mqtt.generate({ ...p }, { protocolVersion: version });

const publish = fc.record({
  topic: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constant('a'.repeat(300))),
  payloadLength: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(125, 126, 127, 128, 16_380, 16_383, 16_384, 70_000)),
  qos: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
  dup: fc.boolean(),
  retain: fc.boolean(),
  messageId: fc.integer({ min: 0, max: 65_535 }),
  version: fc.constantFrom(3, 4, 5) as fc.Arbitrary<3 | 4 | 5>,
});

describe('[MQTT-ENC-1] PUBLISH fast path', () => {
  it("writes mqtt-packet's bytes for every property-less PUBLISH", () => {
    fc.assert(
      fc.property(publish, (x) => {
        const payload = Buffer.alloc(x.payloadLength, 0xab);
        const p: IPublishPacket = { cmd: 'publish', topic: x.topic, payload, qos: x.qos, dup: x.dup, retain: x.retain, ...(x.qos > 0 ? { messageId: x.messageId } : {}) };
        const fast = encodePublishFast(p, x.version);
        expect(fast).not.toBeNull();
        expect((fast as Buffer).equals(reference(p, x.version))).toBe(true);
        expect((encodePacket(p, x.version) as Buffer).equals(fast as Buffer)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves to mqtt-packet a PUBLISH with properties, a string payload, or fields it would not encode plainly', () => {
    const base: IPublishPacket = { cmd: 'publish', topic: 't/1', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 7 };
    const withProps: IPublishPacket = { ...base, properties: { contentType: 'text/plain' } };
    expect(encodePublishFast(withProps, 5)).toBeNull();
    expect((encodePacket(withProps, 5) as Buffer).equals(reference(withProps, 5))).toBe(true);
    expect(encodePublishFast({ ...base, payload: 'x' }, 4)).toBeNull();
    expect(encodePublishFast({ ...base, messageId: 70_000 }, 4)).toBeNull();
    expect(encodePublishFast({ ...base, messageId: 1.5 }, 4)).toBeNull();
    expect(encodePublishFast({ ...base, messageId: undefined }, 4)).toBeNull();
    expect(encodePacket({ ...base, messageId: undefined }, 4)).toBeInstanceOf(Error);
    expect(encodePublishFast({ ...base, qos: 3 as 2 }, 4)).toBeNull();
    expect(encodePublishFast({ ...base, topic: 'é'.repeat(40_000) }, 4)).toBeNull();
  });
});
