/**
 * A broker's mesh links [LINK-4..7]: it listens for its peers and dials each of them, over mutual
 * TLS 1.3 (tls.ts), and hands every authenticated connection to the LiveHost.
 *
 * [LINK-4] Authentication first: a peer whose certificate is not from the mesh CA, names no single
 * identity, or names a broker that is not a configured peer is refused on the handshake or right
 * after it — logged and counted by reason — before a byte of it reaches the engine.
 * [LINK-5] Every connection starts with a 12-byte link preamble each way, after TLS and before
 * the engine's frames: "MTL1" and the sender's boot nonce (8 random bytes drawn when the process
 * started). The nonce tells a peer's restart from a second connection of the same process.
 * [LINK-6] Who keeps which connection, decided the same way at both ends:
 *   - none yet: take it;
 *   - the peer's nonce changed (it restarted): the new one replaces the old;
 *   - same nonce, same dialing side (that side gave up on the old one): the new one replaces it;
 *   - same nonce, opposite sides (both dialed at once): keep the one dialed by the smaller id.
 * [LINK-7] Dialing: each configured peer without a connection is dialed again and again, after
 * 100 ms doubling to 5 s, plus 0–100 ms of random jitter so two brokers dialing each other do
 * not keep colliding (NATS's routes do the same with 1 s → 30 s); a connection that got as far
 * as the preamble resets the backoff. A closed connection is the LiveHost's link-down at once;
 * silence is caught by the engine's dead interval.
 * [LINK-8] `plaintext` (config `mesh.plaintext: true`) is for measurement only (`meshtwin bench
 * --live` prices TLS against it): plain TCP, no certificates, no identity check — the peer's id
 * is what it claims, one length byte and the id after the preamble — and only on loopback
 * (config.ts refuses it otherwise). The preamble and everything after it are the same.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { HostPort, LivePeer } from '../config.ts';
import type { LiveHost } from '../host.ts';
import { checkPeer, clientOptions, identityOf, type MeshTls, serverOptions } from './tls.ts';

const MAGIC = Buffer.from('MTL1');
const PREAMBLE_BYTES = 12;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
const JITTER_MS = 100;
/** A peer that opens a connection and says nothing is dropped after this long. */
const PREAMBLE_TIMEOUT_MS = 5000;

export interface MeshLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MeshLinksOptions {
  readonly self: string;
  readonly listen: HostPort;
  readonly peers: readonly LivePeer[];
  readonly tls: MeshTls;
  readonly host: LiveHost;
  readonly log: MeshLog;
  /** [LINK-8] Plain TCP on loopback, for measurement only. */
  readonly plaintext?: boolean;
}

/** Why connections were refused, and how many [LINK-4]. */
export type RefusedCounts = Map<string, number>;

export interface Current {
  readonly socket: Socket;
  readonly dialedBySelf: boolean;
  readonly peerNonce: string;
}

export class MeshLinks {
  readonly nonce = randomBytes(8);
  readonly refused: RefusedCounts = new Map();
  readonly #current = new Map<string, Current>();
  readonly #dialing = new Set<string>();
  readonly #attempts = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #sockets = new Set<Socket>();
  readonly #peerIds: ReadonlySet<string>;
  #server: TcpServer | undefined;
  #stopped = false;

  constructor(private readonly o: MeshLinksOptions) {
    this.#peerIds = new Set(o.peers.map((p) => p.id));
  }

  /** Listens for peers (rejects with the listen error, e.g. EADDRINUSE) and starts dialing them. */
  async start(): Promise<number> {
    let server: TcpServer;
    if (this.o.plaintext === true) {
      this.o.log.warn({ listen: `${this.o.listen.host}:${this.o.listen.port}` }, 'mesh links in PLAINTEXT: no TLS, no peer authentication (for measurement only)');
      server = createTcpServer((socket) => {
        this.#track(socket);
        this.#preamble(socket, null, false);
      });
    } else {
      const tlsServer = createServer(serverOptions(this.o.tls), (socket) => this.#accepted(socket));
      tlsServer.on('tlsClientError', (err, socket) => {
        this.#refuse(`handshake failed: ${err.message}`, { remote: socket.remoteAddress });
      });
      server = tlsServer;
    }
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen.port, this.o.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (const p of this.o.peers) this.#dial(p);
    const a = server.address();
    return a !== null && typeof a === 'object' ? a.port : this.o.listen.port;
  }

  /** Stops dialing and listening and closes every connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((done) => server.close(() => done()));
  }

  /** The connection kept to `peer`, with who dialed it and the peer's boot nonce (hex). */
  connection(peer: string): Current | undefined {
    return this.#current.get(peer);
  }

  /** Peers with a connection now. */
  connected(): string[] {
    return [...this.#current.keys()];
  }

  #refuse(reason: string, fields: object): void {
    const key = reason.replace(/:.*$/, '');
    this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
    this.o.log.warn({ ...fields, reason }, 'mesh connection refused');
  }

  #track(socket: Socket): void {
    // Frames are written as they come: Nagle's algorithm would hold a small one back until the
    // peer's delayed ACK (tens of ms on loopback) [LINK-9].
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #accepted(socket: TLSSocket): void {
    this.#track(socket);
    const check = checkPeer(socket, this.#peerIds);
    if (!check.ok) {
      this.#refuse(check.reason, { remote: socket.remoteAddress, identity: identityOf(socket.getPeerCertificate()) });
      socket.destroy();
      return;
    }
    this.#preamble(socket, check.peer, false);
  }

  #dial(peer: LivePeer): void {
    if (this.#stopped || this.#dialing.has(peer.id) || this.#current.has(peer.id)) return;
    this.#dialing.add(peer.id);
    const plain = this.o.plaintext === true;
    const socket = plain ? createConnection({ host: peer.host, port: peer.port }) : connect({ host: peer.host, port: peer.port, ...clientOptions(this.o.tls, peer.id) });
    this.#track(socket);
    let settled = false;
    const failed = (why: string): void => {
      if (settled) return;
      settled = true;
      this.#dialing.delete(peer.id);
      socket.destroy();
      // The first failure of an outage at info, the retries at debug.
      if (why !== '') this.o.log[(this.#attempts.get(peer.id) ?? 0) === 0 ? 'info' : 'debug']({ peer: peer.id, address: `${peer.host}:${peer.port}`, why }, 'mesh dial failed');
      this.#redial(peer);
    };
    socket.once('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      // [LINK-4] The far end's certificate is not the peer's (another CA, another identity): refused, counted.
      if (!/^E[A-Z]+$/.test(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID') this.#refuse(`server certificate refused: ${e.message}`, { peer: peer.id, address: `${peer.host}:${peer.port}` });
      failed(code || e.message);
    });
    socket.once('close', () => failed(''));
    socket.once(plain ? 'connect' : 'secureConnect', () => {
      settled = true;
      this.#dialing.delete(peer.id);
      socket.removeAllListeners('close');
      socket.on('close', () => this.#sockets.delete(socket));
      this.#preamble(socket, peer.id, true);
    });
  }

  #redial(peer: LivePeer): void {
    if (this.#stopped || this.#timers.has(peer.id)) return;
    const n = this.#attempts.get(peer.id) ?? 0;
    this.#attempts.set(peer.id, n + 1);
    const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** n) + Math.random() * JITTER_MS;
    this.#timers.set(
      peer.id,
      setTimeout(() => {
        this.#timers.delete(peer.id);
        this.#dial(peer);
      }, delayMs),
    );
  }

  /**
   * [LINK-5] Exchanges preambles, then [LINK-6] keeps or drops the connection. `peer` is null on
   * an accepted plaintext connection: the peer names itself after its preamble [LINK-8].
   */
  #preamble(socket: Socket, knownPeer: string | null, dialedBySelf: boolean): void {
    const plain = this.o.plaintext === true;
    const self = Buffer.from(this.o.self);
    socket.write(plain ? Buffer.concat([MAGIC, this.nonce, Buffer.from([self.length]), self]) : Buffer.concat([MAGIC, this.nonce]));
    let peer = knownPeer ?? '(unnamed)';
    let got = Buffer.alloc(0);
    const timeout = setTimeout(() => {
      this.#refuse('no link preamble', { peer });
      socket.destroy();
    }, PREAMBLE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < PREAMBLE_BYTES) return;
      let end = PREAMBLE_BYTES;
      if (plain) {
        if (got.length < PREAMBLE_BYTES + 1) return;
        end = PREAMBLE_BYTES + 1 + (got[PREAMBLE_BYTES] as number);
        if (got.length < end) return;
      }
      clearTimeout(timeout);
      socket.off('data', onData);
      socket.pause();
      if (!got.subarray(0, 4).equals(MAGIC)) {
        this.#refuse('bad link preamble', { peer });
        socket.destroy();
        return;
      }
      if (plain) {
        const claimed = got.subarray(PREAMBLE_BYTES + 1, end).toString('utf8');
        if (!this.#peerIds.has(claimed) || (knownPeer !== null && claimed !== knownPeer)) {
          this.#refuse(`${claimed} is not a configured peer of this broker`, { peer: claimed });
          socket.destroy();
          return;
        }
        peer = claimed;
      }
      const rest = got.subarray(end);
      if (rest.length > 0) socket.unshift(rest);
      this.#decide(socket, peer, dialedBySelf, got.subarray(4, PREAMBLE_BYTES).toString('hex'));
    };
    socket.on('data', onData);
    socket.once('close', () => {
      clearTimeout(timeout);
      // Closed before the preamble: dial again (an accepted one is the peer's to dial again).
      const p = this.o.peers.find((x) => x.id === peer);
      if (dialedBySelf && p !== undefined && !this.#current.has(peer)) this.#redial(p);
    });
  }

  #decide(socket: Socket, peer: string, dialedBySelf: boolean, peerNonce: string): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const cur = this.#current.get(peer);
    const keepNew = cur === undefined || cur.peerNonce !== peerNonce || cur.dialedBySelf === dialedBySelf || (dialedBySelf ? this.o.self : peer) < (dialedBySelf ? peer : this.o.self);
    if (!keepNew) {
      socket.destroy();
      return;
    }
    this.#attempts.set(peer, 0);
    this.#current.set(peer, { socket, dialedBySelf, peerNonce });
    socket.once('close', () => {
      if (this.#current.get(peer)?.socket !== socket) return;
      this.#current.delete(peer);
      this.o.log.info({ peer }, 'mesh link closed');
      const p = this.o.peers.find((x) => x.id === peer);
      if (p !== undefined) this.#redial(p);
    });
    this.o.log.info({ peer, dialed: dialedBySelf ? 'out' : 'in', replaced: cur !== undefined }, 'mesh link up');
    this.o.host.attach(peer, socket);
    socket.resume();
  }
}
