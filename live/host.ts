/**
 * The engine's second host [LIVE-1]: one broker on the wall clock and real sockets, run by the
 * same driver the simulator uses (engine/host/driver.ts). A frame to send is written to the
 * neighbor's socket as the codec's bytes (already length-prefixed); bytes from a socket go
 * through a stream decoder to `handleDecoded`; a socket that closes is `handleLinkDown` at once
 * [LINK-1], one that is attached is `handleLinkUp` [LINK-2]; the broker's one timer is a
 * `setTimeout` on the wall clock. Who dials whom, certificates and backoff are the mesh link
 * layer's (live/mesh/); this file only joins a broker to the sockets it is given.
 *
 * [DUR-2] With a disk store, an Ack frame or a guaranteed data frame leaves only once the store
 * has synced what was written before it (a batch waits for one fsync; other frames never wait).
 * An Ack promises custody. A guaranteed frame carries the sequence number its origin gave it:
 * sent before that number was on disk, a crash would let the restarted origin give the same
 * number to another event, which the destination would discard as a duplicate (the simulator,
 * whose durable state is its memory, cannot lose a number this way; a disk can).
 * [LIVE-3] A connection's write buffer is bounded: past `writeBufferBytes` queued, a realtime
 * data frame is dropped and counted (cause queueFull, as the simulator names a full link queue)
 * and a guaranteed one is not written but stays in the sender's custody, sent again on the
 * engine's retransmission timeout; control frames (hellos, adverts, acks) always go.
 */
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { BrokerConfig, BrokerEvent, DropCause, LocalSubscription } from '../engine/broker.ts';
import type { Broker } from '../engine/broker.ts';
import { FrameDecoder, frameKindOf } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import type { DurableState } from '../engine/durable.ts';
import { BrokerDriver } from '../engine/host/driver.ts';
import type { BrokerId, Envelope } from '../engine/types.ts';

/** What the host's owner hears about: deliveries (the edge's job) and the broker's events. */
export interface LiveHostEvents {
  deliver?(sub: LocalSubscription, env: Envelope, guaranteed: boolean): void;
  event?(e: BrokerEvent): void;
}

/** Milliseconds on a monotonic wall clock. */
export type Clock = () => number;

/** Epoch milliseconds with sub-millisecond resolution, monotonic within the process. */
export const epochClock: Clock = () => performance.timeOrigin + performance.now();

/** A disk store's view for the host [DUR-2]: whether writes wait for a sync, and when they are synced. */
export interface SyncedStore {
  readonly pending: boolean;
  durable(): Promise<void>;
}

export interface LiveHostOptions {
  /** Default `epochClock`: the times a broker writes to its store (the ledger's) keep their meaning across a restart. */
  readonly clock?: Clock;
  /** The state a restart recovered from disk (engine/store.ts), its store attached; none: nothing to recover or write. */
  readonly durable?: DurableState;
  /** The store `durable` writes to: Ack frames wait until what was written before them is synced [DUR-2]. */
  readonly store?: SyncedStore;
  /** Bytes queued on one connection before realtime data frames are refused [LIVE-3] (default 8 MiB). */
  readonly writeBufferBytes?: number;
}

/** Per neighbor, what crossed its connection, one direction each (bytes as on the wire: codec frames, length prefix included). */
export interface LinkCounters {
  dataBytesOut: number;
  controlBytesOut: number;
  dataFramesOut: number;
  controlFramesOut: number;
  dataBytesIn: number;
  controlBytesIn: number;
  dataFramesIn: number;
  controlFramesIn: number;
  /** Realtime data frames not written because the connection's buffer was full (cause queueFull) [LIVE-3]. */
  refusedRealtime: number;
  /** Guaranteed frames not written because the buffer was full: still in custody, sent again on the engine's timeout. */
  deferredGuaranteed: number;
  /** Frames written while no connection existed (lost as on a cut link). */
  unconnected: number;
  /** Times a connection to it was established. */
  connects: number;
}

function newLinkCounters(): LinkCounters {
  return {
    dataBytesOut: 0,
    controlBytesOut: 0,
    dataFramesOut: 0,
    controlFramesOut: 0,
    dataBytesIn: 0,
    controlBytesIn: 0,
    dataFramesIn: 0,
    controlFramesIn: 0,
    refusedRealtime: 0,
    deferredGuaranteed: 0,
    unconnected: 0,
    connects: 0,
  };
}

const isData = (kind: FrameKind | undefined): boolean => kind === FrameKind.Data || kind === FrameKind.Guaranteed;

export class LiveHost {
  readonly driver: BrokerDriver;
  readonly broker: Broker;
  readonly #sockets = new Map<BrokerId, Duplex>();
  /** [DUR-2] Ack and guaranteed frames waiting for the store to sync what came before them, in send order. */
  #held: Array<{ readonly to: BrokerId; readonly bytes: Uint8Array }> = [];
  /** Frames held per neighbor (a later one to it waits behind them). */
  readonly #heldTo = new Map<BrokerId, number>();
  #syncing = false;
  readonly #clock: Clock;
  readonly #store: SyncedStore | undefined;
  readonly #writeBufferBytes: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Copies the engine dropped, by cause (the same causes the simulator's reports name), and the host's own queueFull. */
  readonly drops: Record<DropCause | 'queueFull', number> = { noRoute: 0, loop: 0, hopLimit: 0, slowConsumer: 0, spoolFull: 0, denied: 0, queueFull: 0 };
  /** Neighbors disconnected for breaking the protocol, with why. */
  readonly disconnects: Array<{ readonly neighbor: BrokerId; readonly reason: string }> = [];
  /** Per neighbor, the traffic on its connections. */
  readonly links = new Map<BrokerId, LinkCounters>();

  constructor(
    config: BrokerConfig,
    private readonly on: LiveHostEvents = {},
    options: LiveHostOptions = {},
  ) {
    this.#clock = options.clock ?? epochClock;
    this.#store = options.store;
    this.#writeBufferBytes = options.writeBufferBytes ?? 8 * 1024 * 1024;
    for (const n of config.neighbors) this.links.set(n.id, newLinkCounters());
    this.driver = new BrokerDriver(
      {
        send: (to, bytes) => this.#send(to, bytes),
        keepalive: () => {},
        disconnect: (neighbor, reason) => {
          this.disconnects.push({ neighbor, reason });
          this.#sockets.get(neighbor)?.destroy();
        },
        deliver: (sub, env, _now, guaranteed) => this.on.deliver?.(sub, env, guaranteed),
        emit: (e) => this.on.event?.(e),
        drop: (cause) => {
          this.drops[cause]++;
        },
      },
      {
        schedule: (atMs) => this.#schedule(atMs),
      },
    );
    this.broker = this.driver.boot(config, options.durable);
  }

  now(): number {
    return this.#clock();
  }

  /**
   * [HOST-2] One wall-clock timer for the broker. Node's timers count whole milliseconds on the
   * loop's cached clock, so one can fire a fraction of a millisecond before `atMs` by this
   * host's clock; the driver ignores a firing before the time asked for, so an early one is
   * re-armed for the remainder rather than lost.
   */
  #schedule(atMs: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const now = this.now();
        if (now < atMs) this.#schedule(atMs);
        else this.driver.handleTimer(now);
      },
      Math.max(0, Math.ceil(atMs - this.now())),
    );
  }

  start(): void {
    this.broker.start(this.now());
  }

  #counters(peer: BrokerId): LinkCounters {
    let c = this.links.get(peer);
    if (c === undefined) this.links.set(peer, (c = newLinkCounters()));
    return c;
  }

  #send(to: BrokerId, bytes: Uint8Array): void {
    const kind = frameKindOf(bytes);
    if ((kind === FrameKind.Ack || kind === FrameKind.Guaranteed) && this.#store !== undefined && (this.#store.pending || (this.#heldTo.get(to) ?? 0) > 0)) {
      // [DUR-2] it promises what the store holds: it leaves once that is on disk.
      this.#held.push({ to, bytes });
      this.#heldTo.set(to, (this.#heldTo.get(to) ?? 0) + 1);
      this.#sync();
      return;
    }
    this.#write(to, bytes, kind);
  }

  /**
   * One sync at a time: it starts after the current input (so it covers everything that input
   * wrote) and releases the frames held before it started; frames held meanwhile wait for the next.
   */
  #sync(): void {
    const store = this.#store;
    if (this.#syncing || store === undefined) return;
    this.#syncing = true;
    queueMicrotask(() => {
      const upTo = this.#held.length;
      store.durable().then(
        () => {
          const ready = this.#held.slice(0, upTo);
          this.#held = this.#held.slice(upTo);
          for (const f of ready) {
            this.#heldTo.set(f.to, (this.#heldTo.get(f.to) ?? 1) - 1);
            this.#write(f.to, f.bytes, frameKindOf(f.bytes));
          }
          this.#syncing = false;
          if (this.#held.length > 0) this.#sync();
        },
        () => {
          // A store that cannot sync promises nothing more: the senders keep custody.
          this.#held = [];
          this.#heldTo.clear();
        },
      );
    });
  }

  #write(to: BrokerId, bytes: Uint8Array, kind: FrameKind | undefined): void {
    const c = this.#counters(to);
    const socket = this.#sockets.get(to);
    if (socket === undefined) {
      // No connection: lost as on a cut link (the engine's reliability and dead interval deal with it).
      c.unconnected++;
      return;
    }
    if (isData(kind) && socket.writableLength > this.#writeBufferBytes) {
      // [LIVE-3] A full connection takes no more data: realtime is dropped (named, counted),
      // guaranteed stays in the sender's custody and goes again on the engine's timeout.
      if (kind === FrameKind.Data) {
        c.refusedRealtime++;
        this.drops.queueFull++;
      } else c.deferredGuaranteed++;
      return;
    }
    if (isData(kind)) {
      c.dataBytesOut += bytes.length;
      c.dataFramesOut++;
    } else {
      c.controlBytesOut += bytes.length;
      c.controlFramesOut++;
    }
    socket.write(bytes);
  }

  /**
   * Joins an authenticated connection to neighbor `peer`. One that replaces an older connection
   * (a reconnecting peer, or the tie-break between two dials) is a link-down then a link-up, so
   * what the old one carried unacknowledged is sent again. Frames flow until it closes.
   */
  attach(peer: BrokerId, socket: Duplex): void {
    const old = this.#sockets.get(peer);
    this.#sockets.set(peer, socket);
    if (old !== undefined && old !== socket) {
      old.destroy();
      this.driver.handleLinkDown(this.now(), peer);
    }
    const c = this.#counters(peer);
    c.connects++;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      if (this.#sockets.get(peer) !== socket) return;
      decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      for (let r = decoder.poll(); r !== undefined; r = r.ok ? decoder.poll() : undefined) {
        if (r.ok) {
          if (isData(r.frame.kind)) {
            c.dataBytesIn += r.bytes.length;
            c.dataFramesIn++;
          } else {
            c.controlBytesIn += r.bytes.length;
            c.controlFramesIn++;
          }
        }
        this.driver.handleDecoded(this.now(), peer, r);
      }
    });
    const closed = (): void => {
      if (this.#sockets.get(peer) !== socket) return;
      this.#sockets.delete(peer);
      this.driver.handleLinkDown(this.now(), peer);
    };
    socket.on('close', closed);
    socket.on('error', () => socket.destroy());
    this.driver.handleLinkUp(this.now(), peer);
  }

  /** Whether neighbor `peer` has a connection now. */
  isConnected(peer: BrokerId): boolean {
    return this.#sockets.has(peer);
  }

  /** Bytes queued on the connection to `peer` (0 without one). */
  queuedBytes(peer: BrokerId): number {
    return this.#sockets.get(peer)?.writableLength ?? 0;
  }

  /** Neighbors with a connection now. */
  connected(): BrokerId[] {
    return [...this.#sockets.keys()];
  }

  /** Stops the broker's timer and closes every connection (the broker takes no more input). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.driver.stop();
    for (const s of this.#sockets.values()) s.destroy();
    this.#sockets.clear();
  }
}
