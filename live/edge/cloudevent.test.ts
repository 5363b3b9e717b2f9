/**
 * [EDGE-4][EDGE-5] What an ingested CloudEvent stores as envelope headers, and what a subscriber is
 * given back: only what the envelope has no field for becomes a header (data fields, subject,
 * time, other extensions, a non-JSON datacontenttype), and delivery restores the JSON content
 * type the edge left out. [CODEC-SIZE] An HTTP-ingested event then costs the WAN the same bytes as
 * the twin's event with the same id, source, type, topic, headers and payload.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodedLength } from '../../engine/codec/index.ts';
import { FrameKind } from '../../engine/frames.ts';
import { type Envelope, type Headers, SPECVERSION } from '../../engine/types.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { createRng } from '../../sim/rng.ts';
import { expandPublishers } from '../../sim/workload.ts';
import { deliveredContentType, type Ingested, ingestBinary, ingestStructured, toStructured } from './cloudevent.ts';
import type { EdgePublish } from './port.ts';

const ATTRS = { specversion: '1.0', id: 'evt-1', source: '/billing/checkout', type: 'com.acme.order', topic: 'orders/eu/created' };
const CE = { 'ce-specversion': '1.0', 'ce-id': 'evt-1', 'ce-source': '/billing/checkout', 'ce-type': 'com.acme.order', 'ce-topic': 'orders/eu/created' };
const enc = new TextEncoder();

function ok(r: Ingested): EdgePublish {
  if (!r.ok) throw new Error(r.error);
  return r.publish;
}

const structured = (event: Record<string, unknown>): EdgePublish => ok(ingestStructured(JSON.stringify({ ...ATTRS, ...event })));
const binary = (headers: Record<string, string>, body: string | Uint8Array): EdgePublish => ok(ingestBinary({ ...CE, ...headers }, typeof body === 'string' ? enc.encode(body) : body));

/** The envelope a broker makes of a publish (Broker.handlePublish), on its first hop. */
function envelopeOf(p: Omit<EdgePublish, 'guaranteed'>): Envelope {
  return { id: p.id, source: p.source, type: p.type, specversion: SPECVERSION, topic: p.topic, headers: p.headers, payload: p.payload, publishedAtMs: 1_770_289_945_123, path: ['us-1'], hopLimit: 16 };
}

/** The WebSocket message, without the mesh's own extensions. */
function delivered(p: EdgePublish): Record<string, unknown> {
  const { routingpath: _r, publishedat: _p, delivery: _d, ...rest } = toStructured(envelopeOf(p), p.guaranteed);
  return rest;
}

describe('[EDGE-4] envelope headers', () => {
  it('hold the data fields only: id, source, type, topic, delivery and a JSON content type are not headers', () => {
    const data = { amountCents: 12500, region: 'eu', vip: true, order: { lines: [1, 2] } };
    const s = structured({ delivery: 'guaranteed', datacontenttype: 'application/json', data });
    expect({ ...s.headers }).toEqual({ amountCents: 12500, region: 'eu', vip: true });
    expect(s).toMatchObject({ id: 'evt-1', source: '/billing/checkout', type: 'com.acme.order', topic: 'orders/eu/created', guaranteed: true });
    // Implied JSON (structured data, no datacontenttype) and a binary-mode JSON body: the same.
    expect({ ...structured({ data }).headers }).toEqual({ amountCents: 12500, region: 'eu', vip: true });
    expect({ ...binary({ 'content-type': 'application/json', 'ce-delivery': 'realtime' }, JSON.stringify(data)).headers }).toEqual({ amountCents: 12500, region: 'eu', vip: true });
  });

  it('keep subject, time and other extensions when sent; binary-mode extensions are strings', () => {
    const s = structured({ subject: 'order-88', time: '2026-02-05T10:12:25Z', tier: 'gold', retries: 2, data: { amountCents: 1 } });
    expect({ ...s.headers }).toEqual({ amountCents: 1, subject: 'order-88', time: '2026-02-05T10:12:25.000Z', tier: 'gold', retries: 2 }); // the SDK's form of the time
    const b = binary({ 'content-type': 'application/json', 'ce-subject': 'order-88', 'ce-tier': 'gold' }, '{"amountCents":1}');
    expect({ ...b.headers }).toEqual({ amountCents: 1, subject: 'order-88', tier: 'gold' });
    // subject as the topic (no topic extension) is both: the topic, and a header.
    const { topic: _, ...noTopic } = ATTRS;
    const t = ok(ingestStructured(JSON.stringify({ ...noTopic, subject: 'orders/ap/x', data: {} })));
    expect(t.topic).toBe('orders/ap/x');
    expect({ ...t.headers }).toEqual({ subject: 'orders/ap/x' });
  });

  it('a data field named like an envelope field stays a header (it wins in selectors, [SEL-ATTR]); subject, time and extensions win over data', () => {
    const s = structured({ subject: 'sub', tier: 'gold', data: { type: 'refund', id: 7, topic: 'x', subject: 'data', tier: 'bronze' } });
    expect({ ...s.headers }).toEqual({ type: 'refund', id: 7, topic: 'x', subject: 'sub', tier: 'gold' });
    expect(s.type).toBe('com.acme.order');
  });

  const CT: ReadonlyArray<{ name: string; publish: () => EdgePublish; header: string | undefined }> = [
    { name: 'structured data, no datacontenttype (JSON)', publish: () => structured({ data: { a: 1 } }), header: undefined },
    { name: 'structured data, application/json', publish: () => structured({ datacontenttype: 'application/json', data: { a: 1 } }), header: undefined },
    { name: 'structured string data, no datacontenttype (a JSON string)', publish: () => structured({ data: 'hi' }), header: undefined },
    {
      name: 'structured data, application/json; charset=utf-8 (kept as sent)',
      publish: () => structured({ datacontenttype: 'application/json; charset=utf-8', data: { a: 1 } }),
      header: 'application/json; charset=utf-8',
    },
    { name: 'structured data, application/vnd.acme+json', publish: () => structured({ datacontenttype: 'application/vnd.acme+json', data: { a: 1 } }), header: 'application/vnd.acme+json' },
    { name: 'structured data, text/plain', publish: () => structured({ datacontenttype: 'text/plain', data: 'hello' }), header: 'text/plain' },
    { name: 'data_base64, no datacontenttype', publish: () => structured({ data_base64: 'AAEC' }), header: 'application/octet-stream' },
    { name: 'data_base64, image/png', publish: () => structured({ datacontenttype: 'image/png', data_base64: 'AAEC' }), header: 'image/png' },
    {
      name: 'data_base64 of JSON text, application/json',
      publish: () => structured({ datacontenttype: 'application/json', data_base64: Buffer.from('{"a":1}').toString('base64') }),
      header: undefined,
    },
    { name: 'data_base64 of non-JSON bytes, application/json (a mislabel, kept)', publish: () => structured({ datacontenttype: 'application/json', data_base64: 'AAEC' }), header: 'application/json' },
    { name: 'no data, no datacontenttype', publish: () => structured({}), header: undefined },
    { name: 'no data, application/json (kept: nothing to imply it)', publish: () => structured({ datacontenttype: 'application/json' }), header: 'application/json' },
    { name: 'binary, application/json body', publish: () => binary({ 'content-type': 'application/json' }, '{"a":1}'), header: undefined },
    { name: 'binary, text/plain body', publish: () => binary({ 'content-type': 'text/plain' }, 'hello'), header: 'text/plain' },
    { name: 'binary body without Content-Type', publish: () => binary({}, '42'), header: 'application/octet-stream' },
    { name: 'binary, no body, no Content-Type', publish: () => binary({}, ''), header: undefined },
  ];

  it.each(CT)('datacontenttype header: $name', ({ publish, header }) => {
    expect(publish().headers['datacontenttype']).toBe(header);
  });

  it("a data field named datacontenttype is not a header: delivery reads the header as the payload's type", () => {
    const s = structured({ data: { datacontenttype: 'text/plain', a: 1 } });
    expect({ ...s.headers }).toEqual({ a: 1 });
    expect(delivered(s)).toMatchObject({ datacontenttype: 'application/json', data: { datacontenttype: 'text/plain', a: 1 } });
  });
});

describe('[EDGE-5] delivery restores the JSON content type', () => {
  const base = { specversion: '1.0', id: 'evt-1', source: '/billing/checkout', type: 'com.acme.order', topic: 'orders/eu/created' };
  const ROWS: ReadonlyArray<{ name: string; publish: () => EdgePublish; message: Record<string, unknown> }> = [
    { name: 'implied JSON', publish: () => structured({ data: { a: 1 } }), message: { ...base, datacontenttype: 'application/json', data: { a: 1 } } },
    {
      name: 'explicit application/json',
      publish: () => structured({ datacontenttype: 'application/json', data: [1, 'x'] }),
      message: { ...base, datacontenttype: 'application/json', data: [1, 'x'] },
    },
    { name: 'a JSON string', publish: () => structured({ data: 'hi' }), message: { ...base, datacontenttype: 'application/json', data: 'hi' } },
    { name: 'binary JSON body', publish: () => binary({ 'content-type': 'application/json' }, '{ "a" : 1 }'), message: { ...base, datacontenttype: 'application/json', data: { a: 1 } } },
    { name: 'text/plain', publish: () => structured({ datacontenttype: 'text/plain', data: 'hello' }), message: { ...base, datacontenttype: 'text/plain', data: 'hello' } },
    { name: 'bytes without a type', publish: () => structured({ data_base64: 'AAEC' }), message: { ...base, datacontenttype: 'application/octet-stream', data_base64: 'AAEC' } },
    {
      name: 'a binary body without Content-Type that looks like JSON',
      publish: () => binary({}, '42'),
      message: { ...base, datacontenttype: 'application/octet-stream', data_base64: Buffer.from('42').toString('base64') },
    },
    {
      name: 'mislabelled bytes',
      publish: () => structured({ datacontenttype: 'application/json', data_base64: 'AAEC' }),
      message: { ...base, datacontenttype: 'application/json', data_base64: 'AAEC' },
    },
    { name: 'no data', publish: () => structured({}), message: base },
    { name: 'no data, explicit application/json', publish: () => structured({ datacontenttype: 'application/json' }), message: { ...base, datacontenttype: 'application/json' } },
  ];
  it.each(ROWS)('$name', ({ publish, message }) => {
    expect(delivered(publish())).toEqual(message);
  });

  it('echo the distributed tracing extension (traceparent, tracestate) and no other extension', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const b = binary({ 'content-type': 'application/json', 'ce-traceparent': tp, 'ce-tracestate': 'acme=1', 'ce-tier': 'gold' }, '{"amountCents":1}');
    const m = toStructured(envelopeOf(b), false);
    expect(m['traceparent']).toBe(tp);
    expect(m['tracestate']).toBe('acme=1');
    expect(m['tier']).toBeUndefined();
    expect(toStructured(envelopeOf(structured({ data: {} })), false)).not.toHaveProperty('traceparent');
  });

  it('an envelope without a datacontenttype header (not from this edge): JSON if it parses, else data_base64 without a type', () => {
    const env = (payload: string): Envelope => envelopeOf({ ...ATTRS, headers: {}, payload: enc.encode(payload) });
    expect(toStructured(env('{"n":1}'), false)).toMatchObject({ datacontenttype: 'application/json', data: { n: 1 } });
    const raw = toStructured(env('payload of e1'), false);
    expect(raw['datacontenttype']).toBeUndefined();
    expect(raw['data_base64']).toBe(Buffer.from('payload of e1').toString('base64'));
    expect(deliveredContentType(env('{"n":1}'))).toBe('application/json');
    expect(deliveredContentType(env('payload of e1'))).toBeUndefined();
    expect(deliveredContentType(env(''))).toBeUndefined();
  });
});

describe('[CODEC-SIZE] an HTTP-ingested event costs the WAN what the twin predicts', () => {
  const scenario = parseScenario(readFileSync(new URL('../../scenarios/two-region-basic.yaml', import.meta.url), 'utf8'), 'two-region-basic.yaml');

  it("the data frame of an HTTP publish with the scenario's headers as data fields equals the sim's, byte for byte in length", () => {
    const streams = expandPublishers(scenario, createRng(7));
    let checked = 0;
    for (const s of streams) {
      for (const n of [0, 1, 2]) {
        s.n = n;
        // What sim/mesh.ts onPublish gives handlePublish for this stream's n-th event.
        const sim = { id: `${s.index}-${s.n}`, source: s.source, type: s.spec.type, topic: s.topic(), headers: s.headers() as Headers };
        // The same event over HTTP: the headers are the data's scalar fields, the rest nested.
        const data = { ...sim.headers, order: { customer: 'cust_331902', lines: [{ sku: 'a-1', qty: 2 }], note: 'x'.repeat(300) } };
        for (const explicit of [true, false]) {
          const event = {
            specversion: '1.0',
            id: sim.id,
            source: sim.source,
            type: sim.type,
            topic: sim.topic,
            delivery: s.spec.delivery,
            ...(explicit ? { datacontenttype: 'application/json' } : {}),
            data,
          };
          const http = ok(ingestStructured(JSON.stringify(event)));
          expect({ ...http.headers }).toEqual(sim.headers);
          const frame = (env: Envelope) => encodedLength({ kind: FrameKind.Data, dests: ['eu-1'], envelope: env });
          expect(frame(envelopeOf(http))).toBe(frame(envelopeOf({ ...sim, payload: http.payload })));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
