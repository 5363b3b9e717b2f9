/**
 * Core types shared by every part of the engine. The engine is pure: time comes in as an
 * argument (`Millis`), bytes come in and go out through the host interface (see broker.ts).
 */

/** Milliseconds of (virtual or wall) time, as a float. Units last in names: `rttMs`. */
export type Millis = number;

/** A broker's id, e.g. "us-1". Short ASCII strings; they travel in routing paths. */
export type BrokerId = string;

/** A header value: selectors compare strings, numbers and booleans. */
export type HeaderValue = string | number | boolean;

/** Event headers/attributes that selectors are evaluated against. */
export type Headers = Readonly<Record<string, HeaderValue>>;

/**
 * The event envelope: CloudEvents attributes plus the mesh's own headers.
 * [ENV-1] `path` lists the brokers the envelope has crossed, `hopLimit` counts down per hop.
 */
export interface Envelope {
  /** CloudEvents `id`: unique per source. */
  readonly id: string;
  /** CloudEvents `source`. */
  readonly source: string;
  /** CloudEvents `type`. */
  readonly type: string;
  /** CloudEvents `specversion`, "1.0". */
  readonly specversion: string;
  /** The topic it was published on, `/`-separated levels. */
  readonly topic: string;
  /** Headers/attributes that selectors see. */
  readonly headers: Headers;
  /** Payload bytes (opaque to the mesh). */
  readonly payload: Uint8Array;
  /** When the publisher published it (ms, the host's clock). */
  readonly publishedAtMs: Millis;
  /** Brokers traversed so far, first the one that accepted the publish. */
  readonly path: readonly BrokerId[];
  /** Hops left; a broker that would forward with 0 left drops and counts it. */
  readonly hopLimit: number;
}

/** The CloudEvents `specversion` of every envelope the mesh carries (the edges take only "1.0"). */
export const SPECVERSION = '1.0';

/** The default hop limit (seed 002: 16). */
export const DEFAULT_HOP_LIMIT = 16;

/** A caller's misuse of an engine API (h11's split): thrown, never sent on the wire. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
