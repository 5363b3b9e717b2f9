/**
 * Durable sessions [SESS-1..4]: a subscription with a name that outlives its client's connection
 * and its broker's crash (what MQTT calls a persistent session and JetStream a durable consumer).
 * Its state is part of what a broker keeps on disk (durable.ts): the subscription itself, and the
 * events matched for it that its client has not yet been handed, in order.
 *
 * [SESS-1] Opening a session writes its name, pattern and selector; a restarted broker subscribes
 *          it again before it links to the mesh, so interest never lapses.
 * [SESS-2] Each event matched for a session is queued, and the queueing written, during the input
 *          that matched it: before the ack for the frame that carried it, or the answer to the
 *          publish that made it, can leave [DUR-2].
 * [SESS-3] An event handed to the client (written to its connection) is marked sent. What a
 *          restart finds queued and not marked sent may have reached the client before the crash:
 *          it is handed again, flagged as a redelivery (at least once to the client, each copy
 *          after the first flagged, so a client that keeps the ids it has seen gets each once).
 * [SESS-4] Closing a session (the client ends it) forgets it and whatever it had queued.
 */
import type { Envelope } from './types.ts';

export interface SessionEntry {
  readonly env: Envelope;
  readonly guaranteed: boolean;
  /** Recovered after a restart: it may have been handed to the client before [SESS-3]. */
  readonly redelivered: boolean;
}

export class DurableSession {
  /** Queued events by their number in this session, in order (a Map keeps insertion order). */
  readonly queue = new Map<number, SessionEntry>();
  /** The number the next queued event gets. */
  nextSeq = 1;

  constructor(
    readonly name: string,
    readonly pattern: string,
    readonly filter: string | null,
  ) {}

  /** The oldest queued event and its number, or undefined. */
  head(): [number, SessionEntry] | undefined {
    for (const e of this.queue) return e;
    return undefined;
  }
}

/** Session names: what a client may call its session (travels in URLs and logs). */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
