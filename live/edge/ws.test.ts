/**
 * [EDGE-7..9] WebSocket subscribe on a real broker: patterns with `+`, `#` and `$share/GROUP/`,
 * a selector keeping a non-matching event away, bad patterns and filters refused with a 400
 * before any WebSocket opens, unknown upgrade paths, and a client that stops reading: its backlog
 * stays in the broker's bounded queue (realtime events dropped as slow-consumer drops, counted)
 * while a healthy subscriber gets every event and the server's socket buffers stay small.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type Edge, openWs, refusedWs, startEdge, until, type WsClient } from './harness.ts';

const CE = { 'ce-specversion': '1.0', 'ce-source': '/test', 'ce-type': 't' };

async function publish(edge: Edge, id: string, topic: string, data: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${edge.base}/v1/events/publish`, {
    method: 'POST',
    headers: { ...CE, 'ce-id': id, 'ce-topic': topic, 'content-type': 'application/json' },
    body: JSON.stringify(data),
    signal: AbortSignal.timeout(5000),
  });
  expect(r.status).toBe(202);
}

describe('[EDGE-7] subscriptions', () => {
  let edge: Edge;
  const clients: WsClient[] = [];
  const open = async (pattern: string, filter?: string) => {
    const c = await openWs(edge.base, pattern, filter);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    edge = await startEdge();
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await edge?.close();
  });

  it('+ and # patterns match as MQTT says; a selector keeps a non-matching event away', async () => {
    const plus = await open('orders/+/checkout');
    const hash = await open('orders/#');
    const filtered = await open('orders/#', "amountCents > 100 AND region = 'ap'");
    await publish(edge, 'p-1', 'orders/ap/checkout', { amountCents: 4900, region: 'ap' });
    await publish(edge, 'p-2', 'orders/eu/refund', { amountCents: 4900, region: 'eu' });
    await publish(edge, 'p-3', 'orders/ap/checkout', { amountCents: 50, region: 'ap' });
    await publish(edge, 'p-4', 'orders', { amountCents: 500, region: 'ap' });
    await publish(edge, 'p-5', 'billing/ap/checkout', { amountCents: 500, region: 'ap' });
    // p-4 is the last event each of them takes: after it, the others have had their chance.
    expect(await until(() => hash.withId('p-4').length === 1 && filtered.withId('p-4').length === 1)).toBe(true);
    expect(await until(() => plus.withId('p-3').length === 1)).toBe(true);
    expect(plus.messages.map((m) => m['id'])).toEqual(['p-1', 'p-3']);
    expect(hash.messages.map((m) => m['id'])).toEqual(['p-1', 'p-2', 'p-3', 'p-4']);
    expect(filtered.messages.map((m) => m['id'])).toEqual(['p-1', 'p-4']);
  });

  it('[EDGE-4] selectors see attributes, extensions and JSON data fields; a data field wins over an envelope attribute, an extension over a data field', async () => {
    const sel = await open('sel/#', "source = '/test' AND tier = 'gold' AND amountCents >= 100");
    const post = (id: string, extra: Record<string, string>, data: Record<string, unknown>) =>
      fetch(`${edge.base}/v1/events/publish`, {
        method: 'POST',
        headers: { ...CE, 'ce-id': id, 'ce-topic': 'sel/x', 'content-type': 'application/json', ...extra },
        body: JSON.stringify(data),
        signal: AbortSignal.timeout(5000),
      }).then((r) => expect(r.status).toBe(202));
    await post('q-1', { 'ce-tier': 'gold' }, { amountCents: 100 });
    await post('q-2', { 'ce-tier': 'silver' }, { amountCents: 100 });
    // The data says source '/test', the envelope says '/other': the header (data field) wins [SEL-ATTR].
    await post('q-3', { 'ce-tier': 'gold', 'ce-source': '/other' }, { amountCents: 100, source: '/test' });
    // Binary-mode header values are strings: ce-amountcents is "500", not a number.
    await post('q-4', { 'ce-tier': 'gold', 'ce-amountcents': '500' }, {});
    // The data says tier 'bronze', the extension says 'gold': the extension wins, so it matches.
    await post('q-5', { 'ce-tier': 'gold' }, { amountCents: 7000, tier: 'bronze' });
    // No source in the data: the envelope's '/other' is what `source` reads.
    await post('q-6', { 'ce-tier': 'gold', 'ce-source': '/other' }, { amountCents: 100 });
    await post('q-7', { 'ce-tier': 'gold' }, { amountCents: 101 });
    expect(await until(() => sel.withId('q-7').length === 1)).toBe(true);
    expect(sel.messages.map((m) => m['id'])).toEqual(['q-1', 'q-3', 'q-5', 'q-7']);
  });

  it('[SEL-ATTR] selectors on type and source match an HTTP publish, though neither is a header', async () => {
    const typed = await open('attr/#', "type = 'com.acme.order'");
    const billing = await open('attr/#', "source LIKE '/billing%' AND amountCents > 100");
    const post = (id: string, source: string, type: string, amountCents: number) =>
      fetch(`${edge.base}/v1/events/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id, source, type, topic: 'attr/x', data: { amountCents } }),
        signal: AbortSignal.timeout(5000),
      }).then((r) => expect(r.status).toBe(202));
    await post('a-1', '/billing/checkout', 'com.acme.order', 500);
    await post('a-2', '/shipping', 'com.acme.order', 500);
    await post('a-3', '/billing/refunds', 'com.acme.refund', 50);
    await post('a-4', '/billing/refunds', 'com.acme.refund', 5000);
    const probed: Array<Readonly<Record<string, unknown>>> = [];
    const probe = edge.port.subscribe('attr/#', null, { kind: 'probe', deliver: (env, _g, consumed) => (probed.push(env.headers), consumed()) });
    await post('a-5', '/billing/checkout', 'com.acme.order', 101);
    expect(await until(() => typed.withId('a-5').length === 1 && billing.withId('a-5').length === 1 && probed.length === 1)).toBe(true);
    edge.port.unsubscribe(probe);
    expect(typed.messages.map((m) => m['id'])).toEqual(['a-1', 'a-2', 'a-5']);
    expect(billing.messages.map((m) => m['id'])).toEqual(['a-1', 'a-4', 'a-5']);
    // What they matched on is the envelope's: the headers are the data's.
    expect({ ...probed[0] }).toEqual({ amountCents: 101 });
    expect(typed.withId('a-5')[0]).toMatchObject({ type: 'com.acme.order', source: '/billing/checkout', datacontenttype: 'application/json', data: { amountCents: 101 } });
  });

  it('$share/GROUP/ members split the events between them, each event to one member', async () => {
    const a = await open('$share/workers/jobs/#');
    const b = await open('$share/workers/jobs/#');
    const ids = Array.from({ length: 20 }, (_, i) => `j-${i}`);
    for (const id of ids) await publish(edge, id, 'jobs/x', { n: 1 });
    expect(await until(() => a.messages.length + b.messages.length === ids.length)).toBe(true);
    const got = [...a.messages, ...b.messages].map((m) => m['id']).sort();
    expect(got).toEqual([...ids].sort());
    expect(a.messages.length).toBeGreaterThan(0);
    expect(b.messages.length).toBeGreaterThan(0);
  });

  it('a bad pattern, a bad filter or no pattern is refused with a 400 naming why; no subscription is left', async () => {
    const before = edge.subscribe.connections;
    const badPattern = await refusedWs(edge.base, new URLSearchParams({ pattern: 'a/#/b' }).toString());
    expect(badPattern.status).toBe(400);
    expect(badPattern.body).toMatch(/invalid pattern "a\/#\/b": '#' must be the last level/);
    const badPlus = await refusedWs(edge.base, new URLSearchParams({ pattern: 'a/b+' }).toString());
    expect(badPlus.status).toBe(400);
    expect(badPlus.body).toMatch(/'\+' must occupy a whole level/);
    const badShare = await refusedWs(edge.base, new URLSearchParams({ pattern: '$share//a' }).toString());
    expect(badShare.status).toBe(400);
    expect(badShare.body).toMatch(/share/i);
    const badFilter = await refusedWs(edge.base, new URLSearchParams({ pattern: 'a/#', filter: 'amountCents >' }).toString());
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.length).toBeGreaterThan(5);
    const none = await refusedWs(edge.base, '');
    expect(none.status).toBe(400);
    expect(none.body).toMatch(/missing pattern/);
    expect(edge.subscribe.connections).toBe(before);
    // The refused filter left no population behind: an event on a/x reaches nobody.
    const deliveries = edge.host.broker.stats.deliveries;
    await publish(edge, 'nobody', 'a/x', { amountCents: 1 });
    expect(edge.host.broker.stats.deliveries).toBe(deliveries);
  });

  it('an unknown path is a 404 while this is the only upgrade listener, and left to another listener when there is one', async () => {
    const unknown = await refusedWs(edge.base, '', '/nope');
    expect(unknown.status).toBe(404);
    const mqtt = new WebSocketServer({ noServer: true });
    const other = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
      if (req.url === '/mqtt') mqtt.handleUpgrade(req, socket, head, (ws) => ws.send('mqtt here'));
    };
    edge.server.on('upgrade', other);
    try {
      const ws = new WebSocket(`${edge.base.replace('http:', 'ws:')}/mqtt`);
      ws.on('error', () => {});
      const [msg] = (await Promise.race([once(ws, 'message'), new Promise((_, reject) => setTimeout(() => reject(new Error('no message from /mqtt')), 3000))])) as [Buffer];
      expect(msg.toString()).toBe('mqtt here');
      ws.terminate();
    } finally {
      edge.server.off('upgrade', other);
      for (const c of mqtt.clients) c.terminate();
      mqtt.close();
    }
  });

  it('closing the socket unsubscribes', async () => {
    const c = await openWs(edge.base, 'gone/#');
    expect(await until(() => edge.subscribe.connections >= 1)).toBe(true);
    const before = edge.subscribe.connections;
    await c.close();
    expect(await until(() => edge.subscribe.connections === before - 1)).toBe(true);
    const deliveries = edge.host.broker.stats.deliveries;
    await publish(edge, 'to-nobody', 'gone/x', {});
    expect(edge.host.broker.stats.deliveries).toBe(deliveries);
  });
});

describe('[EDGE-9] a client that stops reading', () => {
  let edge: Edge;
  let raw: Socket | undefined;
  let healthy: WsClient | undefined;
  beforeAll(async () => {
    edge = await startEdge({ queueLimit: 8 });
  });
  afterAll(async () => {
    raw?.destroy();
    await healthy?.close();
    await edge?.close();
  });

  it('its realtime backlog is dropped at the broker (counted) while a healthy subscriber gets every event; server buffers stay bounded', async () => {
    healthy = await openWs(edge.base, 'slow/#');
    // A raw TCP client: the WebSocket handshake, then it never reads again.
    const addr = new URL(edge.base);
    raw = connect(Number(addr.port), '127.0.0.1');
    await once(raw, 'connect');
    raw.on('error', () => {});
    let handshake = '';
    const upgraded = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        handshake += chunk.toString('latin1');
        if (handshake.includes('\r\n\r\n')) {
          (raw as Socket).off('data', onData);
          (raw as Socket).pause();
          resolve();
        }
      };
      (raw as Socket).on('data', onData);
    });
    raw.write(
      `GET /v1/subscribe?pattern=slow%2F%23 HTTP/1.1\r\nHost: ${addr.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await Promise.race([upgraded, new Promise((_, reject) => setTimeout(() => reject(new Error('no handshake')), 3000))]);
    expect(handshake.startsWith('HTTP/1.1 101')).toBe(true);
    expect(edge.subscribe.connections).toBe(2);

    // 32 KiB events, published one at a time through the port, each awaited at the healthy client
    // (so it is never the slow one), until the paused client's kernel buffers are full and the
    // broker has dropped a good many of its events; bounded in count and time.
    const payload = new Uint8Array(32 * 1024).fill(0x61);
    const eventBytesMax = 64 * 1024; // one event as a WebSocket frame (base64), with room to spare
    let bufferedBytesPeak = 0;
    let n = 0;
    const deadline = Date.now() + 30_000;
    while (n < 3000 && Date.now() < deadline && edge.host.broker.stats.droppedSlowConsumer < 100) {
      const id = `s-${n}`;
      const r = await edge.port.publish({ id, source: '/slow', type: 't', topic: 'slow/x', headers: {}, payload, guaranteed: false });
      expect(r.status).toBe('accepted');
      n++;
      expect(await until(() => (healthy as WsClient).messages.length === n, 5000)).toBe(true);
      bufferedBytesPeak = Math.max(bufferedBytesPeak, edge.subscribe.bufferedBytes);
    }
    expect(edge.host.broker.stats.droppedSlowConsumer).toBeGreaterThanOrEqual(100);
    expect(edge.host.drops.slowConsumer).toBe(edge.host.broker.stats.droppedSlowConsumer);
    // The healthy subscriber got every event, once, in order.
    expect(healthy.messages.map((m) => m['id'])).toEqual(Array.from({ length: n }, (_, i) => `s-${i}`));
    // At most one event waits in each server-side WebSocket's buffer (two subscribers).
    expect(bufferedBytesPeak).toBeLessThanOrEqual(2 * eventBytesMax);

    // When the slow client goes, its subscription goes with it.
    raw.destroy();
    expect(await until(() => edge.subscribe.connections === 1)).toBe(true);
  });
});
