/**
 * [MQTT-MAP-1][MQTT-MAP-2] The MQTT ⇄ mesh mapping, as pure functions: what a PUBLISH becomes,
 * and what a subscriber is sent, for plain MQTT and for CloudEvents.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../engine/types.ts';
import { deliveryPacket, eventQos, ingestPublish, MQTT_TYPE, mqttSource } from './mapping.ts';

const SRC = mqttSource('us-1', 'c');

const NOW = 1_800_000_000_000;

function publish(over: Partial<IPublishPacket>): IPublishPacket {
  return { cmd: 'publish', topic: 'sensors/tokyo/1', payload: Buffer.from('{"tempC": 21.5, "site": "t", "nested": {"x": 1}}'), qos: 1, retain: false, dup: false, ...over };
}

function envelope(p: ReturnType<typeof ingestPublish>): Envelope {
  return { ...p, specversion: '1.0', publishedAtMs: NOW, path: ['us-1'], hopLimit: 16 };
}

describe('[MQTT-MAP-1] a PUBLISH as a mesh event', () => {
  it('plain MQTT: a fresh id, the client as source, type mqtt.publish, QoS 1 guaranteed, JSON fields as headers', () => {
    const e = ingestPublish(publish({}), mqttSource('us-1', 'dev 7'), NOW);
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.source).toBe('mqtt://us-1/dev%207');
    expect(e.type).toBe(MQTT_TYPE);
    expect(e.guaranteed).toBe(true);
    expect({ ...e.headers }).toEqual({ tempC: 21.5, site: 't' });
    expect(Buffer.from(e.payload).toString()).toBe('{"tempC": 21.5, "site": "t", "nested": {"x": 1}}');
  });

  it('QoS 0 is realtime; QoS 2 and retain are carried as headers', () => {
    expect(ingestPublish(publish({ qos: 0, payload: Buffer.from('x') }), SRC, NOW)).toMatchObject({ guaranteed: false, headers: {} });
    expect({ ...ingestPublish(publish({ qos: 2, retain: true, payload: Buffer.from('x') }), SRC, NOW).headers }).toEqual({ mqttretain: true, mqttqos: 2 });
  });

  it('5.0: CloudEvents attributes from user properties (binary mode), other user properties win over data fields, MQTT properties as headers', () => {
    const e = ingestPublish(
      publish({
        properties: {
          userProperties: { specversion: '1.0', id: 'evt-9', source: '/plant', type: 'com.acme.reading', site: ['a', 'osaka'] },
          contentType: 'application/json',
          payloadFormatIndicator: true,
          messageExpiryInterval: 60,
          responseTopic: 'replies/7',
          correlationData: Buffer.from([1, 2, 3]),
        },
      }),
      SRC,
      NOW,
    );
    expect(e).toMatchObject({ id: 'evt-9', source: '/plant', type: 'com.acme.reading' });
    expect({ ...e.headers }).toEqual({
      tempC: 21.5,
      site: 'osaka',
      datacontenttype: 'application/json',
      mqttformat: 'utf-8',
      mqttexpiry: NOW + 60_000,
      mqttresponsetopic: 'replies/7',
      mqttcorrelation: 'AQID',
    });
  });

  it('a non-JSON content type keeps the payload out of the headers', () => {
    expect({ ...ingestPublish(publish({ properties: { contentType: 'text/plain' } }), SRC, NOW).headers }).toEqual({ datacontenttype: 'text/plain' });
  });
});

describe('[MQTT-MAP-2] a mesh event as a PUBLISH', () => {
  it('round trip for 5.0: properties come back, the expiry as what is left of it', () => {
    const env = envelope(
      ingestPublish(publish({ qos: 2, properties: { userProperties: { unit: 'C' }, messageExpiryInterval: 60, responseTopic: 'r', correlationData: Buffer.from('id') } }), SRC, NOW),
    );
    expect(eventQos(env, true)).toBe(2);
    const p = deliveryPacket(env, 2, false, [4, 9], true, NOW + 10_500) as IPublishPacket;
    expect(p).toMatchObject({ topic: 'sensors/tokyo/1', qos: 2, retain: false });
    expect(p.properties).toEqual({
      userProperties: { tempC: '21.5', site: 't', unit: 'C' },
      messageExpiryInterval: 50,
      responseTopic: 'r',
      correlationData: Buffer.from('id'),
      subscriptionIdentifier: [4, 9],
    });
  });

  it('an expired message is not sent', () => {
    const env = envelope(ingestPublish(publish({ properties: { messageExpiryInterval: 1 } }), SRC, NOW));
    expect(deliveryPacket(env, 1, false, null, true, NOW + 1000)).toBeNull();
  });

  it('a CloudEvent from another edge carries its attributes as user properties (binary mode); 3.1.1 gets topic and payload only', () => {
    const env: Envelope = {
      id: 'evt-1',
      source: '/billing',
      type: 'com.acme.order.created',
      specversion: '1.0',
      topic: 'orders/eu/checkout',
      headers: { amountCents: 4900 },
      payload: Buffer.from('{"amountCents":4900}'),
      publishedAtMs: NOW,
      path: ['us-1'],
      hopLimit: 16,
    };
    expect(eventQos(env, false)).toBe(0);
    // No datacontenttype header on a CloudEvent means JSON [EDGE-4]: 5.0 names it.
    expect(deliveryPacket(env, 0, false, null, true, NOW)?.properties).toEqual({
      contentType: 'application/json',
      userProperties: { specversion: '1.0', id: 'evt-1', source: '/billing', type: 'com.acme.order.created', amountCents: '4900' },
    });
    expect(deliveryPacket(env, 1, false, null, false, NOW)).toEqual({ cmd: 'publish', topic: 'orders/eu/checkout', payload: Buffer.from('{"amountCents":4900}'), qos: 1, retain: false, dup: false });
  });
});
