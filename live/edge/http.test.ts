/**
 * [EDGE-3..6] The HTTP ingest on a real broker: binary, structured and batch publishes answered as
 * seed 002 says and delivered to a WebSocket subscriber once, with the broker's path; a table of
 * hostile requests, each refused with its status and a message naming the problem, publishing
 * nothing, after which the broker still takes a good publish; backpressure and draining as 503
 * with Retry-After.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../engine/types.ts';
import { type Edge, openWs, startEdge, until, type WsClient } from './harness.ts';
import { STRINGIFY_GROWTH_MAX } from './http.ts';

const CE = { 'ce-specversion': '1.0', 'ce-source': '/billing/checkout', 'ce-type': 'com.codesprintpro.order.created' };
const ORDER = { orderId: 'ord_88271a2', customerId: 'cust_331902', amountCents: 4900, currency: 'USD' };

async function post(edge: Edge, headers: Record<string, string>, body: string): Promise<{ status: number; retryAfter: string | null; json: any }> {
  const r = await fetch(`${edge.base}/v1/events/publish`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Left as text: the assertion shows it.
  }
  return { status: r.status, retryAfter: r.headers.get('retry-after'), json };
}

describe('a batch element is at most STRINGIFY_GROWTH_MAX× longer stringified than in the body (the size check it skips)', () => {
  // The tokens that grow: short exponents (1e20 → 21 digits), invalid UTF-8 bytes (→ U+FFFD).
  const number = fc.constantFrom('1e20', '9E20', '1e+20', '1e-6', '-0', '0e0', '1e400', '12', '-1e20');
  const stringBytes = fc.array(fc.constantFrom('a', '\\u0041', '\\ud800', '\\/', '\\n', '\xff', '\xc3', 'é'), { maxLength: 6 }).map((parts) => Buffer.from(`"${parts.join('')}"`, 'latin1'));
  const value: fc.Arbitrary<Buffer> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      number.map((n) => Buffer.from(n)),
      stringBytes,
      tie('arr') as fc.Arbitrary<Buffer>,
    ),
    arr: fc
      .array(tie('v') as fc.Arbitrary<Buffer>, { maxLength: 5 })
      .map((xs) => Buffer.concat([Buffer.from('['), ...xs.flatMap((x, i) => (i === 0 ? [x] : [Buffer.from(','), x])), Buffer.from(']')])),
  })).v;

  it('on generated JSON texts', () => {
    fc.assert(
      fc.property(value, (bytes) => {
        const stringified = Buffer.byteLength(JSON.stringify(JSON.parse(bytes.toString('utf8'))));
        expect(stringified).toBeLessThanOrEqual(5.25 * bytes.length);
      }),
      { numRuns: 2000 },
    );
    expect(STRINGIFY_GROWTH_MAX).toBeGreaterThan(5.25);
    expect(Buffer.byteLength(JSON.stringify(JSON.parse('1e20')))).toBe(21);
  });
});

describe('[EDGE-3] publish modes', () => {
  let edge: Edge;
  let sub: WsClient;
  beforeAll(async () => {
    edge = await startEdge();
    sub = await openWs(edge.base, 'orders/#');
  });
  afterAll(async () => {
    await sub?.close();
    await edge?.close();
  });

  it('binary mode: 202 with the seed body, delivered once as a structured event with routingpath us-1', async () => {
    const before = Date.now();
    const r = await post(edge, { ...CE, 'ce-id': 'evt_uuid_88192ab_99', 'ce-topic': 'orders/ap/checkout', 'content-type': 'application/json' }, JSON.stringify(ORDER, null, 2));
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ eventId: 'evt_uuid_88192ab_99', status: 'ACCEPTED', brokerTimestamp: expect.any(Number) });
    expect(r.json.brokerTimestamp).toBeGreaterThanOrEqual(before - 1);
    expect(r.json.brokerTimestamp).toBeLessThanOrEqual(Date.now() + 1);
    // A second event after it: once that is in, the first has had every chance to come twice.
    await post(edge, { ...CE, 'ce-id': 'marker-1', 'ce-topic': 'orders/ap/checkout', 'content-type': 'application/json' }, '{}');
    expect(await until(() => sub.withId('marker-1').length === 1)).toBe(true);
    const got = sub.withId('evt_uuid_88192ab_99');
    expect(got).toHaveLength(1);
    expect(got[0]).toEqual({
      specversion: '1.0',
      id: 'evt_uuid_88192ab_99',
      source: '/billing/checkout',
      type: 'com.codesprintpro.order.created',
      topic: 'orders/ap/checkout',
      datacontenttype: 'application/json',
      data: ORDER,
      routingpath: 'us-1',
      publishedat: String(r.json.brokerTimestamp),
      delivery: 'realtime',
    });
  });

  it('structured mode: topic from subject, guaranteed delivery, bytes as data_base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const event = {
      specversion: '1.0',
      id: 'evt-s1',
      source: '/s',
      type: 't.bin',
      subject: 'orders/eu/refund',
      delivery: 'guaranteed',
      datacontenttype: 'application/octet-stream',
      data_base64: bytes.toString('base64'),
    };
    const r = await post(edge, { 'content-type': 'application/cloudevents+json; charset=utf-8' }, JSON.stringify(event));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ eventId: 'evt-s1', status: 'ACCEPTED' });
    expect(await until(() => sub.withId('evt-s1').length === 1)).toBe(true);
    const m = sub.withId('evt-s1')[0] as Record<string, unknown>;
    expect(m).toMatchObject({ topic: 'orders/eu/refund', delivery: 'guaranteed', datacontenttype: 'application/octet-stream', routingpath: 'us-1' });
    expect(Buffer.from(m['data_base64'] as string, 'base64')).toEqual(bytes);
    expect(m['data']).toBeUndefined();
  });

  it('binary mode with text data: the string comes back as data', async () => {
    const r = await post(edge, { ...CE, 'ce-id': 'evt-t1', 'ce-topic': 'orders/us/note', 'content-type': 'text/plain; charset=utf-8' }, 'héllo, mesh');
    expect(r.status).toBe(202);
    expect(await until(() => sub.withId('evt-t1').length === 1)).toBe(true);
    expect(sub.withId('evt-t1')[0]).toMatchObject({ datacontenttype: 'text/plain; charset=utf-8', data: 'héllo, mesh' });
  });

  it("[EDGE-4] the envelope's headers hold the data fields, and subject, time and other extensions when sent; nothing the envelope has", async () => {
    const got: Envelope[] = [];
    const probe = edge.port.subscribe('orders/hdr/#', null, { kind: 'probe', deliver: (env, _g, consumed) => (got.push(env), consumed()) });
    try {
      const binary = await post(edge, { ...CE, 'ce-id': 'hdr-1', 'ce-topic': 'orders/hdr/1', 'ce-delivery': 'guaranteed', 'content-type': 'application/json' }, JSON.stringify(ORDER));
      expect(binary.status).toBe(202);
      const event = {
        specversion: '1.0',
        id: 'hdr-2',
        source: '/billing',
        type: 't',
        topic: 'orders/hdr/2',
        subject: 'ord_1',
        time: '2026-02-05T10:12:25.000Z',
        tier: 'gold',
        datacontenttype: 'application/json',
        data: ORDER,
      };
      expect((await post(edge, { 'content-type': 'application/cloudevents+json' }, JSON.stringify(event))).status).toBe(202);
      expect(await until(() => got.length === 2)).toBe(true);
      expect({ ...got[0]?.headers }).toEqual(ORDER);
      expect(got[0]).toMatchObject({ id: 'hdr-1', source: '/billing/checkout', type: 'com.codesprintpro.order.created', topic: 'orders/hdr/1' });
      expect({ ...got[1]?.headers }).toEqual({ ...ORDER, subject: 'ord_1', time: '2026-02-05T10:12:25.000Z', tier: 'gold' });
      // The subscriber still sees the event as sent.
      expect(await until(() => sub.withId('hdr-2').length === 1)).toBe(true);
      expect(sub.withId('hdr-2')[0]).toMatchObject({ id: 'hdr-2', source: '/billing', type: 't', topic: 'orders/hdr/2', datacontenttype: 'application/json', data: ORDER });
    } finally {
      edge.port.unsubscribe(probe);
    }
  });

  it('batch mode: 202 with one answer per event, in order, each delivered once', async () => {
    const events = [0, 1, 2].map((i) => ({ specversion: '1.0', id: `evt-b${i}`, source: '/batch', type: 't', topic: `orders/b/${i}`, data: { i } }));
    const r = await post(edge, { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(events));
    expect(r.status).toBe(202);
    expect(r.json).toEqual(events.map((e) => ({ eventId: e.id, status: 'ACCEPTED', brokerTimestamp: expect.any(Number) })));
    expect(await until(() => sub.withId('evt-b2').length === 1)).toBe(true);
    for (const e of events) expect(sub.withId(e.id)).toEqual([expect.objectContaining({ topic: e.topic, data: e.data, routingpath: 'us-1' })]);
    const order = sub.messages.map((m) => m['id']).filter((id) => String(id).startsWith('evt-b'));
    expect(order).toEqual(['evt-b0', 'evt-b1', 'evt-b2']);
  });
});

describe('[EDGE-6] hostile requests', () => {
  let edge: Edge;
  beforeAll(async () => {
    edge = await startEdge({ maxEventBytes: 4096 });
  });
  afterAll(async () => {
    await edge?.close();
  });

  const binary = (extra: Record<string, string> = {}) => ({ ...CE, 'ce-id': 'h-1', 'ce-topic': 'hostile/x', 'content-type': 'application/json', ...extra });
  const without = (name: string) => {
    const h: Record<string, string> = binary();
    delete h[name];
    return h;
  };
  const structured = { 'content-type': 'application/cloudevents+json' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };
  const good = (id: string) => ({ specversion: '1.0', id, source: '/s', type: 't', topic: 'hostile/x', data: { n: 1 } });

  const table: ReadonlyArray<{ name: string; headers: Record<string, string>; body: string; status: number; error: RegExp }> = [
    { name: 'bad JSON (binary)', headers: binary(), body: '{"a":', status: 400, error: /body is not valid JSON/ },
    { name: 'bad JSON (structured)', headers: structured, body: '{nope', status: 400, error: /body is not valid JSON/ },
    { name: 'structured: not an object', headers: structured, body: '[1,2]', status: 400, error: /must be a JSON object/ },
    { name: 'structured: empty body', headers: structured, body: '', status: 400, error: /empty body/ },
    { name: 'missing ce-id', headers: without('ce-id'), body: '{}', status: 400, error: /missing ce-id header/ },
    { name: 'missing ce-source', headers: without('ce-source'), body: '{}', status: 400, error: /missing ce-source header/ },
    { name: 'missing ce-type', headers: without('ce-type'), body: '{}', status: 400, error: /missing ce-type header/ },
    { name: 'missing ce-specversion', headers: without('ce-specversion'), body: '{}', status: 400, error: /missing ce-specversion header/ },
    { name: 'no content type, no ce-* headers', headers: {}, body: 'hello', status: 400, error: /missing ce-id header/ },
    { name: 'wrong ce-specversion', headers: binary({ 'ce-specversion': '0.3' }), body: '{}', status: 400, error: /unsupported ce-specversion "0\.3"/ },
    { name: 'wrong specversion (structured)', headers: structured, body: JSON.stringify({ ...good('h-2'), specversion: '2.0' }), status: 400, error: /unsupported specversion "2\.0"/ },
    { name: 'empty id (structured)', headers: structured, body: JSON.stringify({ ...good('h-3'), id: '' }), status: 400, error: /id must be a non-empty string/ },
    { name: 'source not a URI-reference', headers: binary({ 'ce-source': 'not a uri' }), body: '{}', status: 400, error: /invalid CloudEvent: source must match format "uri-reference"/ },
    { name: 'bad extension name', headers: binary({ 'ce-bad_name': 'x' }), body: '{}', status: 400, error: /invalid attribute name: "bad_name"/ },
    { name: 'bad ce-time', headers: binary({ 'ce-time': 'yesterday' }), body: '{}', status: 400, error: /ce-time must be an RFC 3339 timestamp/ },
    { name: 'no topic', headers: without('ce-topic'), body: '{}', status: 400, error: /no mesh topic: set the topic extension attribute \(ce-topic header in binary mode\) or subject/ },
    { name: 'invalid topic a/#/b', headers: binary({ 'ce-topic': 'a/#/b' }), body: '{}', status: 400, error: /invalid topic "a\/#\/b": topic must not contain the wildcard '#'/ },
    { name: 'invalid topic a/+', headers: structured, body: JSON.stringify({ ...good('h-4'), topic: 'a/+' }), status: 400, error: /invalid topic "a\/\+"/ },
    { name: 'topic not a string', headers: structured, body: JSON.stringify({ ...good('h-5'), topic: 7 }), status: 400, error: /topic must be a string/ },
    { name: 'bad ce-delivery', headers: binary({ 'ce-delivery': 'sometimes' }), body: '{}', status: 400, error: /delivery must be "guaranteed" or "realtime", got "sometimes"/ },
    {
      name: 'lone surrogate in a data field name',
      headers: structured,
      body: '{"specversion":"1.0","id":"h-6","source":"/s","type":"t","topic":"hostile/x","data":{"\\ud800":1}}',
      status: 400,
      error: /lone UTF-16 surrogate/,
    },
    { name: 'over-size body', headers: binary(), body: JSON.stringify({ pad: 'x'.repeat(5000) }), status: 413, error: /body over 4096 bytes/ },
    { name: 'over-size event in a batch', headers: batch, body: JSON.stringify([good('h-7'), { ...good('h-8'), data: { pad: 'x'.repeat(5000) } }]), status: 413, error: /event 1: over 4096 bytes/ },
    { name: 'unsupported event format', headers: { 'content-type': 'application/cloudevents+xml' }, body: '<event/>', status: 415, error: /unsupported content type "application\/cloudevents\+xml"/ },
    { name: 'form encoding', headers: { ...binary(), 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1', status: 415, error: /unsupported content type/ },
    { name: 'unsupported content encoding', headers: binary({ 'content-encoding': 'x-bogus' }), body: '{}', status: 415, error: /unsupported content encoding "x-bogus"/ },
    { name: 'batch: not an array', headers: batch, body: JSON.stringify(good('h-9')), status: 400, error: /a batch must be a JSON array/ },
    { name: 'batch: bad JSON', headers: batch, body: '[{', status: 400, error: /body is not valid JSON/ },
    { name: 'batch: one bad event', headers: batch, body: JSON.stringify([good('h-10'), { ...good('h-11'), source: undefined }, good('h-12')]), status: 400, error: /^event 1: missing source$/ },
    { name: 'batch: bad delivery in the last event', headers: batch, body: JSON.stringify([good('h-13'), { ...good('h-14'), delivery: 2 }]), status: 400, error: /^event 1: delivery must be/ },
  ];

  it('each is refused with its status and a message naming the problem; nothing is published; then a good publish works', async () => {
    const sub = await openWs(edge.base, 'hostile/#');
    try {
      const published = edge.host.broker.stats.published;
      const wrong: string[] = [];
      for (const row of table) {
        const r = await post(edge, row.headers, row.body);
        const error = typeof r.json === 'object' && r.json !== null ? r.json.error : undefined;
        if (r.status !== row.status || typeof error !== 'string' || !row.error.test(error)) wrong.push(`${row.name}: got ${r.status} ${JSON.stringify(r.json)}`);
        if (typeof error === 'string' && /\n\s+at /.test(error)) wrong.push(`${row.name}: a stack trace in the response`);
      }
      expect(wrong).toEqual([]);
      expect(edge.host.broker.stats.published).toBe(published);

      const ok = await post(edge, binary({ 'ce-id': 'after-all' }), JSON.stringify({ fine: true }));
      expect(ok.status).toBe(202);
      expect(await until(() => sub.withId('after-all').length === 1)).toBe(true);
      // Nothing hostile reached the subscriber.
      expect(sub.messages.map((m) => m['id'])).toEqual(['after-all']);
    } finally {
      await sub.close();
    }
  });
});

describe('[EDGE-6] backpressure and draining', () => {
  let edge: Edge;
  beforeAll(async () => {
    // A one-byte spool and a queue of one: a subscriber that never consumes fills its queue after
    // two guaranteed events, and the third would need spool room the broker does not have.
    edge = await startEdge({ spoolBytes: 1, queueLimit: 1 });
  });
  afterAll(async () => {
    await edge?.close();
  });

  it('a guaranteed publish the spool cannot take is a 503 with Retry-After; realtime still flows; a draining broker is a 503', async () => {
    edge.port.subscribe('bp/#', null, { kind: 'stalled', deliver: () => {} });
    const g = (id: string) => ({ ...CE, 'ce-id': id, 'ce-topic': 'bp/x', 'ce-delivery': 'guaranteed', 'content-type': 'application/json' });
    expect((await post(edge, g('g-1'), '{}')).status).toBe(202); // in the client's hands
    expect((await post(edge, g('g-2'), '{}')).status).toBe(202); // queued
    const refused = await post(edge, g('g-3'), '{}');
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('1');
    expect(refused.json).toEqual({ error: 'broker spool full (backpressure): retry later' });
    expect(edge.host.broker.stats.backpressured).toBe(1);

    // Realtime is never pushed back: newest wins in the queue [SLOW-1].
    expect((await post(edge, { ...g('r-1'), 'ce-delivery': 'realtime' }, '{}')).status).toBe(202);

    // A batch refused at its first event publishes nothing: 503.
    const ev = (id: string, delivery: string) => ({ specversion: '1.0', id, source: '/s', type: 't', topic: 'bp/y', delivery });
    const first = await post(edge, { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([ev('b-1', 'guaranteed'), ev('b-2', 'realtime')]));
    expect(first.status).toBe(503);
    expect(first.retryAfter).toBe('1');
    // Refused later: 202 with what happened to each, and Retry-After.
    const later = await post(edge, { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([ev('b-3', 'realtime'), ev('b-4', 'guaranteed'), ev('b-5', 'realtime')]));
    expect(later.status).toBe(202);
    expect(later.retryAfter).toBe('1');
    expect(later.json).toEqual([
      { eventId: 'b-3', status: 'ACCEPTED', brokerTimestamp: expect.any(Number) },
      { eventId: 'b-4', status: 'BACKPRESSURE' },
      { eventId: 'b-5', status: 'NOT_PUBLISHED' },
    ]);

    edge.port.close();
    const draining = await post(edge, { ...g('d-1'), 'ce-delivery': 'realtime' }, '{}');
    expect(draining.status).toBe(503);
    expect(draining.retryAfter).toBe('1');
    expect(draining.json.error).toMatch(/draining/);
  });
});
