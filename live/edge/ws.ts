/**
 * The live broker's WebSocket subscribe (issue 9): `GET /v1/subscribe?pattern=...&filter=...`
 * upgraded with `ws` 8 in noServer mode on the broker's HTTP server.
 *
 * [EDGE-7] The query: `pattern` (required; MQTT syntax, `+`/`#`, may start `$share/GROUP/`) and
 * `filter` (optional selector over headers; an empty one counts as none). The subscription is
 * made before the upgrade, so a bad pattern or filter is refused with a plain HTTP 400 whose body
 * is the reason (`invalid pattern "a/#/b": '#' must be the last level`), and no WebSocket opens.
 * [EDGE-8] Each event is one text message, a CloudEvents structured-mode JSON object
 * (cloudevent.ts [EDGE-5]):
 *   {"specversion":"1.0","id":"evt-1","source":"/billing","type":"order.created",
 *    "topic":"orders/ap/checkout","datacontenttype":"application/json","data":{...},
 *    "routingpath":"us-1,eu-1","publishedat":"1770289945123","delivery":"realtime"}
 * Messages from the client are ignored (at most `maxClientMessageBytes` each, else ws closes 1009).
 * [EDGE-9] Pacing [EDGE-2]: an event is sent with `ws.send(text, cb)` and reported consumed in the
 * callback, i.e. once the socket has taken it; so at most one event waits in the server's socket
 * buffer, and a slow client's backlog sits in the broker's bounded queue, under the engine's
 * slow-consumer policy (realtime: newest wins; guaranteed: overflow to the spool) [SLOW-1..3].
 * A close or socket error unsubscribes.
 * The price of this pacing is one socket write (a `writev` of ws's frame header and payload) per
 * event: 12% of a broker's CPU at 10k events/s on this 2-core VM, the largest item left in its
 * profile. Corking the socket for a turn would not coalesce anything, since the next event comes
 * only from the previous write's callback; uncorked in a `setImmediate`, it caps a subscriber at
 * one event per loop turn (825/s against 31k/s in-process, realtime dropped as slow-consumer);
 * in a `process.nextTick`, it only adds work. Coalescing needs more than one event in flight:
 * letting up to 64 of a turn go out in one write measured 1.3–2.2× one broker's bench maximum,
 * but leaves up to a turn's batch in the socket buffer instead of one event.
 *
 * Other upgrade paths are left alone while another 'upgrade' listener exists (MQTT over WebSocket
 * at /mqtt may own one); when this is the server's only 'upgrade' listener, nobody else will
 * answer, so an unknown path gets a 404 and the socket is destroyed rather than left hanging.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { LocalSubscription } from '../../engine/broker.ts';
import type { Envelope } from '../../engine/types.ts';
import { toStructured } from './cloudevent.ts';
import type { AuthResult } from '../auth.ts';
import { type EdgePort, type EdgeSubscriber, PolicyError } from './port.ts';
import { type SessionClient, SessionError, type SessionHub } from './sessions.ts';

export interface EdgeSubscribeOptions {
  /** Upgrade path (default `/v1/subscribe`). */
  readonly path?: string;
  /** Largest message a client may send, bytes (default 4096; clients have nothing to say). */
  readonly maxClientMessageBytes?: number;
  readonly log?: (obj: Record<string, unknown>) => void;
  /** Durable sessions (`&durable=NAME`) [SESS-5..8]; without it the parameter is refused. */
  readonly sessions?: SessionHub;
  /**
   * Who the client is [AUTH-1], from `Authorization: Bearer` or `?token=` (a browser's WebSocket
   * cannot set headers); a refusal is a 401. Without it every client is anonymous and unpoliced.
   */
  readonly authenticate?: (authorization: string | undefined) => Promise<AuthResult>;
}

/** The subscribe path. */
export const SUBSCRIBE_PATH = '/v1/subscribe';

/** What `attachSubscribe` returns: the open subscriptions, and a way to end them all. */
export interface EdgeSubscribe {
  /** Open WebSocket subscriptions now. */
  readonly connections: number;
  /** Bytes the server's WebSockets hold unsent now (at most about one event each [EDGE-9]). */
  readonly bufferedBytes: number;
  /** Detaches from the server, closes every subscriber's socket (1001) and unsubscribes them. */
  close(): Promise<void>;
}

/** A WebSocket client as the broker's subscriber [EDGE-9]. */
class WsSubscriber implements EdgeSubscriber {
  readonly kind = 'ws';
  ws: WebSocket | null = null;
  sub: LocalSubscription | null = null;
  /** A delivery that came before the upgrade completed (paced: at most one). */
  #early: { env: Envelope; guaranteed: boolean; consumed: () => void } | null = null;
  #ended = false;

  constructor(
    private readonly port: EdgePort,
    private readonly onEnd: (s: WsSubscriber) => void,
  ) {}

  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void {
    const ws = this.ws;
    if (this.#ended) return;
    if (ws === null) {
      this.#early = { env, guaranteed, consumed };
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      this.end();
      return;
    }
    ws.send(JSON.stringify(toStructured(env, guaranteed)), (err) => {
      // A failed send means the socket is gone: its close unsubscribes; nothing more to pace.
      if (err === undefined || err === null) consumed();
      else this.end();
    });
  }

  /** The upgrade completed: serve what was waiting. */
  open(ws: WebSocket): void {
    this.ws = ws;
    const early = this.#early;
    this.#early = null;
    if (early !== null) this.deliver(early.env, early.guaranteed, early.consumed);
  }

  /** Unsubscribes once. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#early = null;
    if (this.sub !== null) this.port.unsubscribe(this.sub);
    this.onEnd(this);
  }
}

/** Serves WebSocket subscriptions on `server`'s upgrades to `opts.path` [EDGE-7]. */
export function attachSubscribe(server: Server, port: EdgePort, opts: EdgeSubscribeOptions = {}): EdgeSubscribe {
  const path = opts.path ?? SUBSCRIBE_PATH;
  const log = opts.log ?? (() => {});
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxClientMessageBytes ?? 4096, perMessageDeflate: false });
  const live = new Set<WsSubscriber>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://edge.invalid');
    } catch {
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 400, 'bad request URL');
      return;
    }
    if (url.pathname !== path) {
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}`);
      return;
    }
    if (opts.authenticate === undefined) {
      serve(req, socket, head, url, undefined);
      return;
    }
    const token = url.searchParams.get('token');
    opts.authenticate(token !== null ? `Bearer ${token}` : req.headers.authorization).then(
      (who) => {
        if (who.ok) serve(req, socket, head, url, who.principal);
        else refuseUpgrade(socket, 401, who.error);
      },
      (err: unknown) => refuseUpgrade(socket, 400, String(err)),
    );
  };
  const serve = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, principal: string | undefined): void => {
    const pattern = url.searchParams.get('pattern');
    const filterText = url.searchParams.get('filter');
    const filter = filterText === null || filterText.trim() === '' ? null : filterText;
    const durable = url.searchParams.get('durable');
    if (durable !== null) {
      serveSession(req, socket, head, durable, pattern === '' ? null : pattern, filter, principal);
      return;
    }
    if (pattern === null || pattern === '') {
      refuseUpgrade(socket, 400, 'missing pattern query parameter (e.g. ?pattern=orders/%2B/checkout)');
      return;
    }

    // [LIMIT-2] Each subscription is a connection of its principal.
    if (principal !== undefined && !port.limits.open(principal)) {
      refuseUpgrade(socket, 429, `${principal} has ${port.limits.connections(principal)} connections open, its limit`);
      return;
    }
    const release = (): void => {
      if (principal !== undefined) port.limits.release(principal);
    };
    const subscriber = new WsSubscriber(port, (s) => {
      live.delete(s);
      release();
    });
    try {
      subscriber.sub = port.subscribe(pattern, filter, subscriber, true, principal);
    } catch (err) {
      release();
      // EdgePort.subscribe's messages are fit for the client (UsageError, SelectorError, PolicyError).
      refuseUpgrade(socket, err instanceof PolicyError ? 403 : 400, err instanceof Error ? err.message : String(err));
      return;
    }
    live.add(subscriber);
    // ws refuses a bad handshake itself (400, no callback): the subscription must not outlive it.
    socket.once('close', () => {
      if (subscriber.ws === null) subscriber.end();
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (err) => {
        log({ msg: 'ws error', err: err.message });
        subscriber.end();
      });
      ws.on('close', () => subscriber.end());
      log({ msg: 'ws subscribe', pattern, filter });
      subscriber.open(ws);
    });
  };
  /** [SESS-5..8] A durable session's connection: the hub, not the connection, owns the subscription. */
  const serveSession = (req: IncomingMessage, socket: Duplex, head: Buffer, name: string, pattern: string | null, filter: string | null, principal: string | undefined): void => {
    const sessions = opts.sessions;
    if (sessions === undefined) {
      refuseUpgrade(socket, 400, 'durable sessions are not enabled on this endpoint');
      return;
    }
    try {
      // [ACL-4] The policy decides on the session's pattern at each connection; a durable
      // session's deliveries are not filtered by type ([ACL-5] applies to the other edges).
      if (principal !== undefined && pattern !== null) port.authorize(principal, pattern);
      const open = sessions.open(name, pattern, filter);
      if (principal !== undefined && pattern === null) port.authorize(principal, open.pattern);
    } catch (err) {
      refuseUpgrade(socket, err instanceof SessionError ? err.status : err instanceof PolicyError ? 403 : 400, err instanceof Error ? err.message : String(err));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: SessionClient = {
        send: (env, guaranteed, redelivered, done) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const msg = toStructured(env, guaranteed);
          if (redelivered) msg['redelivered'] = true;
          ws.send(JSON.stringify(msg), (err) => done(err === undefined || err === null));
        },
        evict: (reason) => ws.close(4000, reason.slice(0, 120)),
      };
      const leave = (): void => sessions.detach(name, client);
      ws.on('error', leave);
      ws.on('close', leave);
      log({ msg: 'ws session', session: name, pattern, filter });
      sessions.attach(name, client);
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    get connections() {
      return live.size;
    },
    get bufferedBytes() {
      let n = 0;
      for (const ws of wss.clients) n += ws.bufferedAmount;
      return n;
    },
    close: async () => {
      server.off('upgrade', onUpgrade);
      for (const s of [...live]) {
        s.end();
        s.ws?.close(1001, 'broker shutting down');
      }
      // ws.close waits for the client's close frame: a client that never answers is cut off.
      const closing = [...wss.clients];
      await Promise.race([
        Promise.all(closing.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : new Promise((done) => ws.once('close', done))))),
        new Promise((done) => setTimeout(done, 1000).unref()),
      ]);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((done) => wss.close(() => done()));
    },
  };
}

/** An HTTP error response on a socket that asked to upgrade, then the end of it (as ws's own refusals). */
const STATUS_TEXT = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests' } as const;

function refuseUpgrade(socket: Duplex, status: keyof typeof STATUS_TEXT, reason: string): void {
  const body = reason + '\n';
  const text = STATUS_TEXT[status];
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
