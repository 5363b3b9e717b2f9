/**
 * [LINK-4..7] The mesh link layer in one process, on real TLS sockets on loopback: two brokers
 * that dial each other at the same moment end with one connection, the same one at both ends
 * (dialed by the smaller id); a peer that restarts (a new boot nonce) replaces its old
 * connection; a peer that is down is dialed again with backoff until it is up.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../engine/broker.ts';
import { makeMeshCerts, type MeshCerts } from '../certs.ts';
import type { LivePeer } from '../config.ts';
import { LiveHost } from '../host.ts';
import { freePorts, until } from '../testing.ts';
import { MeshLinks, type MeshLog } from './links.ts';
import type { MeshTls } from './tls.ts';

let certs: MeshCerts;
const started: Array<{ links: MeshLinks; host: LiveHost }> = [];

beforeAll(async () => {
  certs = await makeMeshCerts(['ap-1', 'us-1']);
});

afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.links.stop();
    s.host.stop();
  }
});

const quiet: MeshLog = { debug: () => {}, info: () => {}, warn: () => {} };

function tlsOf(name: string): MeshTls {
  const c = certs.issued.get(name);
  if (c === undefined) throw new Error(name);
  return { ca: certs.ca.cert, cert: c.cert, key: c.key };
}

function broker(id: string, listenPort: number, peer: LivePeer): { links: MeshLinks; host: LiveHost } {
  const config: BrokerConfig = { id, neighbors: [{ id: peer.id, cost: 10 }], helloIntervalMs: 100, deadIntervalMs: 1000, hopLimit: 16 };
  const host = new LiveHost(config);
  host.start();
  const links = new MeshLinks({ self: id, listen: { host: '127.0.0.1', port: listenPort }, peers: [peer], tls: tlsOf(id), host, log: quiet });
  const b = { links, host };
  started.push(b);
  return b;
}

describe('[LINK-6] one connection per pair', () => {
  it('two brokers dialing each other at once keep one connection, dialed by the smaller id', async () => {
    const [pa, pu] = (await freePorts(2)) as [number, number];
    const ap = broker('ap-1', pa, { id: 'us-1', host: '127.0.0.1', port: pu, cost: 10 });
    const us = broker('us-1', pu, { id: 'ap-1', host: '127.0.0.1', port: pa, cost: 10 });
    await Promise.all([ap.links.start(), us.links.start()]);
    expect(await until(() => ap.host.broker.inspect().upNeighbors().includes('us-1') && us.host.broker.inspect().upNeighbors().includes('ap-1'), 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(ap.links.connected()).toEqual(['us-1']);
    expect(us.links.connected()).toEqual(['ap-1']);
    // The same TCP connection at both ends: ap-1 (the smaller id) dialed it, so us-1 accepted it.
    const a = ap.links.connection('us-1');
    const u = us.links.connection('ap-1');
    expect(a?.dialedBySelf).toBe(true);
    expect(u?.dialedBySelf).toBe(false);
    expect(a?.socket.localPort).toBe(u?.socket.remotePort);
  });

  it("a peer's new process replaces its old connection; a peer that is down is dialed until it is up", async () => {
    const [pa, pu] = (await freePorts(2)) as [number, number];
    const ap = broker('ap-1', pa, { id: 'us-1', host: '127.0.0.1', port: pu, cost: 10 });
    await ap.links.start();
    // us-1 is not there yet: ap-1 keeps dialing with backoff.
    await new Promise((r) => setTimeout(r, 700));
    expect(ap.links.connected()).toEqual([]);
    const us1 = broker('us-1', pu, { id: 'ap-1', host: '127.0.0.1', port: pa, cost: 10 });
    await us1.links.start();
    expect(await until(() => ap.host.broker.inspect().upNeighbors().includes('us-1'), 10_000)).toBe(true);
    const firstNonce = ap.links.connection('us-1')?.peerNonce;
    expect(firstNonce).toBe(us1.links.nonce.toString('hex'));
    // us-1 restarts (a new boot nonce) on the same port.
    await us1.links.stop();
    us1.host.stop();
    const us2 = broker('us-1', pu, { id: 'ap-1', host: '127.0.0.1', port: pa, cost: 10 });
    await us2.links.start();
    expect(await until(() => ap.links.connection('us-1')?.peerNonce === us2.links.nonce.toString('hex') && ap.host.broker.inspect().upNeighbors().includes('us-1'), 10_000)).toBe(true);
    expect(ap.links.connected()).toEqual(['us-1']);
  });
});

describe('[LINK-4] a dialed server must be the peer it was dialed as', () => {
  it('refuses (and counts) a server whose certificate names another broker', async () => {
    const [pa, pu] = (await freePorts(2)) as [number, number];
    // At us-1's address listens a broker whose certificate names ap-1 (a mismatched id).
    const impostor = broker('ap-1', pu, { id: 'us-1', host: '127.0.0.1', port: pa, cost: 10 });
    const ap = broker('ap-1', pa, { id: 'us-1', host: '127.0.0.1', port: pu, cost: 10 });
    await impostor.links.start();
    await ap.links.start();
    expect(await until(() => (ap.links.refused.get('server certificate refused') ?? 0) >= 1, 5000)).toBe(true);
    expect(ap.links.connected()).toEqual([]);
    expect(ap.host.broker.inspect().upNeighbors()).toEqual([]);
  });
});
