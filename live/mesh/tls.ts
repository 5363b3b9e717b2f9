/**
 * Mesh links are TLS 1.3 with mutual authentication [TLS-1]: both ends present a certificate
 * signed by the mesh CA, and a peer is the broker its certificate names — CN and DNS
 * subjectAltName agreeing (live/certs.ts issues them so). A connection whose certificate is from
 * another CA, missing, or names a broker this one has no link to is refused on the handshake or
 * right after it, before a single engine frame is read.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/** PEM text of the mesh CA and this broker's own certificate and key. */
export interface MeshTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Options for the listening side: a client certificate from the mesh CA is required. */
export function serverOptions(t: MeshTls): TlsOptions {
  return { ca: t.ca, cert: t.cert, key: t.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' };
}

/**
 * Options for dialling neighbor `peerId`: its certificate must come from the mesh CA and name
 * `peerId` (host names and addresses are not identities here: brokers move between addresses).
 */
export function clientOptions(t: MeshTls, peerId: string): ConnectionOptions {
  return {
    ca: t.ca,
    cert: t.cert,
    key: t.key,
    minVersion: 'TLSv1.3',
    servername: peerId,
    checkServerIdentity: (_host, cert) => {
      const id = identityOf(cert);
      return id === peerId ? undefined : new Error(`expected broker ${peerId}, the certificate names ${id ?? 'no single identity'}`);
    },
  };
}

/** The identity a certificate names: its CN, when every DNS subjectAltName agrees with it. */
export function identityOf(cert: PeerCertificate | undefined): string | undefined {
  if (cert === undefined || cert === null) return undefined;
  const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
  const cn = subject?.CN;
  if (typeof cn !== 'string' || cn === '') return undefined;
  const sans = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  if (sans.some((s) => s !== cn)) return undefined;
  return cn;
}

export type PeerCheck = { readonly ok: true; readonly peer: string } | { readonly ok: false; readonly reason: string };

/**
 * [TLS-2] Who is on the other end of an accepted connection, or why it is refused: the handshake
 * must have authorized the certificate (mesh CA), and the identity must be one of `peers`.
 */
export function checkPeer(socket: TLSSocket, peers: ReadonlySet<string>): PeerCheck {
  if (!socket.authorized) return { ok: false, reason: `certificate not accepted: ${String(socket.authorizationError ?? 'none presented')}` };
  const id = identityOf(socket.getPeerCertificate());
  if (id === undefined) return { ok: false, reason: 'the certificate names no single identity (CN and DNS subjectAltName differ)' };
  if (!peers.has(id)) return { ok: false, reason: `${id} is not a configured peer of this broker` };
  return { ok: true, peer: id };
}
