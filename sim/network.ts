/**
 * Virtual links. Each direction of a link is a FIFO with a serialization delay, so a link near
 * capacity queues like a real one:
 *
 *   departure = max(now, busyUntil) + wireBytes × 8 / bandwidthBps      (the sender's queue)
 *   arrival   = departure + rttMs / 2 + U(0, jitterMs), never before the previous arrival
 *
 * wireBytes = codec bytes + a documented per-frame transport overhead (ModelSpec). Arrivals stay
 * in order per direction (a TCP/TLS link does not reorder), so in-flight frames live in a ring
 * and a kernel event only says "the next frame on direction d has arrived".
 *
 * [NET-1] Loss applies to the data path only — realtime and guaranteed data frames and the acks
 *         of guaranteed frames: control frames (hellos, adverts, interest) ride the link's
 *         reliable stream, as they would over TCP. Lost frames still used the sender's bandwidth.
 *         A guaranteed frame or an ack that is lost makes the sender retry (engine/reliable.ts).
 * [NET-4] A link can be degraded for a while (loss, RTT, jitter, bandwidth) and restored.
 * [NET-2] A frame that would push the send queue past queueBytes is tail-dropped and counted.
 * [NET-3] A link that goes down loses what is on the wire; nothing passes until it is up again.
 */
import { frameKindOf } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import type { BrokerId } from '../engine/types.ts';
import type { Rng } from './rng.ts';

/** What a `degrade` fault can change on a link while it lasts. */
export interface LinkProps {
  rttMs: number;
  bandwidthBps: number;
  jitterMs: number;
  loss: number;
}

export interface DirectionSpec {
  readonly from: BrokerId;
  readonly to: BrokerId;
  readonly wan: boolean;
  readonly rttMs: number;
  readonly bandwidthBps: number;
  readonly jitterMs: number;
  readonly loss: number;
  readonly queueBytes: number;
  readonly overheadBytes: number;
  /** The measured window is [0, windowEndMs): bytes sent at or after its end are not counted. */
  readonly windowEndMs: number;
}

/** Counters for one direction of a link. Times in ms, from the measured window only. */
export class LinkDirection {
  up = true;
  bytes = 0;
  frames = 0;
  dataBytes = 0;
  dataFrames = 0;
  controlBytes = 0;
  controlFrames = 0;
  /** The same frames' bytes as the codec produced them (length prefix included, no transport overhead). */
  codecDataBytes = 0;
  codecControlBytes = 0;
  /** Bytes sent before traffic started (the warm-up's control plane). */
  warmupBytes = 0;
  /** Realtime data frames lost on the wire (gone for good). */
  droppedLoss = 0;
  /** Guaranteed frames and acks lost on the wire (the sender retries: not lost events). */
  droppedLossRetried = 0;
  droppedQueue = 0;
  droppedDown = 0;
  /** Why the last `transmit` that returned NaN lost its frame (read right after the call). */
  lastDrop: 'down' | 'queue' | 'loss' | 'lossRetried' = 'down';
  /** Longest time a frame waited in the send queue before its first bit left. */
  queueWaitMsMax = 0;
  queueWaitMsSum = 0;
  /** Bytes whose transmission started in second s of the measured window. */
  readonly perSecondBytes: number[] = [];
  private busyUntil = -Infinity;
  private lastArrival = -Infinity;
  // In-flight frames, FIFO: a ring of byte arrays.
  private ring: Array<Uint8Array | undefined> = new Array(64);
  private head = 0;
  private count = 0;
  /** Arrival events to ignore: frames lost on the wire when the link went down [NET-3]. */
  private skip = 0;
  /** Times the link was cut: a frame shipped to another thread carries the count it left under [PAR-2]. */
  cuts = 0;

  /** The properties in force now (the spec's, unless degraded [NET-4]). */
  readonly props: LinkProps;

  constructor(
    readonly index: number,
    readonly spec: DirectionSpec,
    private readonly rng: Rng,
    /** The mesh's numbers of the sending and the receiving broker. */
    readonly fromIndex = -1,
    readonly toIndex = -1,
  ) {
    this.props = { rttMs: spec.rttMs, bandwidthBps: spec.bandwidthBps, jitterMs: spec.jitterMs, loss: spec.loss };
  }

  /** [NET-4] Changes some properties (until `restore`). Frames already on the wire keep their times. */
  degrade(p: Partial<LinkProps>): void {
    if (p.rttMs !== undefined) this.props.rttMs = p.rttMs;
    if (p.bandwidthBps !== undefined) this.props.bandwidthBps = p.bandwidthBps;
    if (p.jitterMs !== undefined) this.props.jitterMs = p.jitterMs;
    if (p.loss !== undefined) this.props.loss = p.loss;
  }

  restore(): void {
    this.props.rttMs = this.spec.rttMs;
    this.props.bandwidthBps = this.spec.bandwidthBps;
    this.props.jitterMs = this.spec.jitterMs;
    this.props.loss = this.spec.loss;
  }

  /**
   * Offers a frame at `now`. Returns the arrival time, or NaN if the frame never arrives (lost,
   * queue full, link down); the caller schedules the arrival event. (Times before 0 are valid:
   * the warm-up runs at negative times.)
   */
  transmit(now: number, bytes: Uint8Array): number {
    // Data and acks are what the link loses (control frames ride a reliable channel in this model).
    const kind = frameKindOf(bytes);
    const isData = kind === FrameKind.Data || kind === FrameKind.Guaranteed;
    const lossy = isData || kind === FrameKind.Ack;
    if (!this.up) {
      this.droppedDown++;
      this.lastDrop = 'down';
      return NaN;
    }
    const s = this.spec;
    const p = this.props;
    const wire = bytes.length + s.overheadBytes;
    const start = now > this.busyUntil ? now : this.busyUntil;
    const waitMs = start - now;
    if (waitMs > 0 && (waitMs * p.bandwidthBps) / 8000 + wire > s.queueBytes) {
      this.droppedQueue++;
      this.lastDrop = 'queue';
      return NaN;
    }
    this.busyUntil = start + (wire * 8000) / p.bandwidthBps;
    if (now >= 0 && now < s.windowEndMs) {
      this.bytes += wire;
      this.frames++;
      if (isData) {
        this.dataBytes += wire;
        this.codecDataBytes += bytes.length;
        this.dataFrames++;
      } else {
        this.controlBytes += wire;
        this.codecControlBytes += bytes.length;
        this.controlFrames++;
      }
      const sec = Math.floor(start / 1000);
      while (this.perSecondBytes.length <= sec) this.perSecondBytes.push(0);
      this.perSecondBytes[sec] = (this.perSecondBytes[sec] as number) + wire;
      if (waitMs > this.queueWaitMsMax) this.queueWaitMsMax = waitMs;
      this.queueWaitMsSum += waitMs;
    } else if (now < 0) {
      this.warmupBytes += wire;
    }
    if (lossy && p.loss > 0 && this.rng.next() < p.loss) {
      if (kind === FrameKind.Data) {
        this.droppedLoss++;
        this.lastDrop = 'loss';
      } else {
        this.droppedLossRetried++;
        this.lastDrop = 'lossRetried';
      }
      return NaN;
    }
    let arrival = this.busyUntil + p.rttMs / 2;
    if (p.jitterMs > 0) arrival += this.rng.next() * p.jitterMs;
    if (arrival < this.lastArrival) arrival = this.lastArrival;
    this.lastArrival = arrival;
    this.push(bytes);
    return arrival;
  }

  /** The frame whose arrival event just fired, or undefined if it was lost when the link went down. */
  arrive(): Uint8Array | undefined {
    if (this.skip > 0) {
      this.skip--;
      return undefined;
    }
    const bytes = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return bytes;
  }

  /** Bytes waiting in the send queue at `now` (behind the frame being serialized). */
  queuedBytes(now: number): number {
    return now >= this.busyUntil ? 0 : ((this.busyUntil - now) * this.props.bandwidthBps) / 8000;
  }

  /** Frames sent and not yet arrived (queued or on the wire). */
  get inFlight(): number {
    return this.count;
  }

  /** Every frame on the wire or in the send queue, oldest first (read only). */
  forEachInFlight(visit: (bytes: Uint8Array) => void): void {
    for (let i = 0; i < this.count; i++) visit(this.ring[(this.head + i) % this.ring.length] as Uint8Array);
  }

  /** Cuts the link: frames on the wire are lost [NET-3]; `lost` sees each of them first. */
  setDown(lost?: (bytes: Uint8Array) => void): void {
    if (!this.up) return;
    this.up = false;
    this.cuts++;
    if (lost !== undefined) this.forEachInFlight(lost);
    this.droppedDown += this.count;
    this.skip += this.count;
    for (let i = 0; i < this.ring.length; i++) this.ring[i] = undefined;
    this.head = 0;
    this.count = 0;
  }

  setUp(): void {
    this.up = true;
  }

  private push(bytes: Uint8Array): void {
    if (this.count === this.ring.length) {
      const bigger: Array<Uint8Array | undefined> = new Array(this.ring.length * 2);
      for (let i = 0; i < this.count; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length];
      this.ring = bigger;
      this.head = 0;
    }
    this.ring[(this.head + this.count) % this.ring.length] = bytes;
    this.count++;
  }
}
