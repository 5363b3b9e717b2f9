/**
 * The mesh's certificates [CERT-1]: one CA, and for every broker and client a key and a
 * certificate signed by it whose identity — the subject CN, repeated as a DNS subjectAltName — is
 * the broker id or client name (plus 127.0.0.1 as an IP subjectAltName). A mesh link accepts a peer only with a certificate from this CA
 * whose identity is the broker id it claims (live/mesh/tls.ts). ECDSA P-256, SHA-256 signatures
 * (selfsigned signs SHA-1 by default, which Node 20 rejects).
 */
import selfsigned from 'selfsigned';

export interface Credentials {
  readonly cert: string;
  readonly key: string;
}

export interface MeshCerts {
  readonly ca: Credentials;
  /** By broker id or client name. */
  readonly issued: ReadonlyMap<string, Credentials>;
}

/** A name a certificate can carry as its identity: what broker ids and client names may be. */
export const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const DAY_MS = 86_400_000;

/** A new CA and one certificate per name, valid from now for `days`. Throws on a bad or repeated name. */
export async function makeMeshCerts(names: readonly string[], opts: { readonly days?: number; readonly caName?: string } = {}): Promise<MeshCerts> {
  const days = opts.days ?? 365;
  const seen = new Set<string>();
  for (const n of names) {
    if (!IDENTITY.test(n)) throw new Error(`"${n}" is not a usable identity (letters, digits, ".", "_", "-"; at most 63)`);
    if (seen.has(n)) throw new Error(`"${n}" is named twice`);
    seen.add(n);
  }
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + days * DAY_MS);
  const common = { keyType: 'ec' as const, curve: 'P-256' as const, algorithm: 'sha256', notBeforeDate, notAfterDate };
  const ca = await selfsigned.generate([{ name: 'commonName', value: opts.caName ?? 'meshtwin mesh CA' }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const caCreds: Credentials = { cert: ca.cert, key: ca.private };
  const issued = new Map<string, Credentials>();
  for (const name of names) {
    const pem = await selfsigned.generate([{ name: 'commonName', value: name }], {
      ...common,
      ca: { cert: caCreds.cert, key: caCreds.key },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        // A broker is both: it accepts peers' connections and dials its own.
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        // The loopback address too, so an MQTT-over-TLS client on this machine (mosquitto_pub
        // -h 127.0.0.1 --cafile ca.pem) can verify a broker's listener; identities are DNS names only.
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: name },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    issued.set(name, { cert: pem.cert, key: pem.private });
  }
  return { ca: caCreds, issued };
}
