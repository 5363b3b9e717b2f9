/**
 * [GRPC-1..8] The gRPC edge on real sockets: a LiveHost broker (no neighbors, so it delivers its
 * own publishes), its HostPort, the edge on 127.0.0.1:0, and real grpc-js clients that load the
 * same .proto. Events are published through the port; what reaches each client is compared
 * with what the contract says should.
 */
import { type ClientDuplexStream, credentials, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { makeMeshCerts } from '../certs.ts';
import { ingestStructured } from './cloudevent.ts';
import { LiveHost } from '../host.ts';
import { type GrpcEdge, type GrpcEdgeOptions, loadSubscriptionService, startGrpcEdge, type WireEventEnvelope, type WireSubscriptionRequest } from './grpc.ts';
import { type EdgePublish, HostPort } from './port.ts';
import { until } from '../testing.ts';

const Service = loadSubscriptionService();
const cleanups: Array<() => unknown> = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Broker {
  readonly host: LiveHost;
  readonly port: HostPort;
  readonly edge: GrpcEdge;
  /** Local subscriptions at the broker now. */
  locals(): number;
}

/** A broker 'eu-1' with its edge on 127.0.0.1:0; stopped in afterAll. */
async function boot(queueLimit?: number, opts?: GrpcEdgeOptions): Promise<Broker> {
  let port: HostPort | undefined;
  const host = new LiveHost({ id: 'eu-1', neighbors: [], helloIntervalMs: 500, deadIntervalMs: 2000, hopLimit: 16 }, { deliver: (sub, env, g) => port?.deliver(sub, env, g) });
  port = new HostPort(host, null, queueLimit);
  host.start();
  cleanups.push(() => host.stop());
  const edge = await startGrpcEdge(port, '127.0.0.1:0', opts);
  cleanups.push(() => edge.close());
  return { host, port, edge, locals: () => host.broker.inspect().interestImage().locals.length };
}

interface Client {
  readonly call: ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
  readonly got: WireEventEnvelope[];
  /** The status the stream ended with, once it has. */
  ended: { code: number; details: string } | undefined;
  send(action: 'SUBSCRIBE' | 'UNSUBSCRIBE', topic_pattern: string, filter_expression?: string): void;
}

/** A real grpc-js client stream to `edge`; closed in afterAll. */
function connect(edge: GrpcEdge, clientId: string): Client {
  const client = new Service(`127.0.0.1:${edge.port}`, credentials.createInsecure()) as any;
  cleanups.push(() => client.close());
  const call = client.Subscribe() as ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
  const c: Client = {
    call,
    got: [],
    ended: undefined,
    send: (action, topic_pattern, filter_expression = '') => call.write({ client_id: clientId, action, topic_pattern, filter_expression }),
  };
  call.on('data', (e: WireEventEnvelope) => c.got.push(e));
  call.on('error', (e: ServiceError) => (c.ended ??= { code: e.code, details: e.details }));
  call.on('status', (s: { code: number; details: string }) => (c.ended ??= { code: s.code, details: s.details }));
  cleanups.push(() => call.cancel());
  return c;
}

const enc = new TextEncoder();

async function publish(b: Broker, id: string, topic: string, headers: EdgePublish['headers'], extra: Partial<EdgePublish> = {}): Promise<void> {
  const r = await b.port.publish({ id, source: 'test/orders', type: 'com.acme.order', topic, headers, payload: enc.encode(`payload of ${id}`), guaranteed: false, ...extra });
  expect(r.status).toBe('accepted');
}

const ids = (c: Client): string[] => c.got.map((e) => e.event_id);
/** Waits until the edge shows `n` subscriptions over all its streams. */
const subscriptions = (b: Broker, n: number): Promise<boolean> => until(() => b.edge.streams().reduce((k, s) => k + s.subscriptions.length, 0) === n && b.locals() === n);

describe('[GRPC-2][GRPC-5] subscribe and deliver', () => {
  it('delivers exactly the events that match pattern and filter, with headers, payload, path and time', async () => {
    const b = await boot();
    const c = connect(b.edge, 'checkout-svc');
    c.send('SUBSCRIBE', 'orders/+/checkout', 'amountCents > 10000');
    expect(await subscriptions(b, 1)).toBe(true);
    expect(b.edge.streams()).toEqual([{ clientId: 'checkout-svc', peer: expect.any(String), subscriptions: [{ pattern: 'orders/+/checkout', filter: 'amountCents > 10000' }] }]);

    await publish(b, 'e1', 'orders/42/checkout', { amountCents: 12500, region: 'eu', vip: true, ratio: 0.5 }, { publishedAtMs: 1770289945123.7 });
    await publish(b, 'e2', 'orders/43/checkout', { amountCents: 500 });
    await publish(b, 'e3', 'orders/44/billing', { amountCents: 99999 });
    await publish(b, 'e4', 'orders/45/checkout', { amountCents: 20000 }, { guaranteed: true, payload: new Uint8Array([0, 255, 1, 254]) });
    await publish(b, 'e5', 'orders/46/checkout', { region: 'eu' }); // no amountCents: the filter is unknown, not true
    await publish(b, 'e6', 'orders/47/checkout/extra', { amountCents: 20000 });
    // One stream keeps order, so once e4 is here anything matching before it would be too.
    expect(await until(() => ids(c).includes('e4'))).toBe(true);
    await publish(b, 'e7', 'orders/48/checkout', { amountCents: 10001 });
    expect(await until(() => ids(c).includes('e7'))).toBe(true);
    expect(ids(c)).toEqual(['e1', 'e4', 'e7']);

    const [e1, e4] = c.got as [WireEventEnvelope, WireEventEnvelope];
    expect(e1.topic).toBe('orders/42/checkout');
    expect(e1.headers).toEqual({ amountCents: '12500', region: 'eu', vip: 'true', ratio: '0.5' });
    expect(Buffer.from(e1.payload_bytes).toString()).toBe('payload of e1');
    expect(e1.routing_path).toEqual(['eu-1']);
    expect(e1.publish_timestamp_ms).toBe(1770289945123);
    expect(e1).toMatchObject({ type: 'com.acme.order', source: 'test/orders', guaranteed: false });
    expect([...e4.payload_bytes]).toEqual([0, 255, 1, 254]);
    expect(e4.guaranteed).toBe(true);
    // No publishedAtMs given: the broker stamped its own epoch time.
    expect(Math.abs(e4.publish_timestamp_ms - Date.now())).toBeLessThan(60_000);
    expect(b.edge.counters.delivered).toBe(3);
  });

  it('[GRPC-5][EDGE-5] a CloudEvent from the HTTP edge: headers are its data fields and extensions, with datacontenttype restored for JSON', async () => {
    const b = await boot();
    const c = connect(b.edge, 'ce-svc');
    c.send('SUBSCRIBE', 'ce/#', "type = 'com.acme.order' AND source LIKE '/billing%'");
    expect(await subscriptions(b, 1)).toBe(true);
    const ingest = async (event: Record<string, unknown>): Promise<void> => {
      const r = ingestStructured(JSON.stringify({ specversion: '1.0', source: '/billing/checkout', type: 'com.acme.order', topic: 'ce/x', ...event }));
      if (!r.ok) throw new Error(r.error);
      expect((await b.port.publish(r.publish)).status).toBe('accepted');
    };
    await ingest({ id: 'c1', tier: 'gold', data: { amountCents: 12500, vip: true } });
    await ingest({ id: 'c2', datacontenttype: 'text/plain', data: 'hello' });
    await ingest({ id: 'c3', data_base64: 'AAEC' });
    await ingest({ id: 'c4', type: 'com.acme.refund', data: {} });
    await ingest({ id: 'c5', data: {} });
    expect(await until(() => ids(c).includes('c5'))).toBe(true);
    expect(ids(c)).toEqual(['c1', 'c2', 'c3', 'c5']);
    const [c1, c2, c3] = c.got as [WireEventEnvelope, WireEventEnvelope, WireEventEnvelope];
    expect(c1.headers).toEqual({ amountCents: '12500', vip: 'true', tier: 'gold', datacontenttype: 'application/json' });
    expect(c1).toMatchObject({ event_id: 'c1', type: 'com.acme.order', source: '/billing/checkout', topic: 'ce/x', guaranteed: false });
    expect(JSON.parse(Buffer.from(c1.payload_bytes).toString())).toEqual({ amountCents: 12500, vip: true });
    expect(c2.headers).toEqual({ datacontenttype: 'text/plain' });
    expect(c3.headers).toEqual({ datacontenttype: 'application/octet-stream' });
  });

  it('UNSUBSCRIBE stops deliveries; another SUBSCRIBE on the same stream works; a repeated SUBSCRIBE is one subscription', async () => {
    const b = await boot();
    const c = connect(b.edge, 'c2');
    c.send('SUBSCRIBE', 'a/b');
    expect(await subscriptions(b, 1)).toBe(true);
    await publish(b, 'x1', 'a/b', {});
    expect(await until(() => ids(c).includes('x1'))).toBe(true);

    c.send('UNSUBSCRIBE', 'a/b');
    expect(await subscriptions(b, 0)).toBe(true);
    c.send('SUBSCRIBE', 'c/#');
    c.send('SUBSCRIBE', 'c/#');
    expect(await until(() => b.edge.counters.subscribes === 2)).toBe(true);
    expect(await subscriptions(b, 1)).toBe(true);
    await publish(b, 'x2', 'a/b', {});
    await publish(b, 'x3', 'c/d', {});
    expect(await until(() => ids(c).includes('x3'))).toBe(true);
    await publish(b, 'x4', 'c', {});
    expect(await until(() => ids(c).includes('x4'))).toBe(true);
    expect(ids(c)).toEqual(['x1', 'x3', 'x4']);
    expect(c.ended).toBeUndefined();
  });

  it('UNSUBSCRIBE with a filter removes only that one; without, every subscription of the pattern', async () => {
    const b = await boot();
    const c = connect(b.edge, 'c3');
    c.send('SUBSCRIBE', 'p/#', 'n > 1');
    c.send('SUBSCRIBE', 'p/#', 'n > 2');
    c.send('SUBSCRIBE', 'q');
    expect(await subscriptions(b, 3)).toBe(true);
    c.send('UNSUBSCRIBE', 'p/#', 'n > 1');
    expect(await subscriptions(b, 2)).toBe(true);
    expect(b.edge.streams()[0]?.subscriptions).toEqual([
      { pattern: 'p/#', filter: 'n > 2' },
      { pattern: 'q', filter: null },
    ]);
    c.send('SUBSCRIBE', 'p/#', 'n > 1');
    expect(await subscriptions(b, 3)).toBe(true);
    c.send('UNSUBSCRIBE', 'p/#');
    expect(await subscriptions(b, 1)).toBe(true);
    c.send('UNSUBSCRIBE', 'not/held'); // a no-op
    await publish(b, 'q1', 'q', {});
    expect(await until(() => ids(c).includes('q1'))).toBe(true);
    expect(c.ended).toBeUndefined();
  });
});

describe('[GRPC-3] bad requests', () => {
  for (const [what, pattern, filter, words] of [
    ['pattern', 'a/#/b', '', `invalid pattern "a/#/b": '#' must be the last level`],
    ['filter', 'orders/#', 'amount >', 'invalid filter "amount >": expected an expression at 8, found end of input'],
    ['shared pattern', '$share//x', '', 'invalid pattern "$share//x": the group is empty'],
    ['empty pattern', '', '', 'invalid pattern "": pattern must not be empty'],
  ] as const) {
    it(`a bad ${what} ends the stream with INVALID_ARGUMENT and the broker's message; the server serves on`, async () => {
      const b = await boot();
      const c = connect(b.edge, 'bad');
      c.send('SUBSCRIBE', 'ok/x');
      expect(await subscriptions(b, 1)).toBe(true);
      c.send('SUBSCRIBE', pattern, filter);
      expect(await until(() => c.ended !== undefined)).toBe(true);
      expect(c.ended).toEqual({ code: status.INVALID_ARGUMENT, details: words });
      // The stream's good subscription went with it.
      expect(await subscriptions(b, 0)).toBe(true);
      expect(b.edge.counters.rejected).toBe(1);

      const d = connect(b.edge, 'good');
      d.send('SUBSCRIBE', 'ok/x');
      expect(await subscriptions(b, 1)).toBe(true);
      await publish(b, 'ok1', 'ok/x', {});
      expect(await until(() => ids(d).includes('ok1'))).toBe(true);
      expect(ids(c)).toEqual([]);
    });
  }

  it('an UNSUBSCRIBE without a pattern and an unknown action are refused the same way', async () => {
    const b = await boot();
    const c = connect(b.edge, 'c');
    c.send('UNSUBSCRIBE', '');
    expect(await until(() => c.ended !== undefined)).toBe(true);
    expect(c.ended).toEqual({ code: status.INVALID_ARGUMENT, details: 'UNSUBSCRIBE needs a topic_pattern' });
    const d = connect(b.edge, 'd');
    d.call.write({ client_id: 'd', action: 7 as never, topic_pattern: 'x', filter_expression: '' });
    expect(await until(() => d.ended !== undefined)).toBe(true);
    expect(d.ended?.code).toBe(status.INVALID_ARGUMENT);
    expect(d.ended?.details).toMatch(/unknown action 7/);
  });
});

describe('[GRPC-4] the end of a stream', () => {
  it('a client cancel removes its subscriptions from the broker', async () => {
    const b = await boot();
    const c = connect(b.edge, 'leaver');
    c.send('SUBSCRIBE', 'orders/#');
    c.send('SUBSCRIBE', 'audit/+');
    expect(await subscriptions(b, 2)).toBe(true);
    await publish(b, 'o1', 'orders/1', {});
    expect(await until(() => ids(c).includes('o1'))).toBe(true);
    const before = b.host.broker.stats.deliveries;

    c.call.cancel();
    expect(await until(() => b.locals() === 0)).toBe(true);
    expect(b.edge.streams()).toEqual([]);
    expect(b.host.broker.inspect().localPatterns).toBe(0);
    await publish(b, 'o2', 'orders/2', {});
    await publish(b, 'a2', 'audit/x', {});
    expect(b.host.broker.stats.deliveries).toBe(before);
  });

  it('a client half-close ends the stream with OK and removes its subscriptions', async () => {
    const b = await boot();
    const c = connect(b.edge, 'done');
    c.send('SUBSCRIBE', 'orders/#');
    expect(await subscriptions(b, 1)).toBe(true);
    c.call.end();
    expect(await until(() => c.ended !== undefined)).toBe(true);
    expect(c.ended?.code).toBe(status.OK);
    expect(b.locals()).toBe(0);
  });

  it('[GRPC-8] close() ends open streams with UNAVAILABLE and removes their subscriptions', async () => {
    const b = await boot();
    const c = connect(b.edge, 'stayer');
    c.send('SUBSCRIBE', 'orders/#');
    expect(await subscriptions(b, 1)).toBe(true);
    const t0 = Date.now();
    await b.edge.close();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(b.locals()).toBe(0);
    expect(await until(() => c.ended !== undefined)).toBe(true);
    expect(c.ended).toEqual({ code: status.UNAVAILABLE, details: 'broker shutting down' });
  });
});

describe('[GRPC-2][SHARE-1] a consumer group across streams', () => {
  it('two streams on $share/g/jobs/# split the events between them, each once', async () => {
    const b = await boot();
    const c1 = connect(b.edge, 'worker-1');
    const c2 = connect(b.edge, 'worker-2');
    c1.send('SUBSCRIBE', '$share/g/jobs/#');
    c2.send('SUBSCRIBE', '$share/g/jobs/#');
    expect(await subscriptions(b, 2)).toBe(true);
    expect(b.edge.streams().map((s) => s.subscriptions)).toEqual([[{ pattern: '$share/g/jobs/#', filter: null }], [{ pattern: '$share/g/jobs/#', filter: null }]]);
    const n = 20;
    for (let i = 0; i < n; i++) await publish(b, `j${i}`, `jobs/${i}`, {});
    expect(await until(() => c1.got.length + c2.got.length === n)).toBe(true);
    expect(c1.got.length).toBeGreaterThan(0);
    expect(c2.got.length).toBeGreaterThan(0);
    expect(new Set([...ids(c1), ...ids(c2)]).size).toBe(n);
    c1.send('UNSUBSCRIBE', '$share/g/jobs/#');
    expect(await subscriptions(b, 1)).toBe(true);
    await publish(b, 'solo', 'jobs/x', {});
    expect(await until(() => ids(c2).includes('solo'))).toBe(true);
  });
});

describe('[GRPC-6][GRPC-7] flow control and size', () => {
  it("a client that does not read leaves its backlog in the broker's paced queue (newest wins), not in grpc's buffers", async () => {
    const queueLimit = 4;
    const b = await boot(queueLimit);
    const c = connect(b.edge, 'slow');
    c.send('SUBSCRIBE', 'big/#');
    expect(await subscriptions(b, 1)).toBe(true);
    c.call.pause();
    const n = 120;
    const payload = new Uint8Array(256 * 1024).fill(7);
    // Publish with pauses so flushed writes could be consumed, were the client reading.
    for (let i = 0; i < n; i++) {
      await publish(b, `b${i}`, 'big/x', {}, { payload });
      await new Promise((r) => setTimeout(r, 2));
    }
    const dropped = b.host.broker.stats.droppedSlowConsumer;
    // The HTTP/2 window and socket buffers took a few (16 here), the broker's queue its limit; the rest was dropped.
    expect(dropped).toBeGreaterThan(0);
    expect(b.edge.counters.delivered).toBeLessThan(n / 2);
    c.call.resume();
    expect(await until(() => c.got.length === n - dropped, 10_000)).toBe(true);
    expect(b.host.broker.stats.droppedSlowConsumer).toBe(dropped);
    expect(ids(c).at(-1)).toBe(`b${n - 1}`);
    expect(c.got.every((e) => e.payload_bytes.length === payload.length)).toBe(true);
  });

  it('an event larger than maxSendMessageBytes ends the stream with RESOURCE_EXHAUSTED and removes its subscriptions', async () => {
    const b = await boot(undefined, { maxSendMessageBytes: 64 * 1024 });
    const c = connect(b.edge, 'small');
    c.send('SUBSCRIBE', 'f/#');
    expect(await subscriptions(b, 1)).toBe(true);
    await publish(b, 'fits', 'f/1', {}, { payload: new Uint8Array(1000) });
    await publish(b, 'huge', 'f/2', {}, { payload: new Uint8Array(100 * 1024) });
    expect(await until(() => c.ended !== undefined)).toBe(true);
    expect(c.ended?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ids(c)).toEqual(['fits']);
    expect(await subscriptions(b, 0)).toBe(true);
  });
});

describe('[GRPC-1] TLS', () => {
  it('serves the same stream over TLS with a certificate from the mesh CA', async () => {
    const certs = await makeMeshCerts(['eu-1', 'client-1']);
    const own = certs.issued.get('eu-1')!;
    const b = await boot(undefined, { tls: { cert: own.cert, key: own.key } });
    const ca = Buffer.from(certs.ca.cert);
    const client = new Service(`127.0.0.1:${b.edge.port}`, credentials.createSsl(ca), { 'grpc.ssl_target_name_override': 'eu-1' }) as any;
    cleanups.push(() => client.close());
    const call = client.Subscribe() as ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
    cleanups.push(() => call.cancel());
    const got: WireEventEnvelope[] = [];
    call.on('data', (e: WireEventEnvelope) => got.push(e));
    call.on('error', () => {});
    call.write({ client_id: 'tls', action: 'SUBSCRIBE', topic_pattern: 's/#', filter_expression: '' });
    expect(await subscriptions(b, 1)).toBe(true);
    await publish(b, 't1', 's/1', {});
    expect(await until(() => got.length === 1)).toBe(true);
    expect(got[0]?.event_id).toBe('t1');

    // A plaintext client gets nowhere.
    const plain = connect(b.edge, 'plain');
    plain.send('SUBSCRIBE', 's/#');
    expect(await until(() => plain.ended !== undefined)).toBe(true);
    expect(plain.ended?.code).toBe(status.UNAVAILABLE);
    expect(b.locals()).toBe(1);
  });
});
