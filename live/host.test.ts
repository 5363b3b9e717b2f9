/**
 * [LIVE-1] The engine on real sockets: two brokers, each behind a LiveHost (the simulator's
 * driver, the wall clock), joined by a mutual-TLS connection on 127.0.0.1. They form an
 * adjacency, learn each other's interest, and an event published on one is delivered on the
 * other with its routing path; closing the connection is a link-down at once, long before the
 * dead interval [LINK-1].
 */
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent, LocalSubscription } from '../engine/broker.ts';
import type { Envelope } from '../engine/types.ts';
import { makeMeshCerts, type MeshCerts } from './certs.ts';
import { LiveHost } from './host.ts';
import { checkPeer, clientOptions, serverOptions, type MeshTls } from './mesh/tls.ts';
import { until } from './testing.ts';

let certs: MeshCerts;
let server: Server | undefined;
const hosts: LiveHost[] = [];

const tlsOf = (name: string): MeshTls => {
  const c = certs.issued.get(name);
  if (c === undefined) throw new Error(name);
  return { ca: certs.ca.cert, cert: c.cert, key: c.key };
};

beforeAll(async () => {
  certs = await makeMeshCerts(['us-1', 'eu-1']);
});

afterAll(async () => {
  for (const h of hosts) h.stop();
  if (server !== undefined) await new Promise<void>((done) => (server as Server).close(() => done()));
});

describe('[LIVE-1] two brokers over mutual TLS on loopback', () => {
  it('form an adjacency, route a publish across, and see a closed connection at once', async () => {
    const config = (id: string, peer: string) => ({ id, neighbors: [{ id: peer, cost: 10 }], helloIntervalMs: 200, deadIntervalMs: 5000, hopLimit: 16 });
    const deliveries: Array<{ sub: LocalSubscription; env: Envelope }> = [];
    const events: BrokerEvent[] = [];
    const us1 = new LiveHost(config('us-1', 'eu-1'), { event: (e) => events.push(e) });
    const eu1 = new LiveHost(config('eu-1', 'us-1'), { deliver: (sub, env) => deliveries.push({ sub, env }), event: (e) => events.push(e) });
    hosts.push(us1, eu1);
    us1.start();
    eu1.start();
    eu1.broker.subscribe(eu1.now(), 'orders/#', 'amountCents > 100', 3, 'eu-subscribers');

    // us-1 listens; eu-1 dials it. Each attaches the connection once it knows who is there.
    server = createServer(serverOptions(tlsOf('us-1')), (socket: TLSSocket) => {
      const check = checkPeer(socket, new Set(['eu-1']));
      if (check.ok) us1.attach(check.peer, socket);
      else socket.destroy();
    });
    await new Promise<void>((done) => (server as Server).listen(0, '127.0.0.1', done));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    const socket = connect({ host: '127.0.0.1', port: addr.port, ...clientOptions(tlsOf('eu-1'), 'us-1') });
    socket.on('error', () => {});
    await new Promise<void>((done) => socket.once('secureConnect', () => done()));
    eu1.attach('us-1', socket);

    // Adjacency both ways, and eu-1's interest known at us-1.
    expect(await until(() => us1.broker.inspect().upNeighbors().includes('eu-1') && eu1.broker.inspect().upNeighbors().includes('us-1'), 5000)).toBe(true);
    expect(await until(() => us1.broker.inspect().remotePatterns > 0, 5000)).toBe(true);

    const publish = (id: string, amountCents: number) =>
      us1.broker.handlePublish(us1.now(), {
        id,
        source: '/billing',
        type: 'com.acme.order.created',
        topic: 'orders/eu/checkout',
        headers: { amountCents },
        payload: new TextEncoder().encode('{}'),
        publishedAtMs: us1.now(),
      });
    expect(publish('evt-1', 4900)).toBe('accepted');
    expect(publish('evt-2', 50)).toBe('accepted'); // the remote selector keeps it home [FWD-2]
    expect(await until(() => deliveries.length >= 1, 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(deliveries.map((d) => d.env.id)).toEqual(['evt-1']);
    expect(deliveries[0]?.env.path).toEqual(['us-1']);
    expect(deliveries[0]?.sub.tag).toBe('eu-subscribers');
    expect(us1.broker.inspect().stats.filteredAtEdge).toBe(1);

    // A closed connection: both ends see the neighbor go at once, not after the 5 s dead interval.
    const closedAt = Date.now();
    socket.destroy();
    expect(await until(() => events.filter((e) => e.type === 'neighbor-down').length >= 2, 2000)).toBe(true);
    expect(Date.now() - closedAt).toBeLessThan(2000);
    expect(us1.connected()).toEqual([]);
    expect(eu1.connected()).toEqual([]);
  }, 30_000);
});
