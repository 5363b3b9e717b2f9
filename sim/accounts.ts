/**
 * [ACCT-1] Where every (event, interested subscriber) pair ended, in subscriber deliveries — one
 * unit for every figure in every report (CLI, summary.json, CSV, report.html, the live view):
 *
 *   delivered − duplicates − to new sessions + dropped + in flight at end = expected
 *
 * - expected: pairs created at publish (sim/demand.ts) [ACCT-4];
 * - delivered: deliveries to subscribers; `duplicates` are second copies of one event to one
 *   subscriber; `to new sessions` are deliveries to a session that began after the event was
 *   published (clients that reconnected after a crash receive guaranteed events held for them:
 *   not owed to the new session, and what the old one was owed was counted lost as `crash`);
 * - dropped, by cause: what a lost copy was worth when it was lost — the subscribers at its
 *   destination broker that wanted it then (a crashed broker has none: its sessions ended);
 * - in flight at end: what every copy still on a link, in custody, spooled, resequenced or queued
 *   for a slow subscriber is worth when the run ends.
 *
 * Retransmitted frames are not drops: a guaranteed frame lost on the wire stays in its sender's
 * custody and goes again (`lossRetried`, frames, reported apart).
 */

/** Causes that lose a delivery: the engine's own, plus what the network and crashes do. */
export const DROP_CAUSES = ['linkLoss', 'queueFull', 'linkDown', 'brokerDown', 'crash', 'noRoute', 'loop', 'hopLimit', 'slowConsumer', 'spoolFull', 'denied'] as const;
export type LossCause = (typeof DROP_CAUSES)[number];

/**
 * linkLoss: a realtime frame lost on the wire; queueFull: tail-dropped at a full send queue;
 * linkDown: on a link when it was cut, or sent on a cut link before the sender noticed;
 * brokerDown: arrived at a crashed broker (worth what its other destinations wanted);
 * crash: owed to a crashed broker's subscriber sessions (on its way there, in custody for it, or
 * queued in its memory) when they ended. The engine's own causes (engine/broker DropCause) are
 * passed straight to `Accounts.drop`, so one the ledger lacks does not compile.
 */
export const CAUSE_LABELS: Readonly<Record<LossCause, string>> = {
  linkLoss: 'link loss',
  queueFull: 'queue full',
  linkDown: 'link down',
  brokerDown: 'broker down',
  crash: 'crash',
  noRoute: 'no route',
  loop: 'loop',
  hopLimit: 'hop limit',
  slowConsumer: 'slow consumer',
  spoolFull: 'spool full',
  denied: 'denied by policy',
};

export type Drops = Record<LossCause, number>;

export function emptyDrops(): Drops {
  return { linkLoss: 0, queueFull: 0, linkDown: 0, brokerDown: 0, crash: 0, noRoute: 0, loop: 0, hopLimit: 0, slowConsumer: 0, spoolFull: 0, denied: 0 };
}

export function sumDrops(d: Readonly<Drops>): number {
  let n = 0;
  for (const c of DROP_CAUSES) n += d[c];
  return n;
}

/** The run's ledger, kept by the mesh as things happen. */
export class Accounts {
  /** Pairs created by accepted publishes. */
  expected = 0;
  readonly drops: Drops = emptyDrops();
  /** Dropped pairs per broker index: where the copy was lost (a link's sending end). */
  readonly brokerDropped: Float64Array;
  /** Deliveries to sessions that began after the event was published. */
  newSessions = 0;

  constructor(brokers: number) {
    this.brokerDropped = new Float64Array(brokers);
  }

  drop(broker: number, cause: LossCause, pairs: number): void {
    if (pairs === 0) return;
    this.drops[cause] += pairs;
    this.brokerDropped[broker] = (this.brokerDropped[broker] as number) + pairs;
  }

  get dropped(): number {
    return sumDrops(this.drops);
  }
}
