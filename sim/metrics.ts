/**
 * What a run measures on the way: delivery latency (HDR histograms, microseconds, weighted by
 * subscriber count), the trace digest, duplicate deliveries and per-second series.
 *
 * [TRACE-1] traceHash is SHA-256 over the brokers' delivery digests in broker order; a broker's
 *           digest is SHA-256 over its delivery log: for each delivery, in kernel order, (delivery
 *           time, subscription id, publish time, subscriber count) as float64s. Same scenario
 *           and seed → same logs → same hash, on one thread or split over several (each broker's
 *           events run in the same order either way [KERNEL-1]).
 */
import { createHash, type Hash } from 'node:crypto';
import * as hdr from 'hdr-histogram-js';

/** Latency figures in ms, the report contract's block. */
export interface LatencyBlock {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** A latency histogram on its way to another thread [PAR-3]. */
export interface EncodedLatency {
  readonly hdr: string;
  /** Its exact maximum, µs (0: empty). */
  readonly max: number;
}

export class LatencyRecorder {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64, autoResize: true });

  /** Records `count` deliveries that took `ms`. */
  record(ms: number, count: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    this.h.recordValueWithCount(us, count);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /**
   * The histogram as another thread can add it (`absorb`) [PAR-3]: HDR's compressed encoding, and
   * the exact maximum (a decoded histogram knows only its bucket's).
   */
  encode(): EncodedLatency {
    return { hdr: hdr.encodeIntoCompressedBase64(this.h), max: this.h.totalCount === 0 ? 0 : this.h.maxValue };
  }

  /** Adds another recorder's counts (`encode` there): the same figures as one recorder of both. */
  absorb(e: EncodedLatency): void {
    this.h.add(hdr.decodeFromCompressedBase64(e.hdr, 64, false));
    this.maxExact = Math.max(this.maxExact, e.max);
  }

  /** Set by `absorb` (a merging recorder only absorbs): the largest exact maximum added. */
  private maxExact = 0;

  private get max(): number {
    return this.maxExact > 0 ? this.maxExact : this.h.maxValue;
  }

  block(): LatencyBlock {
    const h = this.h;
    if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0 };
    const max = this.max;
    // HDR reports a bucket's highest equivalent value; never above the true maximum.
    const ms = (us: number) => Math.round(Math.min(us, max)) / 1000;
    return {
      count: h.totalCount,
      mean: Math.round(h.mean) / 1000,
      p50: ms(h.getValueAtPercentile(50)),
      p99: ms(h.getValueAtPercentile(99)),
      p999: ms(h.getValueAtPercentile(99.9)),
      max: ms(max),
    };
  }

  /** Percentile in ms (for time series). */
  percentile(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p) / 1000;
  }

  reset(): void {
    this.maxExact = 0;
    this.h.reset();
  }
}

/** [TRACE-1] Batches delivery records into a buffer and feeds SHA-256 a block at a time. */
export class TraceDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly buf = new Float64Array(4 * 4096);
  private used = 0;
  entries = 0;

  add(atMs: number, subId: number, publishedAtMs: number, count: number): void {
    const b = this.buf;
    let u = this.used;
    b[u++] = atMs;
    b[u++] = subId;
    b[u++] = publishedAtMs;
    b[u++] = count;
    this.entries++;
    if (u === b.length) {
      this.hash.update(new Uint8Array(b.buffer, 0, u * 8));
      u = 0;
    }
    this.used = u;
  }

  /** The digest; it ends the log (later calls return the same digest). */
  hex(): string {
    if (this.digest !== null) return this.digest;
    if (this.used > 0) this.hash.update(new Uint8Array(this.buf.buffer, 0, this.used * 8));
    this.used = 0;
    this.digest = this.hash.digest('hex');
    return this.digest;
  }

  private digest: string | null = null;
}

/**
 * Counts duplicate deliveries: an event that reaches the same broker a second time, as a
 * different arriving copy (a second frame off the wire), is delivered again to every subscriber
 * it matches there. Deliveries of one arriving copy to several populations share that copy's
 * arrival number, so they are not duplicates. (A number, not the envelope: holding envelopes
 * for the window kept their frames alive and cost 10–15% in GC on the seed scenario.) Remembered for at least `windowMs` in two
 * rotating generations per broker, so memory stays bounded; keys are the event ids themselves
 * (no string is built per delivery).
 */
export class DuplicateDetector {
  private readonly current: Array<Map<string, number>>;
  private readonly previous: Array<Map<string, number>>;
  /** Per broker: each rotates on its own deliveries, so no broker's figure depends on another's [PAR-1]. */
  private readonly rotateAt: Float64Array;
  duplicates = 0;

  constructor(
    brokers: number,
    private readonly windowMs: number,
    startMs: number,
  ) {
    this.current = Array.from({ length: brokers }, () => new Map());
    this.previous = Array.from({ length: brokers }, () => new Map());
    this.rotateAt = new Float64Array(brokers).fill(startMs + windowMs);
  }

  /** A delivery at broker `broker` of event `eventId` from arriving copy number `copy`, to `count` subscribers. */
  seen(now: number, broker: number, eventId: string, copy: number, count: number): void {
    if (now >= (this.rotateAt[broker] as number)) {
      this.previous[broker] = this.current[broker] as Map<string, number>;
      this.current[broker] = new Map();
      this.rotateAt[broker] = now + this.windowMs;
    }
    const cur = this.current[broker] as Map<string, number>;
    const first = cur.get(eventId) ?? (this.previous[broker] as Map<string, number>).get(eventId);
    if (first === undefined) cur.set(eventId, copy);
    else if (first !== copy) this.duplicates += count;
  }
}

/** Per-second series for charts: latency percentiles by second, local and cross-region. */
export class SecondSeries {
  readonly localP50: number[] = [];
  readonly localP99: number[] = [];
  readonly crossP50: number[] = [];
  readonly crossP99: number[] = [];
  readonly delivered: number[] = [];
  readonly published: number[] = [];
  readonly local = new LatencyRecorder();
  readonly cross = new LatencyRecorder();
  deliveredNow = 0;
  publishedNow = 0;
  /** Each second's histograms, kept when another thread adds them up (sim/parallel/) [PAR-3]. */
  readonly kept: Array<{ readonly local: EncodedLatency; readonly cross: EncodedLatency }> | null;

  constructor(keep = false) {
    this.kept = keep ? [] : null;
  }

  /** Closes the current second. */
  close(): void {
    this.kept?.push({ local: this.local.encode(), cross: this.cross.encode() });
    this.localP50.push(this.local.percentile(50));
    this.localP99.push(this.local.percentile(99));
    this.crossP50.push(this.cross.percentile(50));
    this.crossP99.push(this.cross.percentile(99));
    this.delivered.push(this.deliveredNow);
    this.published.push(this.publishedNow);
    this.local.reset();
    this.cross.reset();
    this.deliveredNow = 0;
    this.publishedNow = 0;
  }
}
