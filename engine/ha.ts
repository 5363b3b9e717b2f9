/**
 * HA pairs [HA-1..2] (seed 002, "Regional Broker Node Crash"): a backup broker in the primary's
 * region watches it through keep-alives and takes over its anycast address when it goes silent.
 *
 * [HA-1] The primary sends a KeepAlive frame to its backup every keepaliveMs (broker.ts).
 * [HA-2] The standby declares the primary dead when nothing arrived for takeoverMs, and asks its
 *        host to take the address over: the host then boots a broker with the primary's id and
 *        durable store on the backup, and the primary's clients reconnect and re-subscribe.
 */
import { decodeFrame } from './codec/index.ts';
import { FrameKind } from './frames.ts';
import { UsageError, type BrokerId, type Millis } from './types.ts';

export interface StandbyHost {
  setTimer(atMs: Millis): void;
  /** The primary missed its deadline: take its address over now. */
  takeover(now: Millis, lastHeardMs: Millis): void;
}

export class Standby {
  private lastHeardMs: Millis;
  private active = true;
  keepalivesReceived = 0;

  constructor(
    readonly primary: BrokerId,
    readonly takeoverMs: Millis,
    private readonly host: StandbyHost,
    now: Millis,
  ) {
    if (!(takeoverMs > 0)) throw new UsageError(`takeoverMs must be > 0, got ${takeoverMs}`);
    // Until the first keep-alive, the deadline runs from when the standby started watching.
    this.lastHeardMs = now;
    host.setTimer(now + takeoverMs);
  }

  /** Bytes from the primary's side of the pair. Anything but a KeepAlive from it is ignored. */
  handleFrame(now: Millis, bytes: Uint8Array): void {
    if (!this.active) return;
    const d = decodeFrame(bytes);
    if (!d.ok || d.frame.kind !== FrameKind.KeepAlive || d.frame.from !== this.primary) return;
    this.keepalivesReceived++;
    this.lastHeardMs = now;
    this.host.setTimer(now + this.takeoverMs);
  }

  handleTimeout(now: Millis): void {
    if (!this.active || now < this.lastHeardMs + this.takeoverMs) return;
    this.active = false;
    this.host.takeover(now, this.lastHeardMs);
  }

  get watching(): boolean {
    return this.active;
  }
}
