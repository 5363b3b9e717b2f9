/**
 * A userspace WAN link between two brokers [SHAPE-1..5] (this kernel has no netem): a TCP relay
 * on 127.0.0.1 that passes bytes both ways to its target and, per direction, makes them behave
 * as a scenario's link says. It never reads what it carries: TLS passes end to end.
 *
 * [SHAPE-1] Delay and bandwidth: each chunk read from one side is serialized at the link's
 *           bandwidth behind the chunks before it (a FIFO transmitter: departure = max(arrival,
 *           previous departure) + bytes × 8 / bandwidth), then delivered one-way delay later
 *           (RTT/2 plus a uniform jitter in [0, jitter]); deliveries never overtake each other, so
 *           the byte stream keeps its order, as TCP does.
 * [SHAPE-2] A bounded queue: a real link's queue drops and TCP slows its sender; a relay cannot
 *           drop bytes out of a stream without corrupting it, so when a direction holds more than
 *           `queueBytes` it stops reading its source (TCP's flow control slows the sender, which
 *           is what the drops would have done) until the backlog falls under half.
 * [SHAPE-3] Loss: on a TCP stream a lost segment is sent again after a retransmission timeout and
 *           everything behind it waits (head-of-line blocking); so with probability `loss` a
 *           chunk is delivered `rtoMs` late (default max(200 ms, 2 × RTT), Linux's floor), and
 *           later chunks wait behind it. The application sees a stall, never a hole.
 * [SHAPE-4] `blackhole()`: bytes stop moving both ways (held, bounded as above) while the
 *           connections stay open: a silent cut, found by the brokers' dead interval. `cut()`
 *           closes every connection and refuses new ones: a cut both ends see at once. `heal()`
 *           undoes either (held bytes then flow on).
 * [SHAPE-5] Randomness (jitter, loss) comes from one seeded PRNG per shaper.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import seedrandom from 'seedrandom';
import type { LinkSpec } from '../scenarios/types.ts';

export interface LinkShape {
  /** One-way delay (RTT / 2). */
  readonly delayMs: number;
  /** Extra one-way delay, uniform in [0, jitterMs]. */
  readonly jitterMs: number;
  /** Bits per second; Infinity: no pacing. */
  readonly bandwidthBps: number;
  /** Probability that a chunk is delivered a retransmission timeout late [SHAPE-3]. */
  readonly loss: number;
  /** Bytes a direction holds before it stops reading its source [SHAPE-2]. */
  readonly queueBytes: number;
  /** The stall a loss costs; default max(200, 4 × delayMs). */
  readonly rtoMs?: number;
}

/**
 * A scenario link's shape, per direction: one-way delay RTT/2, its jitter, bandwidth and queue.
 * Loss differs in kind: the simulator loses a data frame outright (guaranteed ones are sent
 * again); on a TCP stream a loss is a retransmission-timeout stall [SHAPE-3], never a hole.
 */
export function shapeOf(link: LinkSpec): LinkShape {
  return { delayMs: link.rttMs / 2, jitterMs: link.jitterMs, bandwidthBps: link.bandwidthBps, loss: link.loss, queueBytes: link.queueBytes };
}

/** No shaping: bytes pass as they come. */
export const PASS_THROUGH: LinkShape = { delayMs: 0, jitterMs: 0, bandwidthBps: Infinity, loss: 0, queueBytes: 16 * 1024 * 1024 };

/** What one direction did. */
export interface DirectionCounters {
  bytes: number;
  chunks: number;
  /** Chunks delivered a retransmission timeout late [SHAPE-3]. */
  losses: number;
  /** Bytes held now (read, not yet delivered), and the most ever held. */
  queuedBytes: number;
  peakQueuedBytes: number;
  /** Times the source was paused for a full queue [SHAPE-2]. */
  pauses: number;
}

const newCounters = (): DirectionCounters => ({ bytes: 0, chunks: 0, losses: 0, queuedBytes: 0, peakQueuedBytes: 0, pauses: 0 });

/** One direction of one relayed connection: a FIFO of chunks with their delivery times. */
class Direction {
  readonly #queue: Array<{ readonly at: number; readonly chunk: Buffer }> = [];
  #txFreeAt = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #paused = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly shaper: LinkShaper,
    private readonly c: DirectionCounters,
  ) {
    from.on('data', (chunk: Buffer) => this.#take(chunk));
  }

  #take(chunk: Buffer): void {
    const s = this.shaper.shape;
    const now = performance.now();
    const txMs = Number.isFinite(s.bandwidthBps) ? (chunk.length * 8 * 1000) / s.bandwidthBps : 0;
    this.#txFreeAt = Math.max(now, this.#txFreeAt) + txMs;
    let at = this.#txFreeAt + s.delayMs + (s.jitterMs > 0 ? this.shaper.random() * s.jitterMs : 0);
    if (s.loss > 0 && this.shaper.random() < s.loss) {
      at += s.rtoMs ?? Math.max(200, 4 * s.delayMs);
      this.c.losses++;
    }
    at = Math.max(at, this.#lastAt);
    this.#lastAt = at;
    this.#queue.push({ at, chunk });
    this.c.chunks++;
    this.c.queuedBytes += chunk.length;
    if (this.c.queuedBytes > this.c.peakQueuedBytes) this.c.peakQueuedBytes = this.c.queuedBytes;
    if (this.c.queuedBytes > s.queueBytes && !this.#paused) {
      this.#paused = true;
      this.c.pauses++;
      this.from.pause();
    }
    this.pump();
  }

  /** Delivers what is due (nothing while the link is a blackhole), and arms a timer for the rest. */
  pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.shaper.holding) return;
    const now = performance.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { at: number }).at <= now) {
      const { chunk } = this.#queue.shift() as { at: number; chunk: Buffer };
      this.c.queuedBytes -= chunk.length;
      this.c.bytes += chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.#paused && this.c.queuedBytes <= this.shaper.shape.queueBytes / 2) {
      this.#paused = false;
      this.from.resume();
    }
    const head = this.#queue[0];
    if (head !== undefined) this.#timer = setTimeout(() => this.pump(), Math.max(1, Math.ceil(head.at - now)));
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.c.queuedBytes -= this.#queue.reduce((n, q) => n + q.chunk.length, 0);
    this.#queue.length = 0;
  }
}

export class LinkShaper {
  shape: LinkShape;
  #server: Server | undefined;
  #cut = false;
  #holding = false;
  readonly #sockets = new Set<Socket>();
  readonly #directions = new Set<Direction>();
  readonly #rng: () => number;
  /** Client → target, and target → client, summed over connections. */
  readonly forward = newCounters();
  readonly backward = newCounters();
  accepted = 0;
  refused = 0;
  port = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
    shape: LinkShape = PASS_THROUGH,
    seed: string | number = 1,
  ) {
    this.shape = shape;
    this.#rng = seedrandom(String(seed));
  }

  /** The shaper's PRNG [SHAPE-5]. */
  random(): number {
    return this.#rng();
  }

  /** True while bytes are held (a blackhole). */
  get holding(): boolean {
    return this.#holding;
  }

  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.port = a !== null && typeof a === 'object' ? a.port : port;
    return this.port;
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      this.refused++;
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const dirs = [new Direction(client, upstream, this, this.forward), new Direction(upstream, client, this, this.backward)];
    for (const d of dirs) this.#directions.add(d);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      for (const d of dirs) {
        d.stop();
        this.#directions.delete(d);
      }
    };
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => {
        this.#sockets.delete(s);
        end();
      });
      s.on('error', end);
    }
  }

  /** [SHAPE-1..3] A new shape from now on (a `degrade` fault); bytes already scheduled keep their times. */
  reshape(shape: Partial<LinkShape>): void {
    this.shape = { ...this.shape, ...shape };
  }

  /** [SHAPE-4] Bytes stop moving; connections stay open (a silent cut). */
  blackhole(): void {
    this.#holding = true;
  }

  /** [SHAPE-4] Closes every connection and refuses new ones (a cut both ends see). */
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  /** Undoes `blackhole()` and `cut()`: held bytes flow on, connections are accepted again. */
  heal(): void {
    this.#cut = false;
    this.#holding = false;
    for (const d of this.#directions) d.pump();
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((done) => server.close(() => done()));
  }
}
