/**
 * Inter-broker frames: what one broker sends its neighbor. A discriminated union on `kind`;
 * the wire encoding lives in `codec/` (layout table in `codec/wire.ts`).
 */
import type { BrokerId, Envelope } from './types.ts';

/** Frame tags, as on the wire (one byte after the version). */
export const FrameKind = { Hello: 1, LinkState: 2, Interest: 3, Data: 4, Guaranteed: 5, Ack: 6, KeepAlive: 7, SyncRequest: 8, Governance: 9 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Neighbor discovery and liveness: sent every `helloIntervalMs`; silence for `deadIntervalMs` means down. */
export interface HelloFrame {
  readonly kind: 1;
  readonly from: BrokerId;
  /** Non-negative integer milliseconds. */
  readonly helloIntervalMs: number;
  /** Non-negative integer milliseconds. */
  readonly deadIntervalMs: number;
  /** neighbors the sender currently hears (two-way check) */
  readonly heard: readonly BrokerId[];
}

/** One adjacency in a link-state advert. `cost` is a non-negative float. */
export interface LinkStateNeighbor {
  readonly id: BrokerId;
  readonly cost: number;
}

/** A link-state advert, flooded; the highest `seq` (integer, 0 ..= 2^53-1) from an origin wins. */
export interface LinkStateFrame {
  readonly kind: 2;
  readonly origin: BrokerId;
  readonly seq: number;
  readonly neighbors: readonly LinkStateNeighbor[];
}

/** One interest change: a pattern (and optional selector) added or removed at the origin. */
export interface InterestEntry {
  readonly op: 'add' | 'remove';
  readonly pattern: string;
  readonly selector: string | null;
}

/** Interest advertised by `origin`; `seq` is an integer, 0 ..= 2^53-1. */
export interface InterestFrame {
  readonly kind: 3;
  readonly origin: BrokerId;
  readonly seq: number;
  /** true: replaces all interest known from origin (database exchange) */
  readonly reset: boolean;
  readonly entries: readonly InterestEntry[];
}

/** An event on its way to one or more brokers. */
export interface DataFrame {
  readonly kind: 4;
  /** brokers this copy is for; a transit broker splits them by next hop */
  readonly dests: readonly BrokerId[];
  readonly envelope: Envelope;
}

/**
 * A guaranteed event on one link [REL-1]: like a data frame, plus what the link and the mesh need
 * to deliver it exactly once and in order. `linkSeq` numbers the frame on this link in the
 * sender's `epoch` (its adjacency with the receiver); the receiver acknowledges it. `seqs[i]` is
 * the event's number in the stream from the publishing broker to `dests[i]` (the seed's
 * "sequence vector"): the destination delivers each origin's stream in that order.
 */
export interface GuaranteedFrame {
  readonly kind: 5;
  readonly epoch: number;
  readonly linkSeq: number;
  readonly dests: readonly BrokerId[];
  readonly seqs: readonly number[];
  readonly envelope: Envelope;
}

/** Acknowledges guaranteed frames received (or already held) in the sender's `epoch` [REL-2]. */
export interface AckFrame {
  readonly kind: 6;
  readonly epoch: number;
  readonly linkSeqs: readonly number[];
}

/** HA: the primary tells its backup it is alive, every keepaliveMs [HA-1]. */
export interface KeepAliveFrame {
  readonly kind: 7;
  readonly from: BrokerId;
  readonly seq: number;
}

/**
 * [INT-4] "I missed some of `origin`'s interest (a sequence gap): send me all of it." The
 * neighbor answers with a reset frame for that origin. With `origin` the sender itself
 * (which never asks for its own interest): "send me your whole database" — a broker that
 * restarted [SYNC-2], or whose copy of the neighbor's advert shows a lost exchange [SYNC-3].
 */
export interface SyncRequestFrame {
  readonly kind: 8;
  readonly origin: BrokerId;
}

/**
 * [GOV-1] A mesh-wide document (the ACL policy, the schema registry), flooded like a link-state
 * advert: every broker keeps the highest (version, origin) per `doc` and passes a newer one on.
 * `body` is the document as JSON; a broker that does not know `doc` floods it without applying.
 */
export interface GovernanceFrame {
  readonly kind: 9;
  readonly doc: string;
  readonly origin: BrokerId;
  /** Integer, 0 ..= 2^53-1. */
  readonly version: number;
  readonly body: string;
}

export type Frame = HelloFrame | LinkStateFrame | InterestFrame | DataFrame | GuaranteedFrame | AckFrame | KeepAliveFrame | SyncRequestFrame | GovernanceFrame;
