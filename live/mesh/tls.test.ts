/**
 * [TLS-1][TLS-2] Mutual TLS between brokers, on real sockets on 127.0.0.1: a peer with a
 * certificate from the mesh CA naming a configured broker is accepted; another CA's certificate,
 * none, or an identity this broker has no link to is refused; a dialler refuses a server whose
 * certificate names another broker than the one it dialled.
 */
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMeshCerts, type MeshCerts } from '../certs.ts';
import { checkPeer, clientOptions, identityOf, serverOptions, type MeshTls, type PeerCheck } from './tls.ts';

let mesh: MeshCerts;
let other: MeshCerts;
const servers: Server[] = [];

const tlsOf = (m: MeshCerts, name: string): MeshTls => {
  const c = m.issued.get(name);
  if (c === undefined) throw new Error(`no certificate for ${name}`);
  return { ca: m.ca.cert, cert: c.cert, key: c.key };
};

/** A listening broker on 127.0.0.1 that reports each accepted connection's check. */
async function listen(t: MeshTls, peers: readonly string[]): Promise<{ port: number; checks: PeerCheck[]; refusals: string[] }> {
  const checks: PeerCheck[] = [];
  const refusals: string[] = [];
  const server = createServer(serverOptions(t), (socket: TLSSocket) => {
    const check = checkPeer(socket, new Set(peers));
    checks.push(check);
    if (check.ok) socket.end('welcome');
    else socket.destroy();
  });
  server.on('tlsClientError', (e) => refusals.push(e.message));
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { port: addr.port, checks, refusals };
}

/** Dials, and resolves with what the server said or the error that ended the attempt. */
function dial(port: number, opts: ReturnType<typeof clientOptions> | Record<string, unknown>): Promise<{ data: string; error: string | null; serverId: string | undefined }> {
  return new Promise((done) => {
    let data = '';
    let serverId: string | undefined;
    const s = connect({ host: '127.0.0.1', port, ...opts }, () => {
      serverId = identityOf(s.getPeerCertificate());
    });
    const timer = setTimeout(() => {
      s.destroy();
      done({ data, error: 'timeout', serverId });
    }, 5000);
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e) => {
      clearTimeout(timer);
      done({ data, error: e.message, serverId });
    });
    s.on('close', () => {
      clearTimeout(timer);
      done({ data, error: null, serverId });
    });
  });
}

beforeAll(async () => {
  mesh = await makeMeshCerts(['us-1', 'eu-1', 'ap-1']);
  other = await makeMeshCerts(['eu-1'], { caName: 'someone else' });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
});

describe('[CERT-1] the mesh certificates', () => {
  it('name their broker in CN and DNS subjectAltName, are signed by the mesh CA, and are not CAs', () => {
    const ca = new X509Certificate(mesh.ca.cert);
    expect(ca.ca).toBe(true);
    for (const id of ['us-1', 'eu-1', 'ap-1']) {
      const c = new X509Certificate(tlsOf(mesh, id).cert);
      expect(c.subject).toBe(`CN=${id}`);
      expect(c.subjectAltName).toBe(`DNS:${id}, IP Address:127.0.0.1`);
      expect(c.checkIssued(ca)).toBe(true);
      expect(c.verify(ca.publicKey)).toBe(true);
      expect(c.ca).toBe(false);
    }
    expect(new X509Certificate(tlsOf(other, 'eu-1').cert).verify(ca.publicKey)).toBe(false);
  });

  it('refuse names that are not identities, and names given twice', async () => {
    await expect(makeMeshCerts(['us 1'])).rejects.toThrow(/not a usable identity/);
    await expect(makeMeshCerts(['a', 'a'])).rejects.toThrow(/named twice/);
  });
});

describe('[TLS-1] mutual TLS between brokers', () => {
  it('accepts a configured peer with a mesh certificate, both ways, over TLS 1.3', async () => {
    const us1 = await listen(tlsOf(mesh, 'us-1'), ['eu-1', 'ap-1']);
    const r = await dial(us1.port, clientOptions(tlsOf(mesh, 'eu-1'), 'us-1'));
    expect(r).toMatchObject({ data: 'welcome', error: null, serverId: 'us-1' });
    expect(us1.checks).toEqual([{ ok: true, peer: 'eu-1' }]);
  });

  it('refuses a certificate from another CA on the handshake', async () => {
    const us1 = await listen(tlsOf(mesh, 'us-1'), ['eu-1']);
    const r = await dial(us1.port, { ...clientOptions(tlsOf(other, 'eu-1'), 'us-1'), ca: mesh.ca.cert });
    expect(r.data).toBe('');
    expect(us1.checks).toEqual([]);
    expect(us1.refusals.length + (r.error === null ? 0 : 1)).toBeGreaterThan(0);
  });

  it('refuses a peer that presents no certificate', async () => {
    const us1 = await listen(tlsOf(mesh, 'us-1'), ['eu-1']);
    const r = await dial(us1.port, { ca: mesh.ca.cert, servername: 'us-1', minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    expect(r.data).toBe('');
    expect(us1.checks).toEqual([]);
  });

  it('[TLS-2] refuses a mesh certificate naming a broker it has no link to', async () => {
    const us1 = await listen(tlsOf(mesh, 'us-1'), ['eu-1']);
    const r = await dial(us1.port, clientOptions(tlsOf(mesh, 'ap-1'), 'us-1'));
    expect(r.data).toBe('');
    expect(us1.checks).toEqual([{ ok: false, reason: 'ap-1 is not a configured peer of this broker' }]);
  });

  it('a dialler refuses a server whose certificate names another broker', async () => {
    const eu1 = await listen(tlsOf(mesh, 'eu-1'), ['us-1']);
    const r = await dial(eu1.port, clientOptions(tlsOf(mesh, 'us-1'), 'ap-1'));
    expect(r.error).toMatch(/expected broker ap-1, the certificate names eu-1/);
    expect(r.data).toBe('');
  });
});
