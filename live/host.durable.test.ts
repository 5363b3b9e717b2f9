/**
 * [DUR-2] A live host holds the frames that promise what its store holds until the store has
 * synced: a guaranteed data frame (it carries the sequence number its origin gave it; sent before
 * that number is on disk, a restarted origin could give the number to another event, which the
 * destination would discard as a duplicate) and an Ack (it passes custody upstream). Two
 * LiveHosts joined by a TCP connection on 127.0.0.1; each one's durable state writes to a store
 * whose syncs the test lets through (`GateStore`: it records operations and says when they are
 * "on disk" only when told, so the test decides when each sync completes). The host, its
 * sockets and the engine are the real ones.
 */
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type BrokerConfig, durableConfigFor } from '../engine/broker.ts';
import { frameKindOf } from '../engine/codec/index.ts';
import { DurableState } from '../engine/durable.ts';
import { FrameKind } from '../engine/frames.ts';
import type { DurableOp, DurableStore } from '../engine/store.ts';
import { LiveHost, type SyncedStore } from './host.ts';
import { tcpPair, until } from './testing.ts';

/** A store whose syncs complete when the test says so. */
class GateStore implements DurableStore, SyncedStore {
  readonly ops: DurableOp[] = [];
  #synced = 0;
  #waiters: Array<{ at: number; done: () => void }> = [];
  auto: NodeJS.Timeout | undefined;

  write(op: DurableOp): void {
    this.ops.push(op);
  }

  get pending(): boolean {
    return this.#synced < this.ops.length;
  }

  durable(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((done) => this.#waiters.push({ at: this.ops.length, done }));
  }

  /** Everything written so far is on disk now. */
  sync(): void {
    this.#synced = this.ops.length;
    const ready = this.#waiters.filter((w) => w.at <= this.#synced);
    this.#waiters = this.#waiters.filter((w) => w.at > this.#synced);
    for (const w of ready) w.done();
  }

  /** Sync every few milliseconds (a disk), until `hold()`. */
  flow(): void {
    this.auto ??= setInterval(() => this.sync(), 2);
  }

  hold(): void {
    clearInterval(this.auto);
    this.auto = undefined;
  }
}

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Counts the frames of `kind` written to `socket`. */
function countWrites(socket: Socket, kind: FrameKind): { n: number } {
  const seen = { n: 0 };
  const write = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
  (socket as unknown as { write: (chunk: Uint8Array) => boolean }).write = (chunk: Uint8Array) => {
    if (frameKindOf(chunk) === kind) seen.n++;
    return write(chunk);
  };
  return seen;
}

describe('[DUR-2] frames that promise what the store holds wait for its sync', () => {
  it('guaranteed frames leave the origin, and acks the destination, only once their store has synced', async () => {
    const config = (id: string, peer: string): BrokerConfig => ({ id, neighbors: [{ id: peer, cost: 10 }], helloIntervalMs: 100, deadIntervalMs: 5000, hopLimit: 16, retransmitMs: 30_000 });
    const usStore = new GateStore();
    const apStore = new GateStore();
    cleanup.push(
      () => usStore.hold(),
      () => apStore.hold(),
    );
    const usState = new DurableState(durableConfigFor(config('us-1', 'ap-1')), usStore);
    const apState = new DurableState(durableConfigFor(config('ap-1', 'us-1')), apStore);
    const delivered: string[] = [];
    const us1 = new LiveHost(config('us-1', 'ap-1'), {}, { durable: usState, store: usStore });
    const ap1 = new LiveHost(config('ap-1', 'us-1'), { deliver: (_sub, env) => delivered.push(env.id) }, { durable: apState, store: apStore });
    cleanup.push(
      () => us1.stop(),
      () => ap1.stop(),
    );
    usStore.flow();
    apStore.flow();
    us1.start();
    ap1.start();
    ap1.broker.subscribe(ap1.now(), 'orders/#', null, 1, 'sub');

    const { client, inbound, close } = await tcpPair();
    cleanup.push(close);
    const guaranteedOut = countWrites(client, FrameKind.Guaranteed);
    const acksOut = countWrites(inbound, FrameKind.Ack);
    us1.attach('ap-1', client);
    ap1.attach('us-1', inbound);
    expect(await until(() => us1.broker.inspect().remotePatterns > 0, 5000)).toBe(true);

    // The origin's disk stalls: its guaranteed frames wait.
    usStore.hold();
    for (let i = 0; i < 20; i++) {
      const r = us1.broker.handlePublish(us1.now(), {
        id: `g-${i}`,
        source: '/s',
        type: 't',
        topic: `orders/${i}`,
        headers: {},
        payload: new Uint8Array(10),
        publishedAtMs: us1.now(),
        guaranteed: true,
      });
      expect(r).toBe('accepted');
    }
    await new Promise((r) => setTimeout(r, 150));
    expect(guaranteedOut.n).toBe(0);
    expect(delivered).toEqual([]);

    // The destination's disk stalls too; the origin's syncs: the frames go, are delivered, but not acknowledged.
    apStore.hold();
    usStore.sync();
    expect(await until(() => delivered.length === 20, 5000)).toBe(true);
    expect(guaranteedOut.n).toBe(20);
    await new Promise((r) => setTimeout(r, 150));
    expect(acksOut.n).toBe(0);
    expect(us1.broker.inspect().stats.acksReceived).toBe(0);

    // The destination syncs: the acks go.
    apStore.sync();
    expect(await until(() => us1.broker.inspect().stats.acksReceived > 0, 5000)).toBe(true);
    expect(acksOut.n).toBeGreaterThan(0);
    expect(delivered).toEqual(Array.from({ length: 20 }, (_, i) => `g-${i}`));
  });
});
