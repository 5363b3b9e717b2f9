/**
 * What the threads of a parallel run send each other and the main thread [PAR-2][PAR-3].
 */
import type { MessagePort } from 'node:worker_threads';
import type { EncodedLatency } from '../metrics.ts';
import type { RunResult } from '../run.ts';

/** What a thread is started with. */
export interface ThreadJob {
  readonly text: string;
  readonly file: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly measureHeap: boolean;
  /** This thread's number, and how many there are. */
  readonly me: number;
  readonly workers: number;
  /** Per broker: the thread that runs it. */
  readonly owner: readonly number[];
  readonly lookaheadMs: number;
  /** The shared control block (Control). */
  readonly control: SharedArrayBuffer;
  /** A port to every other thread (null at this thread's own number). */
  readonly ports: ReadonlyArray<MessagePort | null>;
}

/**
 * The shared control block: an abort flag, a counter of the batches each thread has posted to
 * each other one (a thread waits on every sender's own counter: one fast sender's next batch
 * must not stand in for a slow sender's current one), and each thread's progress figures.
 */
export class Control {
  readonly flags: Int32Array;
  /** Per thread: [simulated ms, published, kernel events]. */
  readonly progress: Float64Array;
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly workers: number,
  ) {
    this.flags = new Int32Array(buffer, 0, 1 + workers * workers);
    this.progress = new Float64Array(buffer, Control.intBytes(workers), 3 * workers);
  }

  /** Tells every thread to stop: each throws at its next wait. */
  abort(): void {
    Atomics.store(this.flags, 0, 1);
    for (let i = 1; i < this.flags.length; i++) Atomics.notify(this.flags, i);
  }

  /** The flags cell counting batches from thread `from` to thread `to`. */
  cell(from: number, to: number): number {
    return 1 + to * this.workers + from;
  }

  private static intBytes(workers: number): number {
    return Math.ceil(((1 + workers * workers) * 4) / 8) * 8;
  }

  static create(workers: number): Control {
    return new Control(new SharedArrayBuffer(Control.intBytes(workers) + 3 * workers * 8), workers);
  }
}

/**
 * One thread's frames for another in one window: meta = [h, n, then per frame (arrival ms,
 * direction, kernel key, the link's cuts when it left, byte length)], bytes = the frames back to back. h is the earliest event
 * the sender knows of: its own next one, or a frame it shipped [PAR-1].
 */
export interface Batch {
  readonly meta: Float64Array;
  readonly bytes: Uint8Array;
}

/** What a thread reports when its part of the run is over [PAR-3]. */
export interface ThreadPart {
  readonly me: number;
  /** The run's figures as this thread saw them: its brokers and the links they send on are its own. */
  readonly result: RunResult;
  readonly local: EncodedLatency;
  readonly cross: EncodedLatency;
  /** Each second's latency histograms (the series' percentiles). */
  readonly seconds: ReadonlyArray<{ readonly local: EncodedLatency; readonly cross: EncodedLatency }>;
  readonly decisionUs: readonly number[];
  readonly validationUs: readonly number[];
  /** Per broker it ran: the digest of its deliveries [TRACE-1]. */
  readonly traces: Readonly<Record<number, string>>;
  /** Per link direction it sends on: the bytes on the wire in each second. */
  readonly perSecondBytes: Readonly<Record<number, readonly number[]>>;
  /** Kernel events it ran that no other thread ran too. */
  readonly kernelEvents: number;
  readonly windows: number;
  /** Wall clock (ms since the epoch, performance.timeOrigin + now): traffic began (simulated 0), simulation ended (before the figures were gathered). */
  readonly trafficAt: number;
  readonly endedAt: number;
}

/** Messages to the main thread. */
/** `refused`: the run met something a parallel run cannot model (one line for the user) [PAR-4]. */
export type ThreadMessage = { readonly type: 'done'; readonly part: ThreadPart } | { readonly type: 'refused'; readonly message: string };
