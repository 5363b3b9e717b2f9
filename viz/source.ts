/**
 * What the view's server streams, whoever makes it: a simulated run paced to wall time
 * (sim-source.ts, `meshtwin viz`) or a live run on broker processes (live-source.ts,
 * `meshtwin live --viz`). The server (server.ts) owns the sockets, the page and the timer; a
 * source owns the run, its snapshots and what a control does to it. Both speak the same
 * messages, so the browser draws either with the same code.
 */
import type { Control } from './controls.ts';
import type { LiveSnapshot } from './session.ts';
import type { SeriesPoint, Topology, ViewEvent } from './snapshot.ts';

/** What a browser gets on connecting and after a restart. */
export interface Hello {
  readonly topology: Topology;
  readonly history: readonly SeriesPoint[];
  /** The latest control-plane events, oldest first (those of `snapshot` included). */
  readonly events: readonly ViewEvent[];
  readonly snapshot: LiveSnapshot;
  readonly snapshotHz: number;
}

export type AckReply = { ok: true } | { ok: false; error: string };

/** How a source reaches every browser outside of a control's reply. */
export interface ViewOutput {
  /** A line in every browser's log and on the terminal. */
  notice(text: string): void;
  /** A banner while the source has nothing to draw (a mesh being built). */
  building(text: string): void;
  /** Greets every browser again (a new topology, a new run). */
  hello(): void;
  /** The run is over: browsers keep its last state and stop waiting for more. */
  finished(text: string): void;
}

/** A live run's own status line (null in a simulated run's snapshots). */
export interface LiveStatus {
  /** Broker processes in the run, and how many answer now. */
  readonly processes: number;
  readonly running: number;
  /** The run has ended (its processes are stopped): nothing more will come. */
  readonly finished: boolean;
  /** Time (the snapshot's axis, ms) of the brokers' last /metrics scrape (null before the first). */
  readonly scrapedAt: number | null;
  /** From the brokers' meshtwin_published_total / meshtwin_delivered_total over the last scrape interval. */
  readonly publishedPerSecond: number;
  readonly deliveredPerSecond: number;
  /** What the latency chart shows here (it is not the simulator's figure). */
  readonly latencyNote: string;
}

/**
 * A run the server can show. The server calls `bind` once, `start` once it listens, `tick` a
 * few times a second, `control` for each valid control a browser sends, and `close` when it
 * stops; no method may throw for a browser's mistake (a refusal is an AckReply).
 */
export interface ViewSource {
  bind(out: ViewOutput): void;
  start(): void;
  /** What a browser gets on connecting (null while there is nothing to draw yet). */
  hello(): Omit<Hello, 'snapshotHz'> | null;
  /** The banner a browser shows while hello() is null. */
  waiting(): string;
  /** A snapshot to broadcast now, or null when there is nothing new. */
  tick(): LiveSnapshot | null;
  /** Now on the snapshots' time axis (ms), for the notices' timestamps. */
  now(): number;
  control(c: Control, who: string): AckReply | Promise<AckReply>;
  close(): void;
}
