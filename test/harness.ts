/**
 * A test harness in the manner of quinn's `Pair`: N real brokers, a virtual clock, links with a
 * fixed one-way delay that can be cut, and `drive(ms)` to advance time. No bandwidth, loss or
 * jitter: those belong to the simulator's network, tested apart.
 */
import type { Broker, BrokerEvent, DropCause, LocalSubscription, PublishInput } from '../engine/broker.ts';
import { BrokerDriver, type HostEffects } from '../engine/host/driver.ts';
import { decodeFrame, frameKindOf } from '../engine/codec/index.ts';
import { FrameKind, type Frame } from '../engine/frames.ts';
import type { BrokerId, Envelope } from '../engine/types.ts';
import { Kernel } from '../sim/kernel.ts';

export interface HarnessLink {
  readonly a: BrokerId;
  readonly b: BrokerId;
  readonly delayMs: number;
  readonly cost?: number;
}

export interface Delivery {
  readonly at: number;
  readonly broker: BrokerId;
  readonly sub: LocalSubscription;
  readonly env: Envelope;
}

export interface SentFrame {
  readonly at: number;
  readonly from: BrokerId;
  readonly to: BrokerId;
  readonly kind: FrameKind;
  readonly bytes: Uint8Array;
}

export class Harness {
  readonly kernel = new Kernel(0);
  readonly brokers = new Map<BrokerId, Broker>();
  readonly deliveries: Delivery[] = [];
  readonly sent: SentFrame[] = [];
  readonly events: BrokerEvent[] = [];
  /** Copies the brokers dropped, with their cause [ACCT-1]. */
  readonly drops: Array<{
    readonly at: number;
    readonly broker: BrokerId;
    readonly cause: DropCause;
    readonly env: Envelope;
    readonly dests: readonly BrokerId[] | null;
    readonly sub: LocalSubscription | null;
  }> = [];
  /** [LINK-3] Disconnects the brokers asked for (the harness's links have no connection to close). */
  readonly disconnects: Array<{ readonly at: number; readonly broker: BrokerId; readonly neighbor: BrokerId; readonly reason: string }> = [];
  /** [HA-1] Keep-alives the brokers sent their backups (the harness has no standbys). */
  readonly keepalives: Array<{ readonly at: number; readonly from: BrokerId; readonly backup: BrokerId; readonly bytes: Uint8Array }> = [];
  private readonly cut = new Set<string>();
  private readonly delays = new Map<string, number>();
  /** Each broker's driver (engine/host/driver.ts): the same loop the simulator runs. */
  readonly drivers = new Map<BrokerId, BrokerDriver>();
  private readonly kArrive: number;
  private readonly kTimer: number;
  private seq = 0;

  constructor(
    ids: readonly BrokerId[],
    readonly links: readonly HarnessLink[],
    readonly opts: { helloIntervalMs?: number; deadIntervalMs?: number; hopLimit?: number } = {},
  ) {
    this.kArrive = this.kernel.register((now, _arg, ref: { from: BrokerId; to: BrokerId; bytes: Uint8Array }) => {
      if (this.cut.has(key(ref.from, ref.to))) return;
      (this.drivers.get(ref.to) as BrokerDriver).handleFrame(now, ref.from, ref.bytes);
    });
    this.kTimer = this.kernel.register((now, _arg, driver: BrokerDriver) => driver.handleTimer(now));
    for (const l of links) {
      this.delays.set(key(l.a, l.b), l.delayMs);
      this.delays.set(key(l.b, l.a), l.delayMs);
    }
    for (const id of ids) this.create(id);
  }

  /** Creates (or re-creates, after a crash) a broker; call start() to begin. */
  create(id: BrokerId): Broker {
    const neighbors = [];
    for (const l of this.links) {
      if (l.a === id) neighbors.push({ id: l.b, cost: l.cost ?? l.delayMs * 2 });
      if (l.b === id) neighbors.push({ id: l.a, cost: l.cost ?? l.delayMs * 2 });
    }
    const effects: HostEffects = {
      send: (to, bytes) => {
        const kind = frameKindOf(bytes) as FrameKind;
        const delay = this.delays.get(key(id, to));
        if (delay === undefined) throw new Error(`${id} sent to ${to}, which is not a neighbor`);
        this.sent.push({ at: this.kernel.now, from: id, to, kind, bytes });
        if (this.cut.has(key(id, to))) return;
        this.kernel.after(delay, this.kArrive, this.seq++, { from: id, to, bytes });
      },
      keepalive: (backup, bytes) => this.keepalives.push({ at: this.kernel.now, from: id, backup, bytes }),
      disconnect: (neighbor, reason) => this.disconnects.push({ at: this.kernel.now, broker: id, neighbor, reason }),
      deliver: (sub, env, now) => this.deliveries.push({ at: now, broker: id, sub, env }),
      emit: (e) => this.events.push(e),
      drop: (cause, env, dests, sub) => this.drops.push({ at: this.kernel.now, broker: id, cause, env, dests, sub }),
    };
    let driver = this.drivers.get(id);
    if (driver === undefined) {
      const d = new BrokerDriver(effects, { schedule: (at) => this.kernel.at(Math.max(at, this.kernel.now), this.kTimer, 0, d) });
      this.drivers.set(id, (driver = d));
    }
    const broker = driver.boot({ id, neighbors, helloIntervalMs: this.opts.helloIntervalMs ?? 100, deadIntervalMs: this.opts.deadIntervalMs ?? 400, hopLimit: this.opts.hopLimit ?? 16 });
    this.brokers.set(id, broker);
    return broker;
  }

  broker(id: BrokerId): Broker {
    const b = this.brokers.get(id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b;
  }

  startAll(): void {
    for (const b of this.brokers.values()) b.start(this.kernel.now);
  }

  /** Advances virtual time by `ms`, running everything due. */
  drive(ms: number): void {
    this.kernel.run(this.kernel.now + ms);
  }

  subscribe(id: BrokerId, pattern: string, filter: string | null = null, count = 1): LocalSubscription {
    return this.broker(id).subscribe(this.kernel.now, pattern, filter, count, `${id}:${pattern}`);
  }

  publish(id: BrokerId, topic: string, headers: Record<string, string | number | boolean> = {}, payload = new Uint8Array(100)): void {
    const input: PublishInput = { id: `e${this.seq++}`, source: '/test', type: 'test', topic, headers, payload, publishedAtMs: this.kernel.now };
    this.broker(id).handlePublish(this.kernel.now, input);
  }

  /** Cuts both directions of a link (frames in flight are lost). */
  cutLink(a: BrokerId, b: BrokerId): void {
    this.cut.add(key(a, b));
    this.cut.add(key(b, a));
  }

  restoreLink(a: BrokerId, b: BrokerId): void {
    this.cut.delete(key(a, b));
    this.cut.delete(key(b, a));
  }

  /** [LINK-1] Cuts a link and tells both ends at once (a TCP close each side sees). */
  closeLink(a: BrokerId, b: BrokerId): void {
    this.cutLink(a, b);
    this.drivers.get(a)?.handleLinkDown(this.kernel.now, b);
    this.drivers.get(b)?.handleLinkDown(this.kernel.now, a);
  }

  /** [LINK-2] Restores a link and tells both ends it is connected. */
  reopenLink(a: BrokerId, b: BrokerId): void {
    this.restoreLink(a, b);
    this.drivers.get(a)?.handleLinkUp(this.kernel.now, b);
    this.drivers.get(b)?.handleLinkUp(this.kernel.now, a);
  }

  crash(id: BrokerId): void {
    this.drivers.get(id)?.stop();
  }

  /** Data frames sent since `since` on a->b. */
  dataFrames(a: BrokerId, b: BrokerId, since = 0): Frame[] {
    return this.sent
      .filter((s) => s.from === a && s.to === b && s.kind === FrameKind.Data && s.at >= since)
      .map((s) => {
        const d = decodeFrame(s.bytes);
        if (!d.ok) throw new Error(d.error.reason);
        return d.frame;
      });
  }

  deliveriesAt(id: BrokerId, since = 0): Delivery[] {
    return this.deliveries.filter((d) => d.broker === id && d.at >= since);
  }
}

const key = (a: BrokerId, b: BrokerId): string => `${a}>${b}`;

/** Seed 002's topology: us-1–us-2 LAN, us-1–eu-1 70 ms, eu-1–ap-1 120 ms, us-2–ap-1 180 ms (RTTs). */
export function seedTopology(): Harness {
  return new Harness(
    ['us-1', 'us-2', 'eu-1', 'ap-1'],
    [
      { a: 'us-1', b: 'us-2', delayMs: 0.25 },
      { a: 'us-1', b: 'eu-1', delayMs: 35 },
      { a: 'eu-1', b: 'ap-1', delayMs: 60 },
      { a: 'us-2', b: 'ap-1', delayMs: 90 },
    ],
  );
}
