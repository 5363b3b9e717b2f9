/**
 * The engine's second host [LIVE-1]: one broker on the wall clock and real sockets, run by the
 * same driver the simulator uses (engine/host/driver.ts). A frame to send is written to the
 * neighbor's socket as the codec's bytes (already length-prefixed); bytes from a socket go
 * through a stream decoder to `handleDecoded`; a socket that closes is `handleLinkDown` at once
 * [LINK-1], one that is attached is `handleLinkUp` [LINK-2]; the broker's one timer is a
 * `setTimeout` on the wall clock. Who dials whom, certificates and backoff are the mesh link
 * layer's (live/mesh/); this file only joins a broker to the sockets it is given.
 */
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { BrokerConfig, BrokerEvent, DropCause, LocalSubscription } from '../engine/broker.ts';
import type { Broker } from '../engine/broker.ts';
import { FrameDecoder } from '../engine/codec/index.ts';
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

export class LiveHost {
  readonly driver: BrokerDriver;
  readonly broker: Broker;
  readonly #sockets = new Map<BrokerId, Duplex>();
  readonly #clock: Clock;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Copies the engine dropped, by cause (the same causes the simulator's reports name). */
  readonly drops: Record<DropCause, number> = { noRoute: 0, loop: 0, hopLimit: 0, slowConsumer: 0, spoolFull: 0 };
  /** Neighbors disconnected for breaking the protocol, with why. */
  readonly disconnects: Array<{ readonly neighbor: BrokerId; readonly reason: string }> = [];

  /**
   * `durable`: the state a restart recovered from disk (engine/store.ts), with its store attached;
   * none: a first boot with nothing to recover (and nothing written). `clock`: milliseconds on a
   * monotonic clock; by default epoch milliseconds (performance.timeOrigin + now), so the times a
   * broker writes to its store (the dedup ledger's) still mean the same after a restart.
   */
  constructor(
    config: BrokerConfig,
    private readonly on: LiveHostEvents = {},
    clock?: Clock,
    durable?: DurableState,
  ) {
    this.#clock = clock ?? epochClock;
    this.driver = new BrokerDriver(
      {
        send: (to, bytes) => {
          // A neighbor without a connection: the frame is lost as on a cut link (the engine's
          // reliability and the dead interval deal with it, as they do in the simulator).
          this.#sockets.get(to)?.write(bytes);
        },
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
        schedule: (atMs) => {
          if (this.#stopped) return;
          if (this.#timer !== undefined) clearTimeout(this.#timer);
          this.#timer = setTimeout(
            () => {
              this.#timer = undefined;
              this.driver.handleTimer(this.now());
            },
            Math.max(0, atMs - this.now()),
          );
        },
      },
    );
    this.broker = this.driver.boot(config, durable);
  }

  now(): number {
    return this.#clock();
  }

  start(): void {
    this.broker.start(this.now());
  }

  /**
   * Joins an authenticated connection to neighbor `peer` (replacing an older one: a reconnecting
   * peer's new connection wins). Frames flow both ways until it closes.
   */
  attach(peer: BrokerId, socket: Duplex): void {
    const old = this.#sockets.get(peer);
    this.#sockets.set(peer, socket);
    if (old !== undefined && old !== socket) old.destroy();
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      if (this.#sockets.get(peer) !== socket) return;
      decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      for (let r = decoder.poll(); r !== undefined; r = r.ok ? decoder.poll() : undefined) this.driver.handleDecoded(this.now(), peer, r);
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
