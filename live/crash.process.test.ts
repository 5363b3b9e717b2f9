/**
 * [DUR-2][SESS-1..8] kill -9 in the middle of a stream of guaranteed events, on real processes:
 * a publisher posts guaranteed events to us-1 one after another (each answered 202 before the
 * next), a WebSocket subscriber holds a durable session on ap-1; the subscriber's broker is
 * SIGKILLed mid-stream and restarted on the same dataDir (and, in the second test, the
 * publisher's broker). Every event answered 202 arrives, in publish order; a copy the crash may
 * have sent twice comes flagged `redelivered`, so no event arrives twice unflagged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from './process.ts';
import { publish, type TestMesh, until, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
const procs = new Map<string, BrokerProcess>();

/** A durable-session subscriber that reconnects until stopped; keeps every message with its flag. */
class SessionSubscriber {
  readonly got: Array<{ id: string; redelivered: boolean }> = [];
  #ws: WebSocket | null = null;
  #stopped = false;
  connects = 0;

  constructor(
    private readonly http: () => number,
    private readonly name: string,
    private readonly pattern: string,
    /** How long it waits before reconnecting: longer than the broker takes to relink, so what arrives meanwhile must wait in the session. */
    private readonly reconnectMs = 100,
  ) {}

  start(): void {
    if (this.#stopped) return;
    const q = new URLSearchParams({ pattern: this.pattern, durable: this.name });
    const ws = new WebSocket(`ws://127.0.0.1:${this.http()}/v1/subscribe?${q}`);
    this.#ws = ws;
    ws.on('open', () => this.connects++);
    ws.on('message', (m) => {
      const e = JSON.parse(String(m)) as { id: string; redelivered?: boolean };
      this.got.push({ id: e.id, redelivered: e.redelivered === true });
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!this.#stopped) setTimeout(() => this.start(), this.reconnectMs);
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#ws?.terminate();
  }

  /** Ids received, each once (first arrival order). */
  distinct(): string[] {
    const seen = new Set<string>();
    for (const g of this.got) seen.add(g.id);
    return [...seen];
  }
}

const restart = async (id: string): Promise<void> => {
  const p = new BrokerProcess(mesh.broker(id).config);
  procs.set(id, p);
  await p.ready;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-crash-'));
  mesh = await writeMesh(dir, ['us-1', 'ap-1'], [{ between: ['us-1', 'ap-1'], cost: 10 }]);
  for (const id of ['us-1', 'ap-1']) procs.set(id, new BrokerProcess(mesh.broker(id).config));
  await Promise.all([...procs.values()].map((p) => p.ready));
}, 60_000);

afterAll(async () => {
  await stopAll();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Publishes guaranteed events `prefix-0000…` one at a time on us-1 until `stop()` returns true; returns the ids answered 202. */
async function publishStream(prefix: string, stop: (acked: number) => boolean): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; !stop(acked.length) && i < 100_000; i++) {
    const id = `${prefix}-${String(i).padStart(5, '0')}`;
    try {
      const r = await publish(mesh.broker('us-1').http, { id, topic: 'orders/ap/checkout', data: { n: i }, delivery: 'guaranteed' });
      if (r.status === 202) acked.push(id);
    } catch {
      // us-1 itself is down (second test): not acknowledged, so not owed.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return acked;
}

function checkDelivered(sub: SessionSubscriber, acked: readonly string[], prefix: string): void {
  const mine = sub.got.filter((g) => g.id.startsWith(prefix));
  // Every acknowledged event arrived…
  const seen = new Set(mine.map((g) => g.id));
  expect(acked.filter((id) => !seen.has(id))).toEqual([]);
  // …in publish order (first arrivals)…
  const first = sub.distinct().filter((id) => id.startsWith(prefix));
  expect(first).toEqual([...first].sort());
  // …and never twice unflagged.
  const unflagged = mine.filter((g) => !g.redelivered).map((g) => g.id);
  expect(unflagged.length).toBe(new Set(unflagged).size);
}

describe('[DUR-2] kill -9 mid-stream of guaranteed events', () => {
  it("loses nothing acknowledged when the subscriber's broker is killed and restarted", async () => {
    const sub = new SessionSubscriber(() => mesh.broker('ap-1').http, 'billing-ap', 'orders/ap/#', 3000);
    sub.start();
    expect(await until(() => sub.connects > 0, 10_000)).toBe(true);
    // The session's interest has reached us-1.
    expect(
      await until(
        async () =>
          (await publish(mesh.broker('us-1').http, { id: 'probe-1', topic: 'orders/ap/checkout', data: {}, delivery: 'guaranteed' })).status === 202 && sub.got.some((g) => g.id === 'probe-1'),
        10_000,
      ),
    ).toBe(true);

    let killed = false;
    const stream = publishStream('a', (n) => n >= 600);
    expect(await until(() => sub.got.length >= 150, 30_000)).toBe(true);
    await procs.get('ap-1')?.kill();
    killed = true;
    await new Promise((r) => setTimeout(r, 500)); // publishing goes on: us-1 spools for ap-1
    await restart('ap-1');
    const acked = await stream;
    expect(killed).toBe(true);
    expect(acked.length).toBe(600);
    expect(await until(() => acked.every((id) => sub.got.some((g) => g.id === id)), 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    sub.stop();
    checkDelivered(sub, acked, 'a-');
    expect(sub.connects).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it("loses nothing acknowledged when the publisher's broker is killed and restarted", async () => {
    const sub = new SessionSubscriber(() => mesh.broker('ap-1').http, 'billing-ap', 'orders/ap/#');
    sub.start();
    expect(await until(() => sub.connects > 0, 10_000)).toBe(true);
    let restarting: Promise<void> | undefined;
    const stream = publishStream('b', (n) => {
      if (n === 200 && restarting === undefined) {
        restarting = (async () => {
          await procs.get('us-1')?.kill();
          await restart('us-1');
        })();
      }
      return n >= 400;
    });
    const acked = await stream;
    await restarting;
    expect(acked.length).toBe(400);
    expect(await until(() => acked.every((id) => sub.got.some((g) => g.id === id)), 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    sub.stop();
    checkDelivered(sub, acked, 'b-');
  }, 120_000);
});
