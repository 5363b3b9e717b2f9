/**
 * Durable sessions at a live broker's edge [SESS-5..8] (engine/session.ts holds their state): a
 * subscriber that names its session (`GET /v1/subscribe?pattern=…&durable=NAME`) keeps it across
 * its own disconnects and its broker's crashes.
 *
 * [SESS-5] A session's subscription is the broker's, not the connection's: it stays subscribed
 *          (its interest advertised, its events taken) while no client is attached, and a
 *          restarted broker subscribes it again before it links to the mesh (live/node.ts).
 * [SESS-6] Every event matched for it is queued in the durable state (written before the ack or
 *          202 that promised it [SESS-2]) and handed to the attached client one at a time,
 *          oldest first, and only once its queueing is on disk (handed over before, a crash could
 *          lose the record and the same event, sent again by its origin, would reach the client a
 *          second time unflagged); once the client's connection has taken one it is marked sent
 *          [SESS-3]. What a restart finds unsent goes again with `redelivered: true`.
 * [SESS-7] One client at a time: a second connection to the same session takes it over and the
 *          first is closed (as MQTT's client-id takeover). A session is ended by
 *          `DELETE /v1/sessions/NAME` (its queue is dropped).
 * [SESS-8] Bounded: a session holds at most `queueLimit` events; beyond that a new event is
 *          dropped and counted (cause slowConsumer, as a slow subscriber's would be).
 */
import { type Request, type Response, Router } from 'express';
import type { LocalSubscription } from '../../engine/broker.ts';
import type { DurableState } from '../../engine/durable.ts';
import { type DurableSession, SESSION_NAME } from '../../engine/session.ts';
import type { Envelope } from '../../engine/types.ts';
import type { LiveHost, SyncedStore } from '../host.ts';
import type { EdgeSubscriber } from './port.ts';

/** A connection serving a session: `send` hands one event; `done(true)` once the connection has taken it. */
export interface SessionClient {
  send(env: Envelope, guaranteed: boolean, redelivered: boolean, done: (ok: boolean) => void): void;
  /** Taken over by another connection, or the session ended: close. */
  evict(reason: string): void;
}

/** A refused session request (HTTP status and a reason fit for the client). */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

class Served implements EdgeSubscriber {
  readonly kind = 'ws-durable';
  client: SessionClient | null = null;
  inFlight = false;
  sub: LocalSubscription | null = null;
  /** Queued events up to this number are on disk (all of a recovered session's are). */
  syncedSeq: number;

  constructor(
    readonly hub: SessionHub,
    readonly session: DurableSession,
  ) {
    this.syncedSeq = session.nextSeq - 1;
  }

  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void {
    this.hub.queue(this, env, guaranteed);
    consumed();
  }
}

export class SessionHub {
  readonly #served = new Map<string, Served>();
  /** Events refused because a session's queue was full [SESS-8]. */
  dropped = 0;

  #waitingForDisk = false;

  constructor(
    private readonly host: LiveHost,
    private readonly durable: DurableState,
    /** The store the durable state writes to: nothing is handed over before its queueing is synced. */
    private readonly store: SyncedStore | null,
    private readonly queueLimit = 100_000,
  ) {}

  /** [SESS-5] Subscribes every session the durable state holds (after a restart: before the mesh links). */
  resume(): void {
    for (const s of this.durable.sessions.values()) this.#serve(s);
  }

  #serve(s: DurableSession): Served {
    const served = new Served(this, s);
    served.sub = this.host.broker.subscribe(this.host.now(), s.pattern, s.filter, 1, served);
    this.#served.set(s.name, served);
    return served;
  }

  /**
   * The session `name`: the one open under that name (its pattern and filter must agree when
   * given), or a new one on `pattern`. Throws SessionError, or the engine's error for a bad
   * pattern or selector.
   */
  open(name: string, pattern: string | null, filter: string | null): DurableSession {
    if (!SESSION_NAME.test(name)) throw new SessionError(400, `invalid session name ${JSON.stringify(name)}: letters, digits, ".", "_", "-", at most 128`);
    const have = this.#served.get(name);
    if (have !== undefined) {
      const s = have.session;
      if ((pattern !== null && pattern !== s.pattern) || (pattern !== null && filter !== s.filter)) {
        throw new SessionError(
          409,
          `session ${name} is open on pattern ${JSON.stringify(s.pattern)}${s.filter === null ? '' : ` with filter ${JSON.stringify(s.filter)}`}; end it (DELETE /v1/sessions/${name}) to change it`,
        );
      }
      return s;
    }
    if (pattern === null) throw new SessionError(404, `no session ${name}: give a pattern to open it`);
    const served = new Served(this, this.durable.openSession(name, pattern, filter));
    try {
      served.sub = this.host.broker.subscribe(this.host.now(), pattern, filter, 1, served);
    } catch (e) {
      this.durable.closeSession(name);
      throw e;
    }
    this.#served.set(name, served);
    return served.session;
  }

  /** [SESS-7] `client` serves session `name` from now on (the previous one is evicted). */
  attach(name: string, client: SessionClient): void {
    const served = this.#served.get(name);
    if (served === undefined) throw new SessionError(404, `no session ${name}`);
    const old = served.client;
    this.#unhand(served);
    served.client = client;
    if (old !== null && old !== client) old.evict(`session ${name} taken over by another connection`);
    this.#pump(served);
  }

  /** `client` is gone; the session waits for the next one. */
  detach(name: string, client: SessionClient): void {
    const served = this.#served.get(name);
    if (served === undefined || served.client !== client) return;
    this.#unhand(served);
    served.client = null;
  }

  /** The event in flight may have reached the client that is leaving: the next one gets it flagged. */
  #unhand(served: Served): void {
    if (!served.inFlight) return;
    served.inFlight = false;
    const head = served.session.head();
    if (head !== undefined) served.session.queue.set(head[0], { ...head[1], redelivered: true });
  }

  /** [SESS-7] Ends session `name`: unsubscribed, its queue dropped. */
  close(name: string): boolean {
    const served = this.#served.get(name);
    if (served === undefined) return false;
    this.#served.delete(name);
    if (served.sub !== null) this.host.broker.unsubscribe(this.host.now(), served.sub);
    this.durable.closeSession(name);
    served.client?.evict(`session ${name} ended`);
    return true;
  }

  /** [SESS-6] An event matched for `served`'s session. */
  queue(served: Served, env: Envelope, guaranteed: boolean): void {
    if (served.session.queue.size >= this.queueLimit) {
      this.dropped++;
      this.host.drops.slowConsumer++;
      return;
    }
    this.durable.queueForSession(served.session, env, guaranteed);
    this.#pump(served);
  }

  #pump(served: Served): void {
    const client = served.client;
    if (client === null || served.inFlight) return;
    const head = served.session.head();
    if (head === undefined) return;
    if (this.store !== null && head[0] > served.syncedSeq) {
      // [SESS-6] handed over only once what queued it is on disk.
      if (!this.store.pending) served.syncedSeq = served.session.nextSeq - 1;
      else {
        this.#awaitDisk();
        return;
      }
    }
    const [seq, e] = head;
    served.inFlight = true;
    client.send(e.env, e.guaranteed, e.redelivered, (ok) => {
      if (served.client !== client) return;
      served.inFlight = false;
      if (!ok) return;
      this.durable.sentFromSession(served.session, seq);
      this.#pump(served);
    });
  }

  /** One sync at a time: what every session had queued when it started is on disk when it ends. */
  #awaitDisk(): void {
    const store = this.store;
    if (this.#waitingForDisk || store === null) return;
    this.#waitingForDisk = true;
    const marks = [...this.#served.values()].map((s) => [s, s.session.nextSeq - 1] as const);
    store.durable().then(
      () => {
        this.#waitingForDisk = false;
        for (const [s, mark] of marks) s.syncedSeq = Math.max(s.syncedSeq, mark);
        for (const s of this.#served.values()) this.#pump(s);
      },
      () => {
        // A store that broke hands nothing more over (the broker stops [DUR-5]).
      },
    );
  }

  /** Sessions for /v1/subscriptions. */
  list(): Array<{ name: string; pattern: string; filter: string | null; queued: number; attached: boolean }> {
    return [...this.#served.values()].map((s) => ({ name: s.session.name, pattern: s.session.pattern, filter: s.session.filter, queued: s.session.queue.size, attached: s.client !== null }));
  }

  /** `DELETE /v1/sessions/:name` and `GET /v1/sessions`. */
  routes(): Router {
    const r = Router();
    r.get('/v1/sessions', (_req: Request, res: Response) => {
      res.json({ sessions: this.list(), dropped: this.dropped });
    });
    r.delete('/v1/sessions/:name', (req: Request, res: Response) => {
      const name = String(req.params['name']);
      if (this.close(name)) res.status(204).end();
      else res.status(404).json({ error: `no session ${name}` });
    });
    return r;
  }
}
