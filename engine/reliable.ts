/**
 * Per-link reliability for guaranteed frames [REL-1..3], one `Outbox` per neighbor (sender side)
 * and one `Inbox` per neighbor (receiver side).
 *
 * [REL-1] Each guaranteed frame on a link gets the next `linkSeq` of the sender's current epoch
 *         (a new epoch each time the adjacency comes up, so numbers from an earlier adjacency
 *         are never confused with the current one).
 * [REL-2] The receiver acknowledges every guaranteed frame it has taken responsibility for (or
 *         already held), batched for `ackDelayMs`; acks carry the epoch they answer.
 * [REL-3] A frame not acknowledged within the retransmission timeout is sent again — re-routed,
 *         so a retry follows the current routes. RTO follows RFC 6298: SRTT + 4·RTTVAR from
 *         samples of first transmissions only (Karn) — with RTTVAR's share at least
 *         MIN_RTO_SLACK_MS, so ack batching and jitter don't trigger spurious retries — doubling per retry of the same frame up to
 *         MAX_RTO_MS. When the adjacency goes down, everything unacknowledged is re-routed at once.
 * [REL-4] An ack of a first transmission (a valid RTT sample: the link delivers again) ends the
 *         backoff of the retries still pending: each is re-timed to now + the current RTO if it
 *         was due later, as TCP restarts its timer with the recomputed RTO on an ack of new data.
 *         Without it, a frame backed off through a cut shorter than the dead interval kept its
 *         destination's ordered stream waiting up to MAX_RTO_MS after the link was back
 *         (meshtwin explore found it: the run's 5 s drain ended first).
 */
import { heldBytes } from './spool.ts';
import type { BrokerId, Envelope, Millis } from './types.ts';

/** An unacknowledged guaranteed frame. */
export interface Pending {
  readonly dests: readonly BrokerId[];
  readonly seqs: readonly number[];
  readonly env: Envelope;
  readonly sentAtMs: Millis;
  /** Retries so far (0: first transmission, an RTT sample is valid). */
  readonly retries: number;
  readonly deadlineMs: Millis;
  /** RTO used for this transmission. */
  readonly rtoMs: Millis;
  /** Held bytes of the event for each destination it carries (spool.ts heldBytes × dests). */
  readonly bytes: number;
}

/** Where in-flight bytes are counted against the custody limit [SPOOL-2] (the broker's Spool). */
export interface Custody {
  inFlightBytes: number;
}

/**
 * The RTO's floor, as Linux's TCP_RTO_MIN: a real broker's RTT samples include its store's
 * fsyncs and event-loop stalls (tens of ms on the 2-core VM this was measured on), so a floor
 * near the link's RTT made live brokers retransmit every frame in flight during each stall: a
 * live run of 500 guaranteed events/s over a 2 ms link (meshtwin live) sent 11,601 retries for
 * 2,567 events with a 10 ms floor, none with 200 ms. The simulator runs the same engine, so its
 * predictions carry the same floor.
 */
export const MIN_RTO_MS = 200;
/**
 * RTTVAR's share of the RTO is at least this, as Linux keeps its rttvar term at least
 * TCP_RTO_MIN (RTO ≥ SRTT + 200 ms): with 20 ms, a live run of 500 guaranteed events/s over a
 * 180 ms link retransmitted 1,058 times for 2,567 events — each fsync or event-loop stall longer
 * than the slack re-sent every frame in flight.
 */
export const MIN_RTO_SLACK_MS = 200;

/** The RTO's lower bounds (the estimator's own tests lower them to see its arithmetic). */
export interface RtoBounds {
  readonly minMs: Millis;
  readonly slackMs: Millis;
}

export const RTO_BOUNDS: RtoBounds = { minMs: MIN_RTO_MS, slackMs: MIN_RTO_SLACK_MS };
export const MAX_RTO_MS = 10_000;

export class Outbox {
  /** The epoch frames are numbered in; bumped when the adjacency comes up. */
  epoch = 0;
  private nextSeq = 1;
  /** Unacknowledged, by linkSeq; Map order = send order. */
  readonly pending = new Map<number, Pending>();
  /** Frames sent again on this link (a counter for the host's per-link metrics) [REL-3]. */
  retransmitted = 0;
  /**
   * The pending frames' deadlines, earliest first. Send order is not deadline order: a frame sent
   * after a backed-off retry, or after the RTO shrank, is due before frames sent earlier. Entries
   * of frames that left `pending` are dropped when they reach the top.
   */
  private readonly dues: Due[] = [];
  private srttMs = NaN;
  private rttvarMs = NaN;
  /** [REL-4] linkSeqs of pending retries (retries > 0). */
  private readonly retried = new Set<number>();

  constructor(
    private readonly initialRtoMs: Millis,
    private readonly custody: Custody = { inFlightBytes: 0 },
    private readonly bounds: RtoBounds = RTO_BOUNDS,
  ) {}

  /** A new adjacency: a new epoch; numbering restarts. Returns what was still unacknowledged. */
  newEpoch(): Pending[] {
    this.epoch++;
    this.nextSeq = 1;
    return this.takeAll();
  }

  /** Everything unacknowledged, in send order (the caller re-routes it). */
  takeAll(): Pending[] {
    const out = [...this.pending.values()];
    for (const p of out) this.custody.inFlightBytes -= p.bytes;
    this.pending.clear();
    this.dues.length = 0;
    this.retried.clear();
    return out;
  }

  /** Records a transmission and returns its linkSeq. */
  track(now: Millis, dests: readonly BrokerId[], seqs: readonly number[], env: Envelope, retries: number, prevRtoMs: Millis): number {
    const linkSeq = this.nextSeq++;
    const rtoMs = retries === 0 ? this.rto() : Math.min(MAX_RTO_MS, prevRtoMs * 2);
    const bytes = heldBytes(env) * dests.length;
    this.custody.inFlightBytes += bytes;
    this.pending.set(linkSeq, { dests, seqs, env, sentAtMs: now, retries, deadlineMs: now + rtoMs, rtoMs, bytes });
    heapPush(this.dues, { deadlineMs: now + rtoMs, linkSeq });
    if (retries > 0) this.retried.add(linkSeq);
    return linkSeq;
  }

  /** An ack for `linkSeq` in `epoch`: forget the frame; sample the RTT (Karn: first sends only). */
  ack(now: Millis, epoch: number, linkSeq: number): boolean {
    if (epoch !== this.epoch) return false;
    const p = this.pending.get(linkSeq);
    if (p === undefined) return false;
    this.pending.delete(linkSeq);
    this.custody.inFlightBytes -= p.bytes;
    this.retried.delete(linkSeq);
    if (p.retries === 0) {
      this.sample(now - p.sentAtMs);
      this.retime(now);
    }
    return true;
  }

  /** [REL-4] Pending retries due later than now + RTO are due then, with the RTO as their own. */
  private retime(now: Millis): void {
    if (this.retried.size === 0) return;
    const rtoMs = this.rto();
    const at = now + rtoMs;
    for (const linkSeq of this.retried) {
      const p = this.pending.get(linkSeq) as Pending;
      if (p.deadlineMs <= at) continue;
      // Same key: the Map keeps send order. The old heap entry is later and finds nothing.
      this.pending.set(linkSeq, { ...p, deadlineMs: at, rtoMs });
      heapPush(this.dues, { deadlineMs: at, linkSeq });
    }
  }

  /** Removes and returns the frames whose deadline has passed, in send order. */
  expired(now: Millis): Pending[] {
    let seqs: number[] | undefined;
    const dues = this.dues;
    while (dues.length > 0 && (dues[0] as Due).deadlineMs <= now) {
      const { linkSeq, deadlineMs } = heapPop(dues);
      // A frame re-timed [REL-4] also has its old, later entry: only the current one counts.
      if (this.pending.get(linkSeq)?.deadlineMs === deadlineMs) (seqs ??= []).push(linkSeq);
    }
    if (seqs === undefined) return EMPTY;
    // linkSeqs grow with send order within an epoch (and `dues` is cleared with the epoch).
    seqs.sort((a, b) => a - b);
    const out: Pending[] = [];
    for (const seq of seqs) {
      const p = this.pending.get(seq) as Pending;
      out.push(p);
      this.custody.inFlightBytes -= p.bytes;
      this.pending.delete(seq);
      this.retried.delete(seq);
    }
    return out;
  }

  /** The earliest deadline of a pending frame (Infinity when nothing is pending). */
  nextDeadline(): Millis {
    const dues = this.dues;
    while (dues.length > 0 && !this.pending.has((dues[0] as Due).linkSeq)) heapPop(dues);
    return dues.length > 0 ? (dues[0] as Due).deadlineMs : Infinity;
  }

  rto(): Millis {
    if (Number.isNaN(this.srttMs)) return this.initialRtoMs;
    return Math.min(MAX_RTO_MS, Math.max(this.bounds.minMs, this.srttMs + Math.max(this.bounds.slackMs, 4 * this.rttvarMs)));
  }

  private sample(rttMs: Millis): void {
    if (Number.isNaN(this.srttMs)) {
      this.srttMs = rttMs;
      this.rttvarMs = rttMs / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - rttMs);
      this.srttMs = 0.875 * this.srttMs + 0.125 * rttMs;
    }
  }
}

const EMPTY: Pending[] = [];

interface Due {
  readonly deadlineMs: Millis;
  readonly linkSeq: number;
}

/** Binary min-heap on deadlineMs. */
function heapPush(h: Due[], d: Due): void {
  let i = h.length;
  h.push(d);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((h[parent] as Due).deadlineMs <= d.deadlineMs) break;
    h[i] = h[parent] as Due;
    i = parent;
  }
  h[i] = d;
}

function heapPop(h: Due[]): Due {
  const top = h[0] as Due;
  const last = h.pop() as Due;
  const n = h.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && (h[c + 1] as Due).deadlineMs < (h[c] as Due).deadlineMs) c++;
    if ((h[c] as Due).deadlineMs >= last.deadlineMs) break;
    h[i] = h[c] as Due;
    i = c;
  }
  h[i] = last;
  return top;
}

/** Acks owed to one neighbor, batched [REL-2]. */
export class Inbox {
  epoch = -1;
  readonly owed: number[] = [];
  /** When the batch must go out (Infinity: nothing owed). */
  dueMs: Millis = Infinity;

  owe(now: Millis, epoch: number, linkSeq: number, delayMs: Millis): void {
    if (epoch !== this.epoch) {
      // Acks for an earlier epoch are useless to the sender: drop them.
      this.epoch = epoch;
      this.owed.length = 0;
      this.dueMs = Infinity;
    }
    this.owed.push(linkSeq);
    if (this.dueMs === Infinity) this.dueMs = now + delayMs;
  }

  take(): number[] {
    const out = this.owed.slice();
    this.owed.length = 0;
    this.dueMs = Infinity;
    return out;
  }
}
