/**
 * One driver for every host [HOST-1] (DESIGN.md: "One host driver serves every host"): the
 * simulator (sim/mesh.ts), the test harness (test/harness.ts) and the live broker all run a
 * broker through a `BrokerDriver`. The driver owns the loop every host needs: an input goes in
 * (a frame, a timer, a link event), the broker's effects come out, and the one timer it asks for
 * is re-armed, with stale timers ignored. What an effect *means* — a kernel event at
 * `now + delay`, or bytes on a socket — is the host's `HostEffects`; when time passes is its
 * `TimerService`. Nothing here does I/O or reads a clock: a live host imports it as it is.
 *
 * [HOST-2] A timer request replaces the previous one, and hosts need not cancel: the driver
 * remembers the time last asked for and ignores a firing before it (an earlier request
 * superseded by a later one) or after the broker went down. A request for a time already past
 * fires at once (the host calls back at its `now`, which is later than the request).
 */
import { Broker } from '../broker/broker.ts';
import type { BrokerConfig, BrokerEvent, BrokerHost, DropCause } from '../broker/types.ts';
import type { StreamResult } from '../codec/index.ts';
import type { DurableState } from '../durable.ts';
import type { LocalSubscription } from '../interest.ts';
import type { BrokerId, Envelope, Millis } from '../types.ts';

/** When the host's time passes: it calls `BrokerDriver.handleTimer(now)` at (or after) `atMs`. */
export interface TimerService {
  /** Arrange one call of `handleTimer` at `atMs` (at once if that is past). No cancel is needed [HOST-2]. */
  schedule(atMs: Millis): void;
}

/** What the broker's effects mean to this host: `BrokerHost` without the timer, which the driver owns. */
export type HostEffects = Omit<BrokerHost, 'setTimer'>;

export class BrokerDriver implements BrokerHost {
  #broker: Broker | undefined;
  #alive = false;
  /** The time of the one timer the broker asked for (NaN: none). */
  #timerAt = NaN;

  constructor(
    private readonly effects: HostEffects,
    private readonly timers: TimerService,
  ) {}

  /**
   * Creates a broker (a first boot, or a restart on the same durable state) driven by this
   * driver; the caller starts it (`broker.start(now)`) once its own bookkeeping is ready.
   */
  boot(config: BrokerConfig, durable?: DurableState): Broker {
    this.#timerAt = NaN;
    this.#broker = new Broker(config, this, durable);
    this.#alive = true;
    return this.#broker;
  }

  /** The broker is down (a crash): inputs and timers no longer reach it. */
  stop(): void {
    this.#alive = false;
    this.#timerAt = NaN;
  }

  /** The broker last booted (still readable after a crash, for its counters). Throws before the first boot. */
  get broker(): Broker {
    if (this.#broker === undefined) throw new Error('BrokerDriver: no broker booted yet');
    return this.#broker;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** The time the broker's timer is armed for (NaN: none). */
  get timerAt(): Millis {
    return this.#timerAt;
  }

  // ---- inputs (each ignored while the broker is down) ---------------------------------------

  /** One encoded frame from neighbor `from`. */
  handleFrame(now: Millis, from: BrokerId, bytes: Uint8Array): void {
    if (this.#alive) (this.#broker as Broker).handleFrame(now, from, bytes);
  }

  /**
   * What a stream decoder (`FrameDecoder.poll`) yielded for neighbor `from`'s connection: a frame
   * with its bytes, or the error that ends the stream (the broker asks to disconnect).
   */
  handleDecoded(now: Millis, from: BrokerId, result: StreamResult): void {
    if (!this.#alive) return;
    if (result.ok) (this.#broker as Broker).handleDecodedFrame(now, from, result.frame, result.bytes);
    else (this.#broker as Broker).handleUndecodable(now, from, result.error);
  }

  /** [LINK-1] The connection to `neighbor` closed. */
  handleLinkDown(now: Millis, neighbor: BrokerId): void {
    if (this.#alive) (this.#broker as Broker).handleLinkDown(now, neighbor);
  }

  /** [LINK-2] A connection to `neighbor` is established. */
  handleLinkUp(now: Millis, neighbor: BrokerId): void {
    if (this.#alive) (this.#broker as Broker).handleLinkUp(now, neighbor);
  }

  /** The host's timer fired [HOST-2]. */
  handleTimer(now: Millis): void {
    if (!this.#alive || !(now >= this.#timerAt)) return;
    this.#timerAt = NaN;
    (this.#broker as Broker).handleTimeout(now);
  }

  // ---- BrokerHost: the broker's effects -----------------------------------------------------

  send(to: BrokerId, bytes: Uint8Array): void {
    this.effects.send(to, bytes);
  }

  keepalive(backup: BrokerId, bytes: Uint8Array): void {
    this.effects.keepalive(backup, bytes);
  }

  disconnect(neighbor: BrokerId, reason: string): void {
    this.effects.disconnect(neighbor, reason);
  }

  deliver(sub: LocalSubscription, env: Envelope, now: Millis, guaranteed: boolean): void {
    this.effects.deliver(sub, env, now, guaranteed);
  }

  emit(event: BrokerEvent): void {
    this.effects.emit(event);
  }

  drop(cause: DropCause, env: Envelope, dests: readonly BrokerId[] | null, sub: LocalSubscription | null): void {
    this.effects.drop(cause, env, dests, sub);
  }

  setTimer(atMs: Millis): void {
    this.#timerAt = atMs;
    this.timers.schedule(atMs);
  }
}
